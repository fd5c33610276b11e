//! The webqris server: the WebQRIS v3.6 HTTP API and WebSockets on axum, SQLite storage, the webhook
//! delivery worker and the expiry sweeper, plus the `webqris` command line.
//!
//! [`run`] is the seam: `webqris serve` and the integration tests both call it with a configuration, a
//! bound listener and a shutdown future.
#![forbid(unsafe_code)]

pub mod account;
pub mod api;
pub mod auth;
pub mod backup;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connection;
pub mod dashboard;
pub mod db;
pub mod delivery;
pub mod device;
pub mod error;
pub mod events;
pub mod expiry;
pub mod extract;
pub mod feed;
pub mod hub;
pub mod invoice;
pub mod limit;
pub mod logs;
pub mod merchant;
pub mod metrics;
pub mod page;
pub mod password;
pub mod periodic;
pub mod qr;
pub mod readiness;
pub mod retention;
pub mod secret;
pub mod settlement;
pub mod sockets;
pub mod state;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::backup::{BackupError, DatabaseLock};
use crate::bootstrap::Bootstrap;
use crate::config::{Config, ConfigError};
use crate::dashboard::limiter::LoginLimiter;
use crate::dashboard::session::SessionEnds;
use crate::db::{Db, DbError};
use crate::hub::Hub;
use crate::limit::RateLimit;
use crate::logs::Repeats;
use crate::metrics::Metrics;
use crate::password::Passwords;
use crate::readiness::Workers;
use crate::sockets::Sockets;
use crate::state::{AppState, Shared};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The database is being restored (or its lock file cannot be used).
    #[error(transparent)]
    Locked(#[from] BackupError),
    /// Serving connections failed.
    #[error("HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Runs the server on `listener` until `shutdown` resolves, then shuts down gracefully: WebSockets are
/// closed, requests in flight finish, the workers finish what they are doing (webhook attempts in flight
/// are recorded) and stop. Whatever is still due stays in the database for the next start.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let config = config.validated()?;
    // Held until the server has stopped: `webqris restore` refuses to overwrite the database meanwhile.
    let _lock = DatabaseLock::for_server(&config.db)?;
    let db = Db::open(&config.db, &config.database)?;
    let metrics = Metrics::new();
    let observed = metrics.clone();
    db.observe_commits(Arc::new(move |writes, took| {
        observed.committed(writes, took)
    }));
    let (sockets_stop, sockets_stopping) = watch::channel(false);
    let (workers_stop, workers_stopping) = watch::channel(false);
    let bound = listener.local_addr().map_err(ServerError::Serve)?;
    let public_url: Arc<str> = config.public_base(bound).into();
    if config.public_url.is_none() && !bound.ip().is_loopback() {
        tracing::warn!(%public_url, "public_url is not set; payment links and the forwarder setup QR use the listen address, which phones and customers may not reach");
    }
    let bootstrap = if !db.read(|c| c.operator_exists()).await? {
        let (pending, link) = Bootstrap::pending(&public_url, config.setup_token.clone());
        tracing::warn!(
            "no operator account exists yet: create it at {link} (this link works once; a restart prints a new one; or run `webqris account create --operator`)"
        );
        pending
    } else {
        Bootstrap::done()
    };
    let hub = Hub::new(config.websocket.queue, config.clock.clone());
    hub.owners().load(db.read(|c| c.merchant_owners()).await?);
    let login_limiter = LoginLimiter::new(&config.dashboard, db.clone());
    let state = AppState::new(Shared {
        db,
        hub,
        delivery_bell: Arc::new(Notify::new()),
        shutdown: sockets_stopping,
        public_url,
        login_limiter,
        session_ends: SessionEnds::default(),
        repeats: Repeats::new(config.log_repeat_secs.duration()),
        passwords: Passwords::new(config.dashboard.password_hash_concurrency),
        sockets: Sockets::default(),
        bootstrap,
        create_limit: RateLimit::new(
            config.invoice.create_per_sec_per_token,
            config.invoice.create_burst_per_token,
        ),
        metrics,
        workers: Workers::default(),
        config: Arc::new(config),
    });
    let workers = &state.workers;
    let sweeper = tokio::spawn(workers.watch(
        "expiry_sweep",
        expiry::run(state.clone(), workers_stopping.clone()),
    ));
    let revalidator = tokio::spawn(workers.watch(
        "socket_revalidator",
        sockets::revalidate(state.clone(), workers_stopping.clone()),
    ));
    let pruner = tokio::spawn(workers.watch(
        "retention_pruner",
        retention::run(state.clone(), workers_stopping.clone()),
    ));
    let device_sweeper = tokio::spawn(workers.watch(
        "device_alert_sweep",
        device::run(state.clone(), workers_stopping.clone()),
    ));
    // Only where other nodes may write (PostgreSQL); on SQLite it has nothing to do and returns at once.
    let relay = if state.db.is_shared() {
        tokio::spawn(workers.watch(
            "event_relay",
            events::run(state.clone(), workers_stopping.clone()),
        ))
    } else {
        tokio::spawn(events::run(state.clone(), workers_stopping.clone()))
    };
    let log_summaries = tokio::spawn(workers.watch(
        "log_summaries",
        logs::run(state.clone(), workers_stopping.clone()),
    ));
    let endpoint_sweeper = tokio::spawn(workers.watch(
        "webhook_alert_sweep",
        delivery::health::run(state.clone(), workers_stopping.clone()),
    ));
    let deliverer = tokio::spawn(workers.watch(
        "webhook_worker",
        delivery::run(state.clone(), workers_stopping),
    ));
    tracing::info!(addr = %bound, public_url = %state.public_url, db = %state.db.location(), "webqris listening");
    let app = api::router(state.clone());
    let (connections, repeats) = (state.config.connection.clone(), state.repeats.clone());
    connection::serve(listener, app, connections, repeats, async move {
        shutdown.await;
        tracing::info!("shutting down: closing WebSockets, finishing requests in flight");
        // Receivers gone just means no socket is open.
        let _ = sockets_stop.send(true);
    })
    .await;
    let _ = workers_stop.send(true);
    if let Err(e) = sweeper.await {
        tracing::error!(error = %e, "expiry sweeper task failed");
    }
    if let Err(e) = pruner.await {
        tracing::error!(error = %e, "retention pruner task failed");
    }
    if let Err(e) = revalidator.await {
        tracing::error!(error = %e, "WebSocket credential checker task failed");
    }
    if let Err(e) = device_sweeper.await {
        tracing::error!(error = %e, "device alert sweeper task failed");
    }
    if let Err(e) = relay.await {
        tracing::error!(error = %e, "event relay task failed");
    }
    if let Err(e) = endpoint_sweeper.await {
        tracing::error!(error = %e, "webhook alert sweeper task failed");
    }
    if let Err(e) = deliverer.await {
        tracing::error!(error = %e, "webhook worker task failed");
    }
    if let Err(e) = log_summaries.await {
        tracing::error!(error = %e, "log summary task failed");
    }
    // What was counted and not yet reported.
    state.repeats.flush(true);
    tracing::info!("webqris stopped");
    Ok(())
}
