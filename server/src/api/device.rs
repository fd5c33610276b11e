//! `POST /api/forwarder/heartbeat`: the forwarder app reports that it is alive and how it is doing.

use axum::extract::State;
use axum::routing::post;
use axum::{Json as JsonResponse, Router};
use webqris_core::device::DeviceId;
use webqris_core::wire::{HeartbeatRequest, HeartbeatResponse};

use crate::auth::CallbackAuth;
use crate::db::Heartbeat;
use crate::error::AppError;
use crate::extract::Json;
use crate::state::AppState;

/// Longest `app_version` accepted.
pub const MAX_VERSION_CHARS: usize = 64;

/// The forwarder routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/forwarder/heartbeat", post(heartbeat))
}

async fn heartbeat(
    State(state): State<AppState>,
    CallbackAuth(merchant): CallbackAuth,
    Json(request): Json<HeartbeatRequest>,
) -> Result<JsonResponse<HeartbeatResponse>, AppError> {
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
    if request.outbox_pending.is_some_and(|n| n < 0) {
        return Err(AppError::BadRequest(
            "outbox_pending must not be negative".to_owned(),
        ));
    }
    let beat = Heartbeat {
        device_id: device_id.as_str().to_owned(),
        app_version: request.app_version,
        listener_connected: request.listener_connected,
        outbox_pending: request.outbox_pending,
        last_notification_at: request.last_notification_at,
    };
    let now = state.now();
    let merchant_id = merchant.id;
    state
        .db
        .write(move |tx| tx.record_heartbeat(merchant_id, &beat, now))
        .await?;
    Ok(JsonResponse(HeartbeatResponse {
        success: true,
        merchant: merchant.name,
        server_time: now,
        heartbeat_interval_secs: state.config.forwarder.heartbeat_interval_secs,
    }))
}
