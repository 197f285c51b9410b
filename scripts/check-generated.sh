#!/usr/bin/env bash
# Fails when checked-in generated code differs from what `go generate ./proto` makes.
set -euo pipefail
cd "$(dirname "$0")/.."
go generate ./proto
if ! git diff --quiet -- proto; then
	echo "generated code in proto/ is stale: run 'go generate ./proto' and commit" >&2
	git diff --stat -- proto >&2
	exit 1
fi
