#!/usr/bin/env bash
# The server's whole test suite again (its unit tests, migrations included, and every integration
# module: contract, money rules, settlement, delivery, dashboard, hostile, CLI, the two-node tests), on
# PostgreSQL, with every test server on a fresh database of a throwaway cluster (scripts/pg-cluster.sh).
# `cargo test --workspace` before this ran it on SQLite and built the test binaries this reuses.
# WEBQRIS_PG_THREADS sets the test threads (default: cargo's, one per core).
set -euo pipefail
cd "$(dirname "$0")/../.."

eval "$(scripts/pg-cluster.sh)"
trap 'scripts/pg-cluster.sh stop "$PGDIR"' EXIT
echo "--- PostgreSQL on 127.0.0.1:$PGPORT"
export WEBQRIS_TEST_POSTGRES=$URL
threads=()
[ -n "${WEBQRIS_PG_THREADS:-}" ] && threads=(--test-threads "$WEBQRIS_PG_THREADS")
cargo test --locked -p webqris-server -- "${threads[@]}"
