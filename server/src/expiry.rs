//! The expiry sweeper: every `invoice.expiry_sweep_secs` it moves overdue pending invoices to `expired`
//! in batches of `invoice.expiry_batch` (each its own short transaction, so a backlog of a million
//! overdue invoices never holds the single writer for long) and publishes one `payments_expired` event
//! per batch. (Status and matching already treat an overdue
//! invoice as expired before the sweep; the sweep makes it so in storage and tells the sockets.)

use tokio::sync::watch;

use crate::db::{DbError, ExpiredPayment};
use crate::periodic;
use crate::state::AppState;

/// Sweeps until `stop` becomes true. Never returns early on an error: a failed sweep is logged and the
/// next tick tries again.
pub async fn run(state: AppState, stop: watch::Receiver<bool>) {
    let period = state.config.invoice.expiry_sweep_secs.duration();
    periodic::every(period, stop, "expiry sweep", || sweep(&state)).await;
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
