#!/usr/bin/env bash
# Exec round trip of `true`: running `runc run` by hand on a busybox bundle
# (the floor any runc-based agent pays) against a full Exec call over the
# agent's unix socket (BenchmarkExecTrue: connect client -> server -> local
# backend -> a one-shot `runc run` on the sandbox's overlay, since no START
# has run). Run as root on Linux with runc and busybox-static.
#
#   bench/agent-exec.sh [N]     (N runc runs, default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50}
for tool in runc busybox go; do
	command -v "$tool" >/dev/null || { echo "agent-exec.sh: $tool not found" >&2; exit 1; }
done
work=$(mktemp -d /tmp/wrenn-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

# A busybox rootfs and a default runc spec running `true`.
mkdir -p "$work/bundle/rootfs/bin"
cp "$(command -v busybox)" "$work/bundle/rootfs/bin/busybox"
for app in sh true; do ln -s busybox "$work/bundle/rootfs/bin/$app"; done
(cd "$work/bundle" && runc spec)
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"true"/' "$work/bundle/config.json"

start=$(date +%s%N)
for i in $(seq "$n"); do
	runc run --bundle "$work/bundle" "wrenn-bench-$$-$i" >/dev/null
done
end=$(date +%s%N)
echo "runc run by hand: $(( (end - start) / n / 1000 )) µs/op over $n runs"

go test -run '^$' -bench 'BenchmarkExecTrue' -benchtime "${n}x" ./agent/
