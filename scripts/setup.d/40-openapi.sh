#!/usr/bin/env bash
# The OpenAPI validator the server's tests run on /api/openapi.json (server/tests/it/openapi.rs):
# openapi-spec-validator from PyPI, in its own virtualenv under ~/.cache/webqris (Debian's Python refuses
# system-wide pip installs). Idempotent: nothing is done when it is already there or on PATH.
set -euo pipefail
venv="${HOME}/.cache/webqris/openapi-venv"
if [ -x "$venv/bin/openapi-spec-validator" ] || command -v openapi-spec-validator >/dev/null 2>&1; then
  exit 0
fi
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet 'openapi-spec-validator==0.9.0'
