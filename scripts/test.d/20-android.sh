#!/usr/bin/env bash
# The Android forwarder, as far as a machine without the Android SDK can check it (README, "Android
# forwarder"):
#   (the bridge's Rust tests, including those against the real server, run in `cargo test --workspace`)
#   1. the Kotlin bindings (JVM flavour) through JNA, and the app's sources under Robolectric, against a
#      scripted loopback server and the real webqris server (android-app/pom.xml);
#   2. the bridge cross-compiled for aarch64-linux-android and x86_64-linux-android.
set -euo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n--- %s\n' "$*"; }
timed() {
  local started=$SECONDS
  "$@"
  echo "    ($(( SECONDS - started )) s)"
}

step "build the webqris server (the Kotlin tests start it) and the bridge (host)"
[ "${WEBQRIS_WORKSPACE_BUILT:-0}" = 1 ] || timed cargo build --quiet --locked -p webqris-server --bin webqris -p webqris-android
webqris_bin="$PWD/target/debug/webqris"

step "Kotlin: bindings (JVM flavour) and the app under Robolectric"
timed scripts/gen-bindings.sh jvm android-app/target/generated-sources/uniffi
python3 scripts/gen-android-r.py android-app/app/src/main/res id.webqris.forwarder android-app/target/generated-sources/r
rm -rf android-app/target/surefire-reports
timed mvn -B -q -Dstyle.color=never -f android-app/pom.xml test \
  -Dwebqris.bin="$webqris_bin" \
  -Dwebqris.lib.dir="$PWD/target/debug" \
  -Dwebqris.corpus="$PWD/tests/corpus/qris-vectors.tsv"
# Surefire's -q hides the counts: print them from its reports.
python3 - <<'PY'
import glob, xml.etree.ElementTree as ET
t = f = e = s = 0
for path in glob.glob("android-app/target/surefire-reports/TEST-*.xml"):
    r = ET.parse(path).getroot()
    t += int(r.get("tests")); f += int(r.get("failures")); e += int(r.get("errors")); s += int(r.get("skipped"))
print(f"Kotlin: {t - f - e - s} passed, {f + e} failed, {s} skipped")
PY

step "cross-compile the bridge for Android (Debian clang standing in for the NDK)"
timed scripts/android-cross-check.sh aarch64-linux-android x86_64-linux-android
