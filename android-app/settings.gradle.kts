// The Gradle build of the forwarder APK (needs the Android SDK and Google's Maven; run through
// scripts/build-apk.sh). The host tests use pom.xml instead.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
        // The Kotlin half of rustls-platform-verifier (Android trust store access), published by its
        // authors as a Maven repository; its version must equal the crate's (read from Cargo.lock).
        maven { url = uri("https://github.com/rustls/rustls-platform-verifier/raw/maven-archive/android-release-support/maven/") }
    }
}

rootProject.name = "webqris-forwarder"
include(":app")
