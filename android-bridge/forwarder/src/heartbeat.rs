//! The heartbeat worker: `POST /api/forwarder/heartbeat` every period (the setting, or what the server's
//! answer asks for), reporting that the phone is alive and how its delivery is doing: the queue, the age
//! of the oldest waiting item, the parked count, the current delivery error, the listener and the
//! notification access. The server alerts on a phone that is silent *or* alive but unable to deliver.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Deserialize;
use webqris_core::Timestamp;
use webqris_core::wire::HeartbeatRequest;

use crate::delivery::{self, HEARTBEAT_PATH};
use crate::error::Error;
use crate::forwarder::{Shared, now_ms};
use crate::status::HeartbeatAnswer;
use crate::worker::with_store;

/// The shortest period the server may ask for.
const MIN_PERIOD: Duration = Duration::from_secs(30);

/// The heartbeat's JSON answer.
#[derive(Debug, Default, Deserialize)]
struct AnswerBody {
    #[serde(default)]
    merchant: Option<String>,
    #[serde(default)]
    server_time: Option<String>,
    #[serde(default)]
    heartbeat_interval_secs: Option<u64>,
    #[serde(default)]
    message: Option<String>,
}

/// The heartbeat loop (nothing when the period is zero).
pub(crate) async fn heartbeat_forever(shared: Arc<Shared>) {
    let mut period = shared.settings().heartbeat_interval;
    while !shared.shutdown.load(Ordering::SeqCst) {
        if period.is_zero() {
            return;
        }
        tokio::time::sleep(period).await;
        match heartbeat(&shared).await {
            Ok(answer) => {
                if let Some(secs) = answer
                    .heartbeat_interval_secs
                    .map(Duration::from_secs)
                    .filter(|p| *p >= MIN_PERIOD)
                {
                    period = secs;
                }
            }
            // Deliberately swallowed: recorded for the status screen by `heartbeat`.
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
    }
}

/// One heartbeat, recorded for the status screen.
pub(crate) async fn heartbeat(shared: &Arc<Shared>) -> Result<HeartbeatAnswer, Error> {
    let result = send(shared).await;
    shared.record_heartbeat(&result);
    result
}

async fn send(shared: &Arc<Shared>) -> Result<HeartbeatAnswer, Error> {
    let settings = shared.settings();
    let (last_notification, pending_error) =
        with_store(shared, |s| (s.last_received_at(), s.last_pending_error()))
            .await
            .ok_or(Error::ShutDown)?;
    let (counts, gate_error) = {
        let progress = shared.progress();
        (
            progress.counts,
            progress.gate.as_ref().map(|g| g.error.clone()),
        )
    };
    let now = now_ms();
    let body = HeartbeatRequest {
        device_id: settings.device_id.clone(),
        app_version: Some(settings.app_version.clone()),
        listener_connected: Some(shared.listener_connected()),
        outbox_pending: Some(i64::try_from(counts.pending).unwrap_or(i64::MAX)),
        last_notification_at: last_notification?.map(Timestamp::from_millis),
        oldest_pending_age_secs: counts
            .oldest_received_at_ms
            .map(|at| now.saturating_sub(at).max(0) / 1000),
        parked_count: Some(i64::try_from(counts.parked).unwrap_or(i64::MAX)),
        last_delivery_error: if counts.pending == 0 {
            None
        } else {
            gate_error.or(pending_error?)
        },
        notification_access: shared.notification_access(),
    };
    let url = delivery::endpoint(&settings.base, HEARTBEAT_PATH);
    let (status, text) = delivery::post_json(&shared.client(), &settings, &url, &body).await?;
    let parsed: AnswerBody = serde_json::from_str(&text).unwrap_or_default();
    if (200..300).contains(&status) {
        Ok(HeartbeatAnswer {
            merchant: parsed.merchant,
            server_time: parsed.server_time,
            heartbeat_interval_secs: parsed.heartbeat_interval_secs,
        })
    } else {
        Err(delivery::status_error(status, parsed.message, &text))
    }
}
