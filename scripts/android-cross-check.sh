#!/usr/bin/env bash
# Cross-compiles the bridge for Android on a machine WITHOUT the Android NDK:
#   cargo build --target aarch64-linux-android -p webqris-android   (and x86_64-linux-android)
# Debian's clang stands in for the NDK's compiler. What this proves: every Rust crate of the bridge and
# its C parts (bundled SQLite, ring's crypto) compile for the Android targets, and the cdylib links.
# What it does not: the C parts see glibc's headers instead of bionic's, and the link uses empty stub
# libraries for libc/liblog, so the .so produced here is NOT loadable on a phone. The real library is
# built by scripts/build-apk.sh with cargo-ndk and the NDK.
#
# Needs: rustup targets (installed by scripts/setup.d/20-android.sh), clang, lld, llvm-ar,
# libc6-dev-arm64-cross.
set -euo pipefail
cd "$(dirname "$0")/.."

api=24
targets=("${@:-aarch64-linux-android x86_64-linux-android}")
# shellcheck disable=SC2206
targets=(${targets[*]})
tool_dir="$PWD/target/android-host-toolchain"
mkdir -p "$tool_dir"

headers_for() {
  case "$1" in
    aarch64-linux-android) echo "/usr/aarch64-linux-gnu/include" ;;
    x86_64-linux-android) echo "/usr/include/x86_64-linux-gnu -isystem /usr/include" ;;
    *) echo "no header set for $1" >&2; exit 2 ;;
  esac
}

for target in "${targets[@]}"; do
  env_target=${target//-/_}
  upper=$(echo "$env_target" | tr '[:lower:]' '[:upper:]')
  stubs="$tool_dir/$target-stubs"
  mkdir -p "$stubs"
  # C compiler: clang for the Android triple, glibc's headers standing in for bionic's.
  cat > "$tool_dir/$target-clang" <<SH
#!/bin/sh
exec clang --target=$target$api -isystem $(headers_for "$target") "\$@"
SH
  # Linker: lld, no C runtime objects, empty stub libraries for the system libraries the Rust
  # standard library and android_logger name (libc, libm, libdl, liblog, libunwind, libgcc).
  cat > "$tool_dir/$target-link-clang" <<SH
#!/bin/sh
exec clang --target=$target$api -fuse-ld=lld -nostartfiles -nostdlib -L$stubs \
  -Wl,--unresolved-symbols=ignore-all "\$@"
SH
  chmod +x "$tool_dir/$target-clang" "$tool_dir/$target-link-clang"
  for lib in c m dl log; do
    [ -e "$stubs/lib$lib.so" ] || clang --target="$target$api" -fuse-ld=lld -shared -nostdlib \
      -o "$stubs/lib$lib.so" -x c /dev/null
  done
  for lib in unwind gcc gcc_s; do
    [ -e "$stubs/lib$lib.a" ] || llvm-ar rcs "$stubs/lib$lib.a"
  done

  echo "-- cargo build --target $target -p webqris-android"
  env "CC_$env_target=$tool_dir/$target-clang" \
      "AR_$env_target=llvm-ar" \
      "CARGO_TARGET_${upper}_LINKER=$tool_dir/$target-link-clang" \
      cargo build --locked --target "$target" -p webqris-android
  so="target/$target/debug/libwebqris_android.so"
  [ -s "$so" ] || { echo "missing $so" >&2; exit 1; }
  # The JNI entry and uniffi's scaffolding must be exported from the library the app loads.
  exported=$(llvm-nm -D --defined-only "$so")
  for symbol in Java_id_webqris_forwarder_NativeInit_initPlatform uniffi_webqris_android_fn_constructor_forwarder_new; do
    grep -q " $symbol\$" <<<"$exported" || { echo "$so does not export $symbol" >&2; exit 1; }
  done
  echo "ok: $so ($(du -h "$so" | cut -f1)), JNI and uniffi symbols exported"
done
