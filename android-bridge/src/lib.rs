//! The Android app's bridge: a thin uniffi layer. It exposes [`webqris_forwarder::Forwarder`] (outbox,
//! delivery and heartbeat workers, all plain Rust) and the core's pure functions (parse a notification,
//! its event hash, the known apps, the setup link) to Kotlin: it converts types and forwards calls, and
//! holds no logic of its own (as matrix-rust-sdk's `bindings/` wrap the SDK).
//!
//! The JNI entry point of the Android build is in [`android`], the crate's only unsafe code.

uniffi::setup_scaffolding!();

pub mod error;
pub mod forwarder;
pub mod logging;
pub mod setup_link;
pub mod verdict;

#[cfg(target_os = "android")]
pub mod android;

pub use error::ForwarderError;
pub use forwarder::{
    DeliveryProblem, DeliveryState, DrainResult, Forwarder, ForwarderConfig, ForwarderHealth,
    ForwarderStatus, HealthObserver, HeartbeatAnswer, IncomingNotification, LogEntry, ProblemKind,
    SubmitOutcome,
};
pub use setup_link::{SetupLink, SetupLinkError, format_setup_link, parse_setup_link};
pub use verdict::{
    IgnoreReason, KnownApp, NotificationVerdict, Payment, PaymentSource, effective_text,
    event_hash, known_apps, parse_notification,
};
