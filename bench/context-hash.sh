#!/usr/bin/env bash
# context-hash.sh measures cold hashing of a build context (no stat cache; file
# contents in the page cache, as right after a checkout) and compares
# wrenn's throughput with sha256sum and openssl dgst -sha256 over the same
# files in the same run, each single-process and with one process per core.
# It then reports the warm re-key of 10,000 unchanged files and the
# per-step plan cost from the compiler's go test benchmarks.
#
# Environment: SIZE_MB total context size (1024), FILE_KB size of each
# file (1024), BENCHTIME for go test (3x).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
size_mb=${SIZE_MB:-1024}
file_kb=${FILE_KB:-1024}
benchtime=${BENCHTIME:-3x}
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== making a ${size_mb} MiB tree of ${file_kb} KiB random files in $work"
mkdir -p "$work/ctx"
head -c "${size_mb}M" /dev/urandom | (cd "$work/ctx" && split -a 5 -d -b "${file_kb}K" - f)
# Spread the files over 64 directories, like a source tree.
(cd "$work/ctx" && i=0 && for f in f*; do d=d$((i % 64)); mkdir -p "$d"; mv "$f" "$d/"; i=$((i + 1)); done)
nfiles=$(find "$work/ctx" -type f | wc -l)
bytes=$(find "$work/ctx" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "$nfiles files, $bytes bytes"
# Warm the page cache so every tool reads from memory.
find "$work/ctx" -type f -print0 | xargs -0 cat >/dev/null

now() { date +%s.%N; }
rate() { awk -v b="$bytes" -v s="$1" -v e="$2" 'BEGIN { printf "%8.0f MB/s  (%.3f s)", b / (e - s) / 1e6, e - s }'; }
run() {
	local label=$1
	shift
	local s e
	s=$(now)
	"$@" >/dev/null
	e=$(now)
	printf '%-34s %s\n' "$label" "$(rate "$s" "$e")"
}
files() { find "$work/ctx" -type f -print0; }

echo "== cold hash throughput"
run "sha256sum, 1 process" bash -c "$(declare -f files); work=$work; files | xargs -0 sha256sum"
run "sha256sum, $cores processes" bash -c "$(declare -f files); work=$work; files | xargs -0 -P $cores -n 64 sha256sum"
run "openssl dgst -sha256, 1 process" bash -c "$(declare -f files); work=$work; files | xargs -0 openssl dgst -sha256"
run "openssl dgst -sha256, $cores proc." bash -c "$(declare -f files); work=$work; files | xargs -0 -P $cores -n 64 openssl dgst -sha256"

cd "$root"
go test -c -o "$work/compiler.test" ./compiler
out=$(WRENN_BENCH_CONTEXT="$work/ctx" "$work/compiler.test" -test.run '^$' -test.bench 'BenchmarkColdHash$' -test.benchtime "$benchtime")
mbs=$(echo "$out" | awk '/BenchmarkColdHash/ { for (i = 1; i <= NF; i++) if ($(i+1) == "MB/s") print $i }')
ns=$(echo "$out" | awk '/BenchmarkColdHash/ { print $3 }')
printf '%-34s %8.0f MB/s  (%.3f s)\n' "wrenn (walk + hash, $cores workers)" "$mbs" "$(awk -v n="$ns" 'BEGIN { print n / 1e9 }')"

echo "== warm re-key of 10,000 unchanged files, and plan cost"
"$work/compiler.test" -test.run '^$' -test.bench 'BenchmarkWarmRekey10k$|BenchmarkPlan1000Steps$' -test.benchtime "$benchtime" -test.benchmem | grep '^Benchmark'
