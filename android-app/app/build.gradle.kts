// The forwarder app. Native libraries (libwebqris_android.so for arm64-v8a, armeabi-v7a, x86_64) and the
// Android-flavour uniffi bindings are produced by scripts/build-apk.sh before Gradle runs:
//   build/jniLibs/<abi>/libwebqris_android.so   (cargo-ndk)
//   build/generated/uniffi/                      (scripts/gen-bindings.sh android)
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

/** The version of rustls-platform-verifier-android in Cargo.lock: the Kotlin component must match it. */
val rustlsPlatformVerifierVersion: String = rootProject.file("../Cargo.lock").readLines().let { lines ->
    val at = lines.indexOfFirst { it.trim() == "name = \"rustls-platform-verifier-android\"" }
    require(at >= 0) { "rustls-platform-verifier-android not found in Cargo.lock" }
    lines[at + 1].substringAfter('"').substringBefore('"')
}

android {
    namespace = "id.webqris.forwarder"
    compileSdk = 35

    defaultConfig {
        applicationId = "id.webqris.forwarder"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }

    signingConfigs {
        create("release") {
            // scripts/build-apk.sh passes these from the environment; without them the release build is
            // signed with the debug key (fine for testers, not for distribution).
            val keystore = System.getenv("WEBQRIS_KEYSTORE")
            if (keystore != null) {
                storeFile = file(keystore)
                storePassword = System.getenv("WEBQRIS_KEYSTORE_PASSWORD")
                keyAlias = System.getenv("WEBQRIS_KEY_ALIAS")
                keyPassword = System.getenv("WEBQRIS_KEY_PASSWORD")
            }
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = false
            signingConfig = if (System.getenv("WEBQRIS_KEYSTORE") != null) {
                signingConfigs.getByName("release")
            } else {
                signingConfigs.getByName("debug")
            }
        }
    }

    sourceSets {
        getByName("main") {
            java.srcDir(layout.buildDirectory.dir("generated/uniffi"))
            jniLibs.srcDir(layout.buildDirectory.dir("jniLibs"))
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }

    // The unit tests in src/test run on the host through pom.xml (JVM-flavour bindings + host cdylib);
    // under Gradle the bindings are the Android flavour, which JNA cannot load on the host.
    testOptions { unitTests.all { it.enabled = false } }
}

dependencies {
    // uniffi's Kotlin bindings call the native library through JNA (the AAR carries JNA's own .so files).
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    // The Android-flavour bindings annotate API-level-specific code.
    implementation("androidx.annotation:annotation:1.9.1")
    implementation("rustls:rustls-platform-verifier:$rustlsPlatformVerifierVersion")
}
