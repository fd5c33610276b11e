//! `POST /api/forwarder/heartbeat`: the forwarder app reports that it is alive and how its delivery is
//! doing; a change of the device's alert (it cannot deliver, lost notification access, recovered) is
//! announced on the live feed at once.

use axum::extract::State;
use axum::routing::post;
use axum::{Json as JsonResponse, Router};
use webqris_core::device::DeviceId;
use webqris_core::wire::{HeartbeatRequest, HeartbeatResponse, WsEvent};

use crate::auth::CallbackAuth;
use crate::db::{DbError, Heartbeat};
use crate::device;
use crate::error::AppError;
use crate::extract::Json;
use crate::state::AppState;

/// Longest `app_version` accepted.
pub const MAX_VERSION_CHARS: usize = 64;
/// Longest `last_delivery_error` kept (a longer one is cut, not refused: the report matters more).
pub const MAX_DELIVERY_ERROR_CHARS: usize = 500;

/// The forwarder routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/forwarder/heartbeat", post(heartbeat))
}

async fn heartbeat(
    State(state): State<AppState>,
    CallbackAuth(merchant): CallbackAuth,
    Json(request): Json<HeartbeatRequest>,
) -> Result<JsonResponse<HeartbeatResponse>, AppError> {
    let now = state.now();
    let beat = checked(request, now)?;
    let (merchant_id, merchant_name) = (merchant.id, merchant.name.clone());
    let config = state.config.clone();
    let announce = state
        .db
        .write(move |tx| {
            let device = tx.record_heartbeat(merchant_id, &beat, now)?;
            let alert = device::alert(&device, now, &config.forwarder);
            if alert == device.alert {
                return Ok::<_, DbError>(None);
            }
            if !tx.set_device_alert(merchant_id, &device.device_id, device.alert, alert)? {
                return Ok(None);
            }
            let data = device::alert_data(&device, &merchant_name, alert);
            tx.record_event(merchant_id, &WsEvent::DeviceAlert(data.clone()), now)?;
            Ok(Some(data))
        })
        .await?;
    if let Some(data) = announce {
        state
            .hub
            .publish_event(merchant_id, WsEvent::DeviceAlert(data));
    }
    Ok(JsonResponse(HeartbeatResponse {
        success: true,
        merchant: merchant.name,
        server_time: now,
        heartbeat_interval_secs: state.config.forwarder.heartbeat_interval_secs,
    }))
}

/// The report in stored form, or why it is refused (400). The phone's age of its oldest item becomes a
/// time on the server's clock, so the phone's clock drift does not matter.
fn checked(request: HeartbeatRequest, now: webqris_core::Timestamp) -> Result<Heartbeat, AppError> {
    // One rule for every path that records a device: trimmed and cut at `DeviceId::MAX_CHARS`.
    let Some(device_id) = DeviceId::new(&request.device_id) else {
        return Err(AppError::BadRequest(
            "device_id must not be empty".to_owned(),
        ));
    };
    if request
        .app_version
        .as_deref()
        .is_some_and(|v| v.chars().count() > MAX_VERSION_CHARS)
    {
        return Err(AppError::BadRequest(format!(
            "app_version must be at most {MAX_VERSION_CHARS} characters"
        )));
    }
    for (name, value) in [
        ("outbox_pending", request.outbox_pending),
        ("parked_count", request.parked_count),
        ("oldest_pending_age_secs", request.oldest_pending_age_secs),
    ] {
        if value.is_some_and(|n| n < 0) {
            return Err(AppError::BadRequest(format!("{name} must not be negative")));
        }
    }
    let waiting = request.outbox_pending.unwrap_or(0) > 0;
    Ok(Heartbeat {
        device_id: device_id.as_str().to_owned(),
        app_version: request.app_version,
        listener_connected: request.listener_connected,
        outbox_pending: request.outbox_pending,
        last_notification_at: request.last_notification_at,
        notification_access: request.notification_access,
        parked_count: request.parked_count,
        oldest_pending_since: request
            .oldest_pending_age_secs
            .filter(|_| waiting)
            .map(|age| now.plus_secs(-age)),
        last_delivery_error: request
            .last_delivery_error
            .map(|e| e.chars().take(MAX_DELIVERY_ERROR_CHARS).collect::<String>())
            .filter(|e| !e.trim().is_empty()),
    })
}
