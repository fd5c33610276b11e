#!/usr/bin/env bash
# The server's storage tests again, on PostgreSQL, with every test server on a fresh database of a
# throwaway cluster (scripts/pg-cluster.sh). `cargo test --workspace` before this ran everything on
# SQLite. To keep CI well under 30 minutes, this pass runs the tests that exercise the database (the
# list is in the README's Tests section): the db unit tests (migrations on PostgreSQL), then the
# integration modules of money rules (alone first: 300 creates racing for one merchant's row is the
# heaviest load of the suite), settlement, trust and spoofing, payments, delivery, restart, sockets,
# the two-node tests and the dashboard's storage-backed pages. Set WEBQRIS_PG_ALL=1 to run the whole
# server suite instead.
set -euo pipefail
cd "$(dirname "$0")/../.."

eval "$(scripts/pg-cluster.sh)"
trap 'scripts/pg-cluster.sh stop "$PGDIR"' EXIT
echo "--- PostgreSQL on 127.0.0.1:$PGPORT"
export WEBQRIS_TEST_POSTGRES=$URL
if [ "${WEBQRIS_PG_ALL:-0}" = 1 ]; then
  exec cargo test --locked -p webqris-server
fi
cargo test --locked -p webqris-server --lib -- db::
cargo test --locked -p webqris-server --test it -- money::
cargo test --locked -p webqris-server --test it -- \
  callback:: notification:: trust:: spoof:: payment:: delivery:: restart:: ws:: multinode:: \
  dashboard::payments:: dashboard::settings:: dashboard::trust::
