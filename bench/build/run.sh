#!/bin/sh
# Build benchmark: a 20-step Wrennfile with a 2,000-file, 50 MB context on
# the busybox base, timed with the wrenn binary (process start included):
#   cold build, fully cached rebuild, rebuild after changing the last step,
#   rebuild after changing one COPY'd file in the middle.
# BuildKit's figures for the same shapes (from the issue): 1.5 s / 0.15 s /
# 0.2 s / 0.8 s. Needs root, runc (or crun) and busybox-static.
#
#   bench/build/run.sh [RUNTIME]   (runc or crun; default $WRENN_RUNTIME or runc)
#
# Everything (agent root, cache, context) lives on a fresh ext4 filesystem
# (mkfs.ext4 defaults, loop-mounted), so what the machine's own filesystem
# went through before does not show: on an ext4 without a journal (this
# project's machine's root) creating a file skips every inode of its block
# group deleted in the last 1 to 6 minutes, so a cold build right after
# deleting a previous run's files took 1.0-1.4 s instead of 0.6-0.7 s
# (docs/benchmarks.md section 5). BENCH_FS=here runs in a temporary
# directory of the current filesystem instead.
set -eu
rt=${1:-${WRENN_RUNTIME:-runc}}
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
fs=${BENCH_FS:-fresh}
trap 'rm -rf "$work"' EXIT
if [ "$fs" = fresh ]; then
	truncate -s 4G "$work.img"
	if mkfs.ext4 -q "$work.img" && mount -o loop "$work.img" "$work"; then
		trap 'umount "$work"; rm -rf "$work" "$work.img"' EXIT
	else
		echo "no fresh filesystem (mkfs.ext4 or a loop device missing): running on the current one" >&2
		rm -f "$work.img"
		fs=here
	fi
fi
go build -o "$work/wrenn" ./cmd/wrenn
w="$work/wrenn"
root="$work/root" cache="$work/cache" ctx="$work/ctx"
"$w" base bootstrap --root "$root" --runtime "$rt" minimal --from busybox >/dev/null
echo "runtime: $rt ($("$rt" --version | head -1)); filesystem: $fs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$ctx/data" "$ctx/src"
i=0
while [ $i -lt 2000 ]; do
	d=$((i % 20))
	mkdir -p "$ctx/data/d$d"
	head -c 25600 /dev/urandom >"$ctx/data/d$d/f$i.bin"
	i=$((i + 1))
done
echo "v1" >"$ctx/src/app.txt"
# As a real context: no file written in the 2 s before the build, which the
# stat cache would not remember (git's "racily clean" rule).
find "$ctx" -exec touch -d '1 hour ago' {} +

gen() {
	{
		echo "FROM minimal"
		n=1
		while [ $n -le 8 ]; do echo "RUN echo step$n > /s$n"; n=$((n + 1)); done
		echo "COPY data/ /data/"
		echo "RUN ls /data | wc -l > /count"
		echo "COPY src/ /src/"
		n=11
		while [ $n -le 18 ]; do echo "RUN echo step$n > /s$n"; n=$((n + 1)); done
		echo "RUN echo last-$1 > /last"
	} >"$ctx/Wrennfile"
}

run() {
	label=$1
	shift
	start=$(date +%s%N)
	"$w" build --runtime "$rt" --root "$root" --cache-dir "$cache" -f "$ctx/Wrennfile" -t bench --skip-pre-post --progress plain "$@" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; exit 1; }
	end=$(date +%s%N)
	printf '%-34s %6d ms   %s\n' "$label" $(((end - start) / 1000000)) "$(tail -1 "$work/out.txt")"
}

gen v1
run "cold build"
run "fully cached rebuild"
gen v2
run "change the last step"
echo "v2" >"$ctx/src/app.txt"
run "change a COPY'd file (middle)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
