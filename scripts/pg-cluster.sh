#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for tests and benchmarks: a temporary directory, 127.0.0.1 on a
# free port, trust authentication for the `postgres` user, durability off (the data is thrown away).
# Prints `PGDIR=… PGPORT=… URL=postgres://postgres@127.0.0.1:PORT/postgres` for `eval`; stop it with
# `scripts/pg-cluster.sh stop DIR`. As root the server runs as the `postgres` user (PostgreSQL refuses
# to run as root). Setting PG_DURABLE=1 keeps fsync and synchronous_commit on (the benchmark); PG_OPTIONS
# adds server options (`-c name=value …`, e.g. to load pg_stat_statements while profiling).
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/initdb" ] || { echo "PostgreSQL server binaries not found (scripts/setup.d/40-postgres.sh)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = stop ]; then
  as_pg "$bindir/pg_ctl" -D "$2/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$2"
  exit 0
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/webqris-pg.XXXXXX")
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1
durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${PG_DURABLE:-0}" = 1 ] && durability=""
as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=1000 $durability ${PG_OPTIONS:-}" start >/dev/null
echo "PGDIR=$dir PGPORT=$port URL=postgres://postgres@127.0.0.1:$port/postgres"
