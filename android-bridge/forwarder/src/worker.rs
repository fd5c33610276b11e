//! The delivery worker: takes the item due first, posts it, and records what the answer means (see
//! [`crate::delivery`] for the classification and [`crate::Forwarder`] for the rules), until shut down.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use webqris_core::Timestamp;
use webqris_core::event;
use webqris_core::wire::NotificationRequest;

use crate::config::Settings;
use crate::delivery::{self, Attempt, NOTIFICATION_PATH};
use crate::forwarder::{Shared, as_millis, millis, now_ms};
use crate::outbox::{Answer, Failure, Row, Store};
use crate::status::ProblemKind;

/// How long the worker waits before touching the database again after it failed.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// What the worker does next.
enum Step {
    /// Look at the queue again at once.
    Again,
    /// Sleep this long (or until woken).
    Wait(Duration),
    /// Sleep until woken.
    Idle,
}

/// The delivery loop.
pub(crate) async fn deliver_forever(shared: Arc<Shared>) {
    while !shared.shutdown.load(Ordering::SeqCst) {
        let woken = shared.wake.notified();
        tokio::pin!(woken);
        // Registered before looking at the queue, so a submit in between is not missed.
        woken.as_mut().enable();
        match deliver_next(&shared).await {
            Step::Again => continue,
            Step::Wait(duration) => {
                tokio::select! {
                    () = &mut woken => {}
                    () = tokio::time::sleep(duration) => {}
                }
            }
            Step::Idle => woken.await,
        }
    }
}

/// Runs `f` on the outbox off the async executor; `None` if the blocking task died.
pub(crate) async fn with_store<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&Store) -> T + Send + 'static,
) -> Option<T> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || f(&shared.store()))
        .await
        .ok()
}

/// One step: deliver the item due first, or say how long to wait for it.
async fn deliver_next(shared: &Arc<Shared>) -> Step {
    if let Some(wait) = shared.gate_wait(now_ms()) {
        return Step::Wait(wait);
    }
    let row = match with_store(shared, Store::next_due).await {
        Some(Ok(Some(row))) => row,
        Some(Ok(None)) => return Step::Idle,
        Some(Err(e)) => {
            // Deliberately swallowed: the worker must outlive a transient database error.
            tracing::error!(error = %e, "cannot read the outbox; retrying");
            return Step::Wait(STORE_RETRY);
        }
        None => return Step::Wait(STORE_RETRY),
    };
    let now = now_ms();
    if row.next_attempt_at_ms > now {
        return Step::Wait(millis(row.next_attempt_at_ms - now));
    }
    let settings = shared.settings();
    let url = delivery::endpoint(&settings.base, NOTIFICATION_PATH);
    let body = request_body(&row, &settings);
    let attempt =
        delivery::post_notification(&shared.client(), &url, settings.secret.expose(), &body, now)
            .await;
    record(shared, &settings, &row, attempt).await;
    let published = shared.clone();
    if tokio::task::spawn_blocking(move || published.publish())
        .await
        .is_err()
    {
        tracing::warn!("cannot refresh the outbox counts");
    }
    Step::Again
}

/// Writes what `attempt` means for `row` and for the whole queue.
async fn record(shared: &Arc<Shared>, settings: &Settings, row: &Row, attempt: Attempt) {
    let (id, now) = (row.id, now_ms());
    let written = match attempt {
        Attempt::Answered {
            status,
            message,
            invoice_id,
        } => {
            tracing::info!(id, status, ?invoice_id, "delivered");
            shared.open_gate();
            let answer = Answer {
                http_status: status,
                message,
                invoice_id,
            };
            let done = with_store(shared, move |s| s.complete(id, &answer, now)).await;
            if matches!(done, Some(Ok(()))) {
                shared.delivered.fetch_add(1, Ordering::Relaxed);
            }
            done
        }
        Attempt::Failed {
            status,
            error,
            retry_after,
        } => {
            shared.open_gate();
            let failures = row.attempts.saturating_add(1);
            let park = failures >= settings.max_attempts;
            let delay = if park {
                settings.parked_retry
            } else {
                settings
                    .item_backoff
                    .delay_with_retry_after(failures, retry_after)
            };
            if park {
                tracing::error!(id, failures, %error, "delivery keeps failing; item parked");
            } else {
                tracing::warn!(id, failures, ?delay, %error, "delivery failed; will retry");
            }
            let next_attempt_at_ms = now.saturating_add(as_millis(delay));
            with_store(shared, move |s| {
                s.fail_attempt(
                    id,
                    &Failure {
                        error: &error,
                        http_status: status,
                        at_ms: now,
                        next_attempt_at_ms,
                        park,
                    },
                )
            })
            .await
        }
        Attempt::Refused { status, error } => {
            shared.close_gate(
                ProblemKind::Refused,
                Some(status),
                error.clone(),
                &settings.refusal_backoff,
                now,
            );
            with_store(shared, move |s| s.note_error(id, &error, Some(status), now)).await
        }
        Attempt::Unreachable { error } => {
            shared.close_gate(
                ProblemKind::Unreachable,
                None,
                error.clone(),
                &settings.unreachable_backoff,
                now,
            );
            with_store(shared, move |s| s.note_error(id, &error, None, now)).await
        }
    };
    if let Some(Err(e)) = &written {
        // Deliberately swallowed: the row is re-sent, and the server dedupes it.
        tracing::error!(error = %e, id, "cannot record the delivery outcome");
    }
}

/// The body of `POST /api/webhook/payment` for a queued row (api.md, field for field, plus the
/// notification's kind for the server's trust rules).
fn request_body(row: &Row, settings: &Settings) -> NotificationRequest {
    NotificationRequest {
        app: Some(row.app.clone()),
        title: Some(row.title.clone()),
        message: row.message.clone(),
        timestamp: Some(Timestamp::from_millis(row.post_time_ms).to_iso()),
        device_id: Some(settings.device_id.clone()),
        notif_id: Some(event::forwarder_notif_id(&row.notif_key, row.post_time_ms)),
        event_hash: Some(row.event_hash.clone()),
        category: row.category.clone(),
        template: row.template.clone(),
        channel_id: row.channel_id.clone(),
    }
}
