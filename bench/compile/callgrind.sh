#!/usr/bin/env bash
# callgrind.sh [REV] counts the instructions per step of the in-process
# benchmarks with callgrind, which counts the same on a loaded machine:
# wrenn at REV ("before"), the working tree ("now") and BuildKit's
# front end. Each count is the difference between a 15- and a 5-iteration
# run (so set-up cancels out) divided by 10 × 1,000 steps, with
# GOMAXPROCS=1 and GOGC=off so that neither scheduler spinning nor GC
# timing enters (and asyncpreemptoff: callgrind trips on Go's preemption
# signals). Under valgrind sha256 runs its AVX2 code rather than
# SHA-NI, which makes the lowering's count higher than on the hardware.
# Needs valgrind, and the module proxy once for BuildKit (see README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rev=${1:-HEAD}
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

"$here/gen.sh" 1000 "$work" >/dev/null
git -C "$root" worktree add --detach "$work/before" "$rev" >/dev/null 2>&1
(cd "$work/before" && go test -c -o "$work/before.test" ./cmd/wrenn/cli)
(cd "$root" && go test -c -o "$work/now.test" ./cmd/wrenn/cli)
(cd "$here/buildkit" && go test -c -o "$work/bk.test" .)

# instructions BIN BENCH N: the total instruction count of one run.
instructions() {
	local out="$work/cg.out"
	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 GOGC=off DOCKERFILE="$work/Dockerfile" valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$1" -test.run '^$' -test.bench "$2" -test.benchtime "${3}x" >/dev/null 2>&1
	awk '/^summary:/ {print $2}' "$out"
}

cd "$root/cmd/wrenn/cli"
for b in before:'^BenchmarkCompile$' before:CompileLower before:LowerOnly now:'^BenchmarkCompile$' now:CompileLower now:LowerOnly bk:Check; do
	bin=${b%%:*} bench=${b#*:}
	lo=$(instructions "$work/$bin.test" "$bench" 5)
	hi=$(instructions "$work/$bin.test" "$bench" 15)
	printf '%-7s %-22s %8d instructions/step\n' "$bin" "$bench" $(((hi - lo) / 10000))
done
