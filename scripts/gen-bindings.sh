#!/usr/bin/env bash
# Generates the Kotlin bindings of the bridge with the crate's own uniffi-bindgen, in library mode on the
# host build of the cdylib (the bindings depend only on the library's uniffi metadata, which is the same
# on every target).
#   scripts/gen-bindings.sh jvm OUT_DIR       JVM flavour (android = false) for the host tests (JNA + JDK)
#   scripts/gen-bindings.sh android OUT_DIR   Android flavour (android = true) for the app
# Prints nothing but errors; the cdylib it read is target/debug/libwebqris_android.so.
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:?usage: gen-bindings.sh jvm|android OUT_DIR}
out=${2:?usage: gen-bindings.sh jvm|android OUT_DIR}

# The generator (a host tool, kept out of the phone build by the `bindgen` feature), then the library
# without that feature (the one the JVM tests load).
cargo build --quiet --locked -p webqris-android --features bindgen --bin uniffi-bindgen
cargo build --quiet --locked -p webqris-android --lib
lib=target/debug/libwebqris_android.so

config=$(mktemp)
trap 'rm -f "$config"' EXIT
case "$flavour" in
  jvm) printf '[crates.webqris_android.bindings.kotlin]\nandroid = false\n' > "$config" ;;
  android) printf '[crates.webqris_android.bindings.kotlin]\nandroid = true\n' > "$config" ;;
  *) echo "unknown flavour $flavour (jvm or android)" >&2; exit 2 ;;
esac

rm -rf "$out"
mkdir -p "$out"
target/debug/uniffi-bindgen generate "$lib" --language kotlin --no-format --config "$config" --out-dir "$out"
# The two flavours differ in how objects are freed; refuse a file that is not the flavour asked for.
generated=$(find "$out" -name '*.kt')
if [ "$flavour" = jvm ] && grep -q 'android\.os\.Build' $generated; then
  echo "gen-bindings: the JVM flavour still references android.os.Build ($generated)" >&2; exit 1
fi
if [ "$flavour" = android ] && ! grep -q 'android\.os\.Build' $generated; then
  echo "gen-bindings: the Android flavour does not reference android.os.Build ($generated)" >&2; exit 1
fi
