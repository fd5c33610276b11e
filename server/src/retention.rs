//! The retention pruner: every `retention.prune_every_secs` it deletes what is older than the configured
//! ages (notifications, duplicate keys, delivery attempts, finished invoices), `retention.prune_batch`
//! rows per transaction, off the request path. An age of 0 keeps those rows forever.

use std::time::Duration;

use tokio::sync::watch;
use webqris_core::Timestamp;

use crate::config::RetentionConfig;
use crate::db::{DbError, Prunable};
use crate::periodic;
use crate::state::AppState;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Prunes every `retention.prune_every_secs` until `stop` becomes true (on the shared sweep loop).
pub async fn run(state: AppState, stop: watch::Receiver<bool>) {
    let every = state.config.retention.prune_every_secs.duration();
    let stopping = stop.clone();
    periodic::every(
        every.max(Duration::from_millis(1)),
        stop,
        "pruning",
        || async {
            let deleted = prune(&state, &stopping).await?;
            if deleted > 0 {
                tracing::info!(deleted, "old rows pruned");
            }
            Ok(deleted)
        },
    )
    .await;
}

/// What is pruned, and after how many days (0: never).
fn ages(config: &RetentionConfig) -> [(Prunable, u64); 5] {
    [
        (Prunable::Notifications, config.notifications_days),
        (Prunable::SeenKeys, config.seen_keys_days),
        (Prunable::DeliveryAttempts, config.delivery_attempts_days),
        (Prunable::FinishedInvoices, config.finished_invoices_days),
        (Prunable::Events, config.events_days),
    ]
}

/// One round: every kind, batch by batch until nothing old is left (or the server stops); returns how
/// many rows were deleted.
pub async fn prune(state: &AppState, stop: &watch::Receiver<bool>) -> Result<usize, DbError> {
    let config = &state.config.retention;
    let batch = config.prune_batch;
    let mut deleted = 0;
    for (what, days) in ages(config) {
        if days == 0 {
            continue;
        }
        let age = i64::try_from(days)
            .unwrap_or(i64::MAX)
            .saturating_mul(DAY_MS);
        let cutoff = Timestamp::from_millis(state.now().as_millis().saturating_sub(age));
        loop {
            let n = state
                .db
                .write(move |tx| tx.prune(what, cutoff, batch))
                .await?;
            deleted += n;
            if n < batch || *stop.borrow() {
                break;
            }
            // Let requests waiting for the writer go first.
            tokio::task::yield_now().await;
        }
    }
    Ok(deleted)
}
