//! What every handler and worker shares: the database, the configuration, the event hub, the delivery
//! worker's wake-up bell and the shutdown signal for long-lived connections.

use std::sync::Arc;

use tokio::sync::{Notify, watch};
use webqris_core::Timestamp;

use crate::config::Config;
use crate::db::Db;
use crate::hub::Hub;

/// Shared server state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
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
}

impl AppState {
    /// The server's current time.
    pub fn now(&self) -> Timestamp {
        self.config.clock.now()
    }
}
