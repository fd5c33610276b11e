#!/usr/bin/env bash
# The browser suite: builds the server, then tests/browser/flow.test.mjs starts the real `webqris`
# binary on a free loopback port with a temporary database, runs a real webhook receiver, and drives
# Debian's Chromium through the dashboard and the payment page (screenshots in test-output/browser/).
set -euo pipefail
cd "$(dirname "$0")/../.."

# scripts/test.sh has just built the binary with `cargo test --workspace`; run alone, this builds it.
[ "${WEBQRIS_WORKSPACE_BUILT:-0}" = 1 ] || cargo build -p webqris-server --bin webqris --locked
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
[ -d tests/browser/node_modules ] || scripts/setup.d/30-browser.sh
mkdir -p test-output/browser
start=$(date +%s)
(cd tests/browser && WEBQRIS_BIN="$target_dir/debug/webqris" npm test --silent)
echo "browser suite passed in $(( $(date +%s) - start )) s; screenshots in test-output/browser/"
