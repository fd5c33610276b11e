//! Where the bridge's log goes: logcat on Android (android_logger, through the `log` facade that
//! `tracing` feeds there), stderr elsewhere (tracing-subscriber, filtered by `RUST_LOG`).

/// Sets up logging once per process; later calls do nothing. Called by the app at start and by
/// `webqris-forward`; the JVM tests may call it to see the worker's log.
#[uniffi::export]
pub fn init_logging() {
    #[cfg(target_os = "android")]
    android_logger::init_once(
        android_logger::Config::default()
            .with_max_level(log::LevelFilter::Info)
            .with_tag("webqris"),
    );
    #[cfg(not(target_os = "android"))]
    {
        use tracing_subscriber::EnvFilter;
        // Err: a subscriber is already set (by the host process or an earlier call); keep it.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
            )
            .with_writer(std::io::stderr)
            .try_init();
    }
}
