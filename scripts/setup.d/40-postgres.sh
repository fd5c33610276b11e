#!/usr/bin/env bash
# What the PostgreSQL suite (scripts/test.d/10-postgres.sh) needs: Debian's `postgresql` server binaries
# (initdb, pg_ctl). No cluster is started here and the packaged service is not used: the suite makes a
# throwaway cluster of its own. Idempotent.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi
echo "installing postgresql"
as_root apt-get update
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; then
    exit 0
  fi
  echo "apt-get install postgresql failed (attempt $attempt); retrying in 15 s" >&2
  sleep 15
done
exit 1
