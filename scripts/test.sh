#!/usr/bin/env bash
# The whole test suite: system packages, services the tests need, Go tests.
# Run as root (the agent and executor tests use runc and overlayfs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

# The Redis queue backend's tests talk to a real redis-server on loopback.
redis_port=${WRENN_TEST_REDIS_PORT:-6390}
if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
	redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null
fi
export WRENN_TEST_REDIS="redis://127.0.0.1:$redis_port/0"

# The VS Code extension: build it and test its grammar on the example Wrennfiles.
if command -v npm >/dev/null 2>&1; then
	(cd editors/vscode && npm ci --no-audit --no-fund --loglevel=error && npm run build && npm test)
else
	echo "npm not found: install nodejs to test editors/vscode" >&2
	exit 1
fi

go test -count=1 -timeout 60m ./...
