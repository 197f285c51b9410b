#!/usr/bin/env bash
# run.sh compares `wrenn compile` with BuildKit's Dockerfile front end on
# the same generated file (gen.sh), two ways:
#   1. whole process, as an editor spawns it on every save: hyperfine when
#      installed (apt-get install hyperfine), else a timed loop;
#   2. in-process per-instruction cost: go test -bench on both sides.
# BuildKit is built from ./buildkit, a separate module, so it never enters
# wrenn's go.mod.
#
# Environment: N steps (1000), RUNS process runs (200), BENCHTIME (2s).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${N:-1000}
runs=${RUNS:-200}
benchtime=${BENCHTIME:-2s}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$here/gen.sh" "$n" "$work"
(cd "$root" && CGO_ENABLED=0 go build -o "$work/wrenn" ./cmd/wrenn)
(cd "$here/buildkit" && go build -o "$work/bkparse" .)

echo "== sanity: both accept the file"
"$work/wrenn" compile "$work/Wrennfile" >/dev/null
"$work/bkparse" "$work/Dockerfile"

echo "== whole process, $n steps"
wrenn_cmd="$work/wrenn compile -q $work/Wrennfile"
bk_cmd="$work/bkparse $work/Dockerfile"
if command -v hyperfine >/dev/null; then
	# Start-up alone: `wrenn version`, and a Go program that does nothing.
	printf 'package main\n\nfunc main() {}\n' >"$work/hello.go"
	(cd "$work" && CGO_ENABLED=0 go build -o "$work/hello" hello.go)
	hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/hyperfine.json" \
		-n "wrenn compile" "$wrenn_cmd" -n "buildkit parser+instructions" "$bk_cmd" \
		-n "wrenn version" "$work/wrenn version" -n "hello world" "$work/hello"
	# hyperfine prints means; the medians are steadier on a shared machine.
	python3 -c 'import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = [x * 1000 for x in r["times"]]
    print("%-30s median %6.2f ms  min %6.2f ms" % (r["command"], statistics.median(t), min(t)))' "$work/hyperfine.json"
else
	for c in "$wrenn_cmd" "$bk_cmd"; do
		start=$(date +%s%N)
		for ((i = 0; i < runs; i++)); do $c >/dev/null; done
		end=$(date +%s%N)
		echo "$c: $(((end - start) / runs / 1000)) µs per run (mean of $runs)"
	done
fi

echo "== in-process, $n steps"
(cd "$root" && go test -run '^$' -bench 'BenchmarkCompile|BenchmarkLowerOnly' -benchmem -benchtime "$benchtime" ./cmd/wrenn/cli)
(cd "$here/buildkit" && DOCKERFILE="$work/Dockerfile" go test -run '^$' -bench . -benchmem -benchtime "$benchtime" .)
