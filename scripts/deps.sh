#!/usr/bin/env bash
# Installs the system packages wrenn's tests and builds need (Debian 12, root).
# Idempotent: installs only what is missing.
set -euo pipefail
need=(runc crun e2fsprogs busybox-static debootstrap redis-server protobuf-compiler libprotobuf-dev unzip)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "installing: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
