#!/usr/bin/env bash
# Installs what the test suites need, idempotently: each script in scripts/setup.d checks before it
# installs (Debian packages, npm packages, Rust targets). Safe to run on every test run.
set -euo pipefail
cd "$(dirname "$0")/.."

for part in scripts/setup.d/*.sh; do
  [ -e "$part" ] || continue
  echo "-- $part"
  "$part"
done
