#!/usr/bin/env bash
# gen.sh N DIR writes DIR/Wrennfile and DIR/Dockerfile: the same N steps
# after one FROM, cycling through five instruction shapes (RUN, ENV,
# WORKDIR, COPY, RUN) that both languages accept with the same meaning.
# cmd/wrenn/cli/bench_test.go generates the identical Wrennfile in Go and
# a test there checks that the two stay equal.
set -euo pipefail
n=${1:?usage: gen.sh N DIR}
dir=${2:?usage: gen.sh N DIR}
mkdir -p "$dir"
steps() {
	local i
	for ((i = 1; i <= n; i++)); do
		case $((i % 5)) in
		1) printf 'RUN mkdir -p /opt/app/d%d && echo step-%d > /opt/app/d%d/stamp\n' "$i" "$i" "$i" ;;
		2) printf 'ENV STEP_%d=value-%d\n' "$i" "$i" ;;
		3) printf 'WORKDIR /opt/app/d%d\n' "$i" ;;
		4) printf 'COPY files/f%d.txt /opt/app/d%d/\n' "$i" "$i" ;;
		0) printf 'RUN test -f /opt/app/d%d/stamp || exit 1\n' "$((i - 4))" ;;
		esac
	done
}
body=$(steps)
printf 'FROM minimal\n%s\n' "$body" >"$dir/Wrennfile"
printf 'FROM debian:bookworm\n%s\n' "$body" >"$dir/Dockerfile"
