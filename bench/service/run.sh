#!/bin/sh
# Load test of `wrenn serve`: 200 queued builds, 4 workers, mostly cache hits.
# Needs root, runc and busybox-static. Usage: bench/service/run.sh [flags]
set -eu
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)/wrenn
go build -o "$bin" ./cmd/wrenn
go run ./bench/service -wrenn "$bin" "$@"
