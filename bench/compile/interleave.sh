#!/usr/bin/env bash
# interleave.sh [REV] [ROUNDS] runs the in-process benchmarks of wrenn at
# REV ("before"), of the working tree ("now") and of BuildKit's front end
# in alternation, ROUNDS (5) times, so that a shared, loaded machine slows
# all three alike; then prints each benchmark's range over the rounds.
# Needs the module proxy once for BuildKit (see README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rev=${1:-HEAD}
rounds=${2:-5}
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

"$here/gen.sh" 1000 "$work" >/dev/null
git -C "$root" worktree add --detach "$work/before" "$rev" >/dev/null 2>&1
(cd "$work/before" && go test -c -o "$work/before.test" ./cmd/wrenn/cli)
(cd "$root" && go test -c -o "$work/now.test" ./cmd/wrenn/cli)
(cd "$here/buildkit" && go test -c -o "$work/bk.test" .)

cd "$root/cmd/wrenn/cli"
for ((i = 0; i < rounds; i++)); do
	"$work/before.test" -test.run '^$' -test.bench '^BenchmarkCompile$|CompileLower' -test.benchtime 100x -test.benchmem | grep Bench | sed 's/^/before /'
	"$work/now.test" -test.run '^$' -test.bench '^BenchmarkCompile$|CompileLower|LowerOnly' -test.benchtime 100x -test.benchmem | grep Bench | sed 's/^/now    /'
	DOCKERFILE="$work/Dockerfile" "$work/bk.test" -test.run '^$' -test.bench . -test.benchtime 100x -test.benchmem | grep Bench | sed 's/^/bk     /'
done | tee "$work/rounds.txt"
echo "== ranges (ns per step or instruction)"
awk '{k = $1 " " $2; for (j = 3; j <= NF; j++) if ($j == "ns/step" || $j == "ns/instr") v = $(j-1)
	if (!(k in lo) || v < lo[k]) lo[k] = v; if (!(k in hi) || v > hi[k]) hi[k] = v}
	END {for (k in lo) printf "%-36s %8d – %d\n", k, lo[k], hi[k]}' "$work/rounds.txt" | sort
