//! TLS set-up shared by every client of the bridge: rustls with the `ring` provider.
//!
//! reqwest is built with `rustls-no-provider` (see the root `Cargo.toml`), so the process-wide provider
//! must be installed before the first client is built. ring rather than aws-lc-rs because it
//! cross-compiles for Android with a plain clang. Certificates are checked by rustls-platform-verifier:
//! the Android trust store on the phone (after [`crate::android`] initialised it), the system roots
//! elsewhere.

use std::sync::Once;

/// Installs ring as rustls' process-wide crypto provider (idempotent; a provider installed earlier by
/// the host process is kept).
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means another provider is already the default: that one is used, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
