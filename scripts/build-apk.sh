#!/usr/bin/env bash
# Builds the signed forwarder APK. NEEDS a machine with the Android SDK and NDK and access to Google's Maven
# (the project's own build machines have neither: there this script stops at the first check).
#
#   ANDROID_HOME=…/Android/Sdk ANDROID_NDK_HOME=…/ndk/27.x scripts/build-apk.sh
#   # signed for distribution (otherwise the debug key signs it):
#   WEBQRIS_KEYSTORE=release.jks WEBQRIS_KEYSTORE_PASSWORD=… WEBQRIS_KEY_ALIAS=… WEBQRIS_KEY_PASSWORD=… \
#     scripts/build-apk.sh
#
# Steps: cargo-ndk builds libwebqris_android.so for arm64-v8a, armeabi-v7a and x86_64 into
# android-app/app/build/jniLibs; the crate's uniffi-bindgen writes the Android-flavour Kotlin bindings
# into android-app/app/build/generated/uniffi; Gradle (./gradlew if present, else gradle ≥ 8.9 on PATH)
# assembles the release APK. Output: android-app/app/build/outputs/apk/release/app-release.apk.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "build-apk: $*" >&2; exit 1; }
[ -n "${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}" ] || die "set ANDROID_HOME to the Android SDK"
[ -n "${ANDROID_NDK_HOME:-}" ] || die "set ANDROID_NDK_HOME to the Android NDK (r26 or newer)"
export ANDROID_HOME=${ANDROID_HOME:-$ANDROID_SDK_ROOT}

command -v cargo-ndk >/dev/null || cargo install --locked cargo-ndk
for target in aarch64-linux-android armv7-linux-androideabi x86_64-linux-android; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done

app=android-app/app
rm -rf "$app/build/jniLibs"
# API 26 = the app's minSdk.
cargo ndk --platform 26 -t arm64-v8a -t armeabi-v7a -t x86_64 -o "$app/build/jniLibs" \
  build --locked --release -p webqris-android --lib
scripts/gen-bindings.sh android "$app/build/generated/uniffi"

cd android-app
if [ -x ./gradlew ]; then gradle=./gradlew; else gradle=gradle; fi
command -v "$gradle" >/dev/null || die "needs ./gradlew or gradle on PATH"
"$gradle" --no-daemon :app:assembleRelease
apk=app/build/outputs/apk/release/app-release.apk
[ -s "$apk" ] || die "no APK at android-app/$apk"
echo "APK: android-app/$apk"
[ -n "${WEBQRIS_KEYSTORE:-}" ] || echo "note: signed with the debug key (set WEBQRIS_KEYSTORE… to sign for release)"
