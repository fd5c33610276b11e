#!/usr/bin/env bash
# What the service unit's test (server/tests/it/ops/service_unit.rs) needs: `systemd-analyze` and
# `systemd-sysusers`, from Debian's systemd package. They only read unit files here; nothing is started.
# Idempotent: nothing is installed when both are there.
set -euo pipefail

if command -v systemd-analyze >/dev/null 2>&1 && command -v systemd-sysusers >/dev/null 2>&1; then
  exit 0
fi
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
echo "installing systemd (for systemd-analyze and systemd-sysusers)"
as_root apt-get update
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd
