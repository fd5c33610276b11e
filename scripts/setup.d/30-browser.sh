#!/usr/bin/env bash
# What the browser suite (scripts/test.d/30-browser.sh) needs: Debian's Chromium (Playwright cannot
# download browsers here) and Node with the npm packages of tests/browser, installed from its lock file.
# Idempotent: each part is checked before anything is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  # Another process may hold the dpkg lock for a while; wait for it rather than fail.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; then
      return 0
    fi
    echo "apt-get install $* failed (attempt $attempt); retrying in 15 s" >&2
    sleep 15
  done
  return 1
}

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root apt-get update
  apt_install "${missing[@]}"
fi

# npm ci only when the lock file changed since the last install (a stamp in node_modules records it).
lock_sum=$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)
stamp=tests/browser/node_modules/.installed-from-lock
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  (cd tests/browser && npm ci --no-audit --no-fund)
  echo "$lock_sum" > "$stamp"
fi
