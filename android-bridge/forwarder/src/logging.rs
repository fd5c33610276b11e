//! Where `webqris-forward`'s log goes: stderr, filtered by `RUST_LOG` (default `warn`). On the phone the
//! FFI crate routes the same `tracing` events to logcat instead.

/// Sets up logging once per process; later calls, or a subscriber set by the host process, win.
pub fn init_stderr() {
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
