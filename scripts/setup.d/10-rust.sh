#!/usr/bin/env bash
# Rust components the checks use.
set -euo pipefail
have_component() { rustup component list --installed 2>/dev/null | grep -q "^$1"; }
for c in rustfmt clippy; do
  have_component "$c" || rustup component add "$c"
done
