#!/usr/bin/env bash
# inittrace.sh [N] builds wrenn and lists the N (15) package inits that
# cost most at start-up when running `wrenn compile` (GODEBUG=inittrace=1),
# then the total. Every command shares one binary, so a heavy init in a
# package that only `wrenn serve` needs still slows every editor save.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
top=${1:-15}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && CGO_ENABLED=0 go build -o "$work/wrenn" ./cmd/wrenn)
printf 'FROM minimal\nRUN echo hi\n' >"$work/Wrennfile"
GODEBUG=inittrace=1 "$work/wrenn" compile -q "$work/Wrennfile" 2>"$work/trace" >/dev/null || true
grep '^init ' "$work/trace" | awk '{printf "%8.3f ms %10d B  %s\n", $5, $8, $2}' | sort -rn | head -n "$top"
grep '^init ' "$work/trace" | awk '{ms += $5; b += $8; n++} END {printf "total: %d packages, %.3f ms, %d bytes\n", n, ms, b}'
