#!/bin/sh
# The README's main demo: bootstrap the Debian "minimal" base on first run
# (debootstrap, a few minutes, with progress), then build an example twice
# to show the cache: the second build runs nothing.
#
#   scripts/demo.sh [EXAMPLE]     EXAMPLE: node-web (default), python-runner, c-multistage
#
# Needs root, runc, debootstrap and e2fsprogs. WRENN_ROOT (default
# /var/lib/wrenn) holds the agent state; WRENN is the wrenn binary to use.
set -eu
example=${1:-node-web}
cd "$(dirname "$0")/.."
root=${WRENN_ROOT:-/var/lib/wrenn}
wrenn=${WRENN:-}
if [ -z "$wrenn" ]; then
	wrenn=$(mktemp -d)/wrenn
	go build -o "$wrenn" ./cmd/wrenn
fi
if ! "$wrenn" base ls --root "$root" 2>/dev/null | grep -qw minimal; then
	echo "== bootstrapping the Debian minimal base into $root (first run only)"
	"$wrenn" base bootstrap --root "$root" minimal --from debian
fi
echo "== first build of examples/$example"
"$wrenn" build --root "$root" -f "examples/$example/Wrennfile" -t "demo-$example"
echo "== second build: everything comes from the cache"
time "$wrenn" build --root "$root" -f "examples/$example/Wrennfile" -t "demo-$example"
