//! The webqris forwarder, the code that runs on the merchant's phone: it takes the notifications the
//! listener saw, keeps them in a durable on-device outbox, delivers them to the server from a background
//! worker, and reports its health in heartbeats. Plain Rust, no FFI: the Android app reaches it through
//! `webqris-android` (a thin uniffi layer over [`Forwarder`]), and `webqris-forward` runs the same code on
//! a computer.
//!
//! - [`outbox`]: the SQLite outbox and log (all SQL of the forwarder);
//! - [`notification`]: what is kept of a posted notification (filter, one-time codes masked, event hash);
//! - [`delivery`]: the HTTP side, and what each answer of the server means;
//! - `worker` and `heartbeat`: the two background loops;
//! - [`backoff`]: the retry schedules.
//!
//! Delivery never stops for good and no item holds back another: see [`worker`'s rules](Forwarder).

pub mod backoff;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod error;
mod forwarder;
mod heartbeat;
pub mod logging;
pub mod notification;
pub mod outbox;
pub mod status;
pub mod tls;
mod worker;

/// The HTTP client crate (reqwest, built with `rustls-no-provider`; see the root `Cargo.toml`).
pub(crate) use reqwest as http;

pub use config::Config;
pub use error::Error;
pub use forwarder::{Forwarder, StatusObserver};
pub use notification::{Incoming, Submitted};
pub use status::{
    DeliveryState, Drain, Health, HeartbeatAnswer, LogEntry, Problem, ProblemKind, Status,
};
