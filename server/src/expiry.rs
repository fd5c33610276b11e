//! The expiry sweeper: every `invoice.expiry_sweep_secs` it moves overdue pending invoices to `expired`
//! in batches of `invoice.expiry_batch` (each its own short transaction, so a backlog of a million
//! overdue invoices never holds the single writer for long) and publishes one `payments_expired` event
//! per batch. (Status and matching already treat an overdue
//! invoice as expired before the sweep; the sweep makes it so in storage and tells the sockets.)

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::db::{DbError, ExpiredPayment};
use crate::state::AppState;

/// Sweeps until `stop` becomes true. Never returns early on an error: a failed sweep is logged and the
/// next tick tries again.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(state.config.invoice.expiry_sweep_secs.duration());
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopping| *stopping) => break,
        }
        if let Err(e) = sweep(&state).await {
            tracing::error!(error = %e, "expiry sweep failed; retrying at the next tick");
        }
    }
    tracing::debug!("expiry sweeper stopped");
}

/// One sweep: expires what is overdue now, batch by batch, publishing each batch as it commits;
/// returns every payment it expired.
pub async fn sweep(state: &AppState) -> Result<Vec<ExpiredPayment>, DbError> {
    let now = state.now();
    let batch = state.config.invoice.expiry_batch;
    let mut all = Vec::new();
    loop {
        let expired = state
            .db
            .write(move |tx| tx.expire_overdue(now, batch))
            .await?;
        if expired.is_empty() {
            break;
        }
        tracing::info!(count = expired.len(), "invoices expired");
        state.hub.payments_expired(&expired);
        let last = expired.len() < batch;
        all.extend(expired);
        if last {
            break;
        }
    }
    Ok(all)
}
