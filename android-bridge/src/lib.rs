//! The on-device forwarder: a uniffi surface of `webqris-core` for the Android app (parse a notification,
//! its event hash, the known apps, the setup link), and the [`Forwarder`] that keeps notifications in a
//! durable on-device outbox and delivers them to the server. `webqris-forward` is the same code path as a
//! host command.
//!
//! Logic lives in core; this crate adds only storage, HTTP and the FFI. The JNI entry point of the
//! Android build is in [`android`], the crate's only unsafe code.

uniffi::setup_scaffolding!();

pub mod backoff;
pub mod cli;
pub mod delivery;
pub mod error;
pub mod forwarder;
pub mod logging;
pub mod outbox;
pub mod setup_link;
pub mod tls;
pub mod verdict;

#[cfg(target_os = "android")]
pub mod android;

/// The HTTP client crate (reqwest, built with `rustls-no-provider`; see the root `Cargo.toml`).
pub(crate) use reqwest as http;

pub use error::ForwarderError;
pub use forwarder::{
    DeliveryState, DrainResult, Forwarder, ForwarderConfig, ForwarderStatus, HeartbeatAnswer,
    IncomingNotification, LogEntry, SubmitOutcome,
};
pub use setup_link::{SetupLink, SetupLinkError, format_setup_link, parse_setup_link};
pub use verdict::{
    IgnoreReason, KnownApp, NotificationVerdict, Payment, PaymentSource, effective_text,
    event_hash, known_apps, parse_notification,
};
