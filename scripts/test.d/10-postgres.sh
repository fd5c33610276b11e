#!/usr/bin/env bash
# The server's tests again, on PostgreSQL: the unit tests and the whole integration suite (contract,
# money rules, dashboard, hostile) with every test server on a fresh database of a throwaway cluster
# (scripts/pg-cluster.sh). `cargo test --workspace` before this ran them on SQLite.
set -euo pipefail
cd "$(dirname "$0")/../.."

eval "$(scripts/pg-cluster.sh)"
trap 'scripts/pg-cluster.sh stop "$PGDIR"' EXIT
echo "--- PostgreSQL on 127.0.0.1:$PGPORT"
WEBQRIS_TEST_POSTGRES=$URL cargo test --locked -p webqris-server
