//! The JNI entry the app calls once from `Application.onCreate` (`NativeInit.initPlatform(context)`):
//! it hands the application context to rustls-platform-verifier, without which the first HTTPS request
//! panics on Android, and routes the bridge's log to logcat.
//!
//! Everything else crosses the FFI through uniffi; this is the only JNI code of the crate.
// `#[unsafe(no_mangle)]` is what the `unsafe_code` lint objects to here: the JVM finds a native method
// by its exported symbol name, so the name must not be mangled. It is sound because the symbol is
// unique (the mangled JNI name of one Kotlin method), its signature is exactly the JNI signature of
// `static native void initPlatform(Context)`, and the body uses only jni-rs's safe API: `EnvUnowned`
// is the FFI-safe form of the caller's `JNIEnv*`, `with_env` attaches to it for the call and catches
// panics so that none unwinds into the JVM.
#![allow(unsafe_code)]

use jni::EnvUnowned;
use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JClass, JObject};

/// `id.webqris.forwarder.NativeInit.initPlatform(Context)`: initialises TLS and logging. Idempotent.
/// A failure is thrown to Kotlin as a `RuntimeException`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_id_webqris_forwarder_NativeInit_initPlatform<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    context: JObject<'caller>,
) {
    unowned_env
        .with_env(|env| -> Result<(), jni::errors::Error> {
            crate::logging::init_logging();
            webqris_forwarder::tls::install_crypto_provider();
            rustls_platform_verifier::android::init_with_env(env, context)
        })
        .resolve::<ThrowRuntimeExAndDefault>()
}
