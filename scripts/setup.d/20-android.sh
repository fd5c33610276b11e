#!/usr/bin/env bash
# What the Android suite (scripts/test.d/20-android.sh) needs, installed only when missing:
# Rust's Android targets, the cross-check's C headers and LLVM tools, a JDK and Maven, and the Maven
# artifacts of android-app/pom.xml (Kotlin compiler, JNA, JUnit, Robolectric, the SDK 34 framework jars:
# about 450 MB the first time, cached in ~/.m2 afterwards).
set -euo pipefail
cd "$(dirname "$0")/../.."

for target in aarch64-linux-android x86_64-linux-android; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done

missing=()
command -v clang >/dev/null || missing+=(clang)
command -v ld.lld >/dev/null || missing+=(lld)
command -v llvm-ar >/dev/null && command -v llvm-nm >/dev/null || missing+=(llvm)
[ -d /usr/aarch64-linux-gnu/include ] || missing+=(libc6-dev-arm64-cross)
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Another process may hold the dpkg lock for a while: wait for it.
  for attempt in 1 2 3 4 5 6; do
    if apt-get update -qq && apt-get install -y -qq "${missing[@]}"; then break; fi
    [ "$attempt" = 6 ] && { echo "cannot install ${missing[*]}" >&2; exit 1; }
    sleep 20
  done
fi

# Fetch the Maven artifacts now, so that the test run does not mix downloads into its timings.
mvn -B -q -Dstyle.color=never -f android-app/pom.xml dependency:resolve dependency:resolve-plugins >/dev/null
