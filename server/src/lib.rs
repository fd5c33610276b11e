//! The webqris server: the WebQRIS v3.6 HTTP API and WebSockets on axum, SQLite storage, the webhook
//! delivery worker and the expiry sweeper, plus the `webqris` command line.
#![forbid(unsafe_code)]

pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod delivery;
pub mod error;
pub mod merchant;
pub mod secret;
