//! Where the bridge's log goes: logcat on Android (android_logger, through the `log` facade that
//! `tracing` feeds there), stderr elsewhere (the forwarder's own set-up, filtered by `RUST_LOG`).

/// Sets up logging once per process; later calls do nothing. Called by the app at start; the JVM tests
/// may call it to see the worker's log.
#[uniffi::export]
pub fn init_logging() {
    #[cfg(target_os = "android")]
    android_logger::init_once(
        android_logger::Config::default()
            .with_max_level(log::LevelFilter::Info)
            .with_tag("webqris"),
    );
    #[cfg(not(target_os = "android"))]
    webqris_forwarder::logging::init_stderr();
}
