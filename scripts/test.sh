#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, the Rust workspace, then each suite in
# scripts/test.d (JVM/Kotlin, browser, cross-compilation...), in name order.
# First installs what the suites need (scripts/setup.sh; idempotent, skip with WEBQRIS_SKIP_SETUP=1).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if [ "${WEBQRIS_SKIP_SETUP:-0}" != 1 ]; then
  step "setup (scripts/setup.sh)"
  scripts/setup.sh
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test --workspace"
cargo test --workspace --locked
# That build left target/debug/webqris and the bridge's native library: the suites below use them as
# they are instead of building again with another feature set (minutes on a 2-core machine).
export WEBQRIS_WORKSPACE_BUILT=1

for suite in scripts/test.d/*.sh; do
  [ -e "$suite" ] || continue
  step "$suite"
  "$suite"
done

step "all tests passed"
