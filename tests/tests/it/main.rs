//! End-to-end tests of the whole chain, every part real: the forwarder's `Forwarder` (the same code the
//! Android app runs through uniffi) → the webqris server (`webqris_server::run` on loopback, a temporary
//! SQLite file) → the merchant's webhook receiver (an HTTP server on loopback) and WebSocket clients.
//!
//! The server's own test harness is shared rather than copied: `support` is
//! `server/tests/it/support.rs`.

mod chain;
mod corpus;
#[path = "../../../server/tests/it/support.rs"]
mod support;
