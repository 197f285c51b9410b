#!/usr/bin/env bash
# Exec round trip of `true`, per OCI runtime (runc and crun): running
# `RUNTIME run` by hand on a busybox bundle (the floor any agent on that
# runtime pays), then the local backend's Exec (BenchmarkExecTrue in
# agent/local: a one-shot `run` on the sandbox's overlay since no START has
# run, and `exec` after a START; BenchmarkRuntimeByHand at the same
# moment), then a full Exec call over the agent's unix socket (runc).
# Run as root on Linux with runc, crun and busybox-static.
#
#   bench/agent-exec.sh [N]     (N runs of each, default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50}
for tool in runc crun busybox go; do
	command -v "$tool" >/dev/null || { echo "agent-exec.sh: $tool not found (scripts/deps.sh installs it)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/wrenn-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# A busybox rootfs and a default spec running `true`.
mkdir -p "$work/bundle/rootfs/bin"
cp "$(command -v busybox)" "$work/bundle/rootfs/bin/busybox"
for app in sh true; do ln -s busybox "$work/bundle/rootfs/bin/$app"; done
(cd "$work/bundle" && runc spec)
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"true"/' "$work/bundle/config.json"

byhand() { # RUNTIME [WRAP...]: n runs of `RUNTIME run`, µs per run
	local rt=$1
	shift
	local start end i
	start=$(date +%s%N)
	for i in $(seq "$n"); do
		"$@" "$rt" --root "$work/state-$rt" run --bundle "$work/bundle" "wrenn-bench-$$-$i" >/dev/null
	done
	end=$(date +%s%N)
	echo "$rt run by hand: $(((end - start) / n / 1000)) µs/op over $n runs${*:+ (through: $*)}"
}
byhand runc
# crun refuses a hybrid cgroup host whose v2 hierarchy holds controllers;
# the agent then runs it without the v2 mount (agent/local/runtime.go)
if grep -qs . /sys/fs/cgroup/unified/cgroup.controllers; then
	byhand crun unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$0" "$@"'
	unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified &&
		start=$(date +%s%N); for i in $(seq '"$n"'); do crun --root '"$work"'/state-crun run --bundle '"$work"'/bundle x$i >/dev/null; done; end=$(date +%s%N)
		echo "crun run by hand, already in a namespace without the v2 mount: $(((end - start) / '"$n"' / 1000)) µs/op over '"$n"' runs"'
else
	byhand crun
fi

go test ./agent/local -run '^$' -bench 'ExecTrue|RuntimeByHand' -benchtime "${n}x"
go test -run '^$' -bench 'BenchmarkExecTrue' -benchtime "${n}x" ./agent/
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
