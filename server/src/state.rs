//! What every handler and worker shares: the database, the configuration, the event hub, the delivery
//! worker's wake-up bell, the shutdown signal for long-lived connections, the public base URL, the
//! dashboard's login rate limiter and its logout announcements, the metrics and the workers' states.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::{Notify, watch};
use webqris_core::Timestamp;

use crate::bootstrap::Bootstrap;
use crate::config::Config;
use crate::dashboard::limiter::LoginLimiter;
use crate::dashboard::session::SessionEnds;
use crate::db::Db;
use crate::hub::Hub;
use crate::limit::RateLimit;
use crate::logs::Repeats;
use crate::metrics::Metrics;
use crate::password::Passwords;
use crate::readiness::Workers;
use crate::sockets::Sockets;

/// Shared server state: one handle to [`Shared`], cloned for every request and by every middleware, so a
/// clone is one reference count (a struct of a dozen handles cost a dozen, and as many again to drop:
/// ≈ 8 % of a status request's CPU).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state every clone shares.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
#[derive(Debug)]
pub struct Shared {
    /// The database.
    pub db: Db,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Live events for WebSocket clients.
    pub hub: Hub,
    /// Rung when a delivery becomes due (a payment was just marked paid) so the worker need not poll.
    pub delivery_bell: Arc<Notify>,
    /// Becomes `true` when the server starts shutting down; WebSocket tasks close then.
    pub shutdown: watch::Receiver<bool>,
    /// The base URL this server is reached at, without a trailing slash ([`Config::public_base`]).
    pub public_url: Arc<str>,
    /// Failed dashboard logins, per login name and per client address.
    pub login_limiter: LoginLimiter,
    /// Dashboard logouts, for the live sockets opened with those sessions.
    pub session_ends: SessionEnds,
    /// The tally of repeatable log lines (refused requests, failing endpoints), which bounds the log.
    pub repeats: Repeats,
    /// What `/metrics` reports.
    pub metrics: Metrics,
    /// The background workers and whether each runs (`/readyz`).
    pub workers: Workers,
    /// The bounded password hashing pool.
    pub passwords: Passwords,
    /// Open WebSockets and what authorised them (limits, revocation).
    pub sockets: Sockets,
    /// The one-time operator setup, while no operator exists.
    pub bootstrap: Bootstrap,
    /// Invoice creation per API token (by row id).
    pub create_limit: RateLimit<i64>,
}

impl Shared {
    /// The server's current time.
    pub fn now(&self) -> Timestamp {
        self.config.clock.now()
    }

    /// Whether the server is reached over https (session cookies are then `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
