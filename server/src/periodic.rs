//! The background sweeps' loop: run one sweep every period until the server stops. A failed sweep is
//! logged and the next tick tries again; a worker never returns early on an error.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::db::DbError;

/// Calls `sweep` every `period` until `stop` becomes true; `what` names it in the log.
pub async fn every<T, F, Fut>(
    period: Duration,
    mut stop: watch::Receiver<bool>,
    what: &'static str,
    mut sweep: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbError>>,
{
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopping| *stopping) => break,
        }
        if let Err(e) = sweep().await {
            tracing::error!(error = %e, "{what} failed; retrying at the next tick");
        }
    }
    tracing::debug!("{what} stopped");
}
