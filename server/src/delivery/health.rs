//! The alert of a webhook endpoint that keeps failing: raised (once) when none of its attempts got a 2xx
//! for `webhook.failing_alert_secs`, announced on the live feed as `webhook_alert`, and cleared (once,
//! announced by the worker that recorded it) by the next 2xx. The sweep raises it, because "for an
//! hour" becomes true with the passing of time, not with an attempt.

use tokio::sync::watch;
use webqris_core::Timestamp;
use webqris_core::wire::{WsEvent, WsWebhookAlertData};

use crate::db::{DbError, EndpointHealth};
use crate::periodic;
use crate::state::AppState;

/// The `webhook_alert` frame for `health` (failing while its `failing_since` is set).
pub fn alert_data(merchant_name: &str, health: &EndpointHealth) -> WsWebhookAlertData {
    WsWebhookAlertData {
        merchant_name: merchant_name.to_owned(),
        url: health.url.clone(),
        failing: health.alert,
        failing_since: health.failing_since,
        last_success_at: health.last_success_at,
        failed_attempts: health.failed_attempts,
        last_error: health.last_error.clone(),
    }
}

/// Sweeps every `webhook.alert_sweep_secs` until `stop` becomes true.
pub async fn run(state: AppState, stop: watch::Receiver<bool>) {
    let period = state.config.webhook.alert_sweep_secs.duration();
    periodic::every(period, stop, "webhook alert sweep", || sweep(&state)).await;
}

/// One sweep: raises and announces the alert of every endpoint failing for long enough (stored as an
/// event in the same transaction, so the other nodes' sockets get it too).
pub async fn sweep(state: &AppState) -> Result<usize, DbError> {
    let now = state.now();
    let failing_before = Timestamp::from_millis(
        now.as_millis()
            .saturating_sub(state.config.webhook.failing_alert_secs.millis()),
    );
    let raised = state
        .db
        .write(move |tx| {
            let mut events = Vec::new();
            for (merchant, name, health) in tx.raise_endpoint_alerts(failing_before)? {
                tracing::warn!(merchant = %name, url = %health.url, failing_since = ?health.failing_since, "webhook endpoint failing: no attempt got a 2xx for webhook.failing_alert_secs");
                let event = WsEvent::WebhookAlert(alert_data(&name, &health));
                tx.record_event(merchant, &event, now)?;
                events.push((merchant, event));
            }
            Ok::<_, DbError>(events)
        })
        .await?;
    let count = raised.len();
    for (merchant, event) in raised {
        state.hub.publish_event(merchant, event);
    }
    Ok(count)
}
