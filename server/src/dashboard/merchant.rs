//! A merchant's settings in the dashboard: create, rename, delete; its static QRIS (pasted, or read from
//! an uploaded photo or screenshot, shown for confirmation before it is saved); API tokens; webhook URL
//! and secret, with a signed test webhook; the callback secret with the forwarder setup QR; and its
//! forwarder devices.

use std::sync::LazyLock;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json as JsonResponse, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use webqris_core::Timestamp;
use webqris_core::qris;
use webqris_core::wire::DeviceAlert;

use super::session::Viewer;
use super::{VisibleMerchant, merchant_not_found, visible_merchant};
use crate::db::{
    Circuit, DeleteRefusal, DeviceRow, EndpointStatus, MerchantDetail, MerchantId, MerchantListRow,
};
use crate::delivery;
use crate::device;
use crate::error::AppError;
use crate::extract::Json;
use crate::merchant::{self, MerchantError, NewMerchant};
use crate::qr;
use crate::secret;
use crate::sockets::Credential;
use crate::state::AppState;

/// The routes of this file; uploads of QR images may be up to `max_upload_bytes`.
pub fn router(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/dashboard/api/merchants", get(list).post(create))
        .route(
            "/dashboard/api/merchants/{id}",
            get(detail).patch(rename).delete(remove),
        )
        .route("/dashboard/api/merchants/{id}/qris", put(set_qris))
        .route("/dashboard/api/qris/decode", post(decode))
        .route(
            "/dashboard/api/qris/scan",
            post(scan).layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route(
            "/dashboard/api/merchants/{id}/tokens",
            get(tokens).post(create_token),
        )
        .route(
            "/dashboard/api/merchants/{id}/tokens/{token}",
            delete(revoke_token),
        )
        .route("/dashboard/api/merchants/{id}/webhook", put(set_webhook))
        .route(
            "/dashboard/api/merchants/{id}/webhook/secret",
            post(rotate_webhook_secret),
        )
        .route(
            "/dashboard/api/merchants/{id}/webhook/test",
            post(test_webhook),
        )
        .route(
            "/dashboard/api/merchants/{id}/webhook/replay",
            post(replay_webhooks),
        )
        .route(
            "/dashboard/api/merchants/{id}/callback-secret",
            post(rotate_callback_secret),
        )
        .route("/dashboard/api/merchants/{id}/devices", get(devices))
        .route("/dashboard/api/devices", get(all_devices))
}

/// Images decoded at once: a large photo takes a few hundred megabytes while it is decoded, so uploads
/// queue here rather than all at once.
static SCANS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(2));

/// The forwarder setup link the Android app scans (its parser reads exactly this shape):
/// `webqris://setup?server=<url-encoded base URL>&secret=<callback secret>&merchant=<url-encoded name>`.
pub fn setup_link(server: &str, callback_secret: &str, merchant_name: &str) -> String {
    let mut url = reqwest::Url::parse("webqris://setup").expect("a constant, valid URL");
    url.query_pairs_mut()
        .append_pair("server", server)
        .append_pair("secret", callback_secret)
        .append_pair("merchant", merchant_name);
    url.into()
}

fn merchant_error(e: MerchantError) -> AppError {
    match e {
        MerchantError::Db(e) => AppError::from(e),
        MerchantError::UnknownMerchant(_) => merchant_not_found(),
        MerchantError::TooMany(_) => AppError::Conflict(e.to_string()),
        other => AppError::BadRequest(other.to_string()),
    }
}

/// What the dashboard shows of a static QRIS: the summary, or why it is not usable.
fn qris_json(payload: &str) -> Value {
    match qris::check_static(payload) {
        Ok(summary) => {
            json!({"payload": payload, "usable": true, "summary": summary, "error": null})
        }
        Err(error) => json!({
            "payload": payload,
            "usable": false,
            // What could still be read, so a person sees which code this is (e.g. an already dynamic one).
            "summary": qris::parse(payload).ok().map(|q| q.summary()),
            "error": error.to_string(),
        }),
    }
}

fn silent(state: &AppState, last_seen: Timestamp) -> bool {
    state.now().as_millis() - last_seen.as_millis()
        > state.config.forwarder.silence_alert_secs.millis()
}

fn list_json(state: &AppState, row: &MerchantListRow) -> Value {
    let summary = row
        .merchant
        .qris_payload
        .as_deref()
        .and_then(|p| qris::parse(p).ok())
        .map(|q| q.summary());
    json!({
        "id": row.merchant.id.0,
        "name": row.merchant.name,
        "owner_email": row.owner_email,
        "created_at": row.created_at,
        "qris_configured": row.merchant.qris_payload.is_some(),
        "qris_merchant_name": summary.and_then(|s| s.merchant_name),
        "webhook_url": row.merchant.webhook_url,
        "pending": row.pending,
        "last_device_seen_at": row.last_device_seen_at,
        "device_silent": row.last_device_seen_at.is_some_and(|at| silent(state, at)),
    })
}

fn detail_json(state: &AppState, m: &MerchantDetail) -> Value {
    let previous_until = m
        .previous_webhook_secret
        .as_ref()
        .map(|(_, until)| *until)
        .filter(|until| *until > state.now());
    json!({
        "id": m.merchant.id.0,
        "name": m.merchant.name,
        "owner_email": m.owner_email,
        "created_at": m.created_at,
        "qris": m.merchant.qris_payload.as_deref().map(qris_json),
        "webhook_url": m.merchant.webhook_url,
        "webhook_secret": m.webhook_secret.expose(),
        // While set, the previous secret still signs too (`webhook-signature` carries both).
        "previous_webhook_secret_until": previous_until,
        "callback_secret_prefix": m.callback_secret_prefix,
        "server_url": &*state.public_url,
    })
}

/// A forwarder device in the dashboard: what its last heartbeat said and what it needs a person for.
#[derive(Debug, Serialize)]
struct DeviceView<'a> {
    device_id: &'a str,
    app_version: Option<&'a str>,
    listener_connected: Option<bool>,
    notification_access: Option<bool>,
    outbox_pending: Option<i64>,
    parked_count: Option<i64>,
    /// Since when the oldest undelivered notification waits (server clock), as of the last heartbeat.
    oldest_pending_since: Option<Timestamp>,
    last_delivery_error: Option<&'a str>,
    last_notification_at: Option<Timestamp>,
    first_seen_at: Timestamp,
    last_seen_at: Timestamp,
    last_heartbeat_at: Option<Timestamp>,
    /// Not heard from for `forwarder.silence_alert_secs` (kept beside `alert` for older pages).
    silent: bool,
    /// `silent`, `cannot_deliver`, `no_notification_access`, or null.
    alert: Option<DeviceAlert>,
}

fn device_json(state: &AppState, d: &DeviceRow) -> Value {
    let alert = device::alert(d, state.now(), &state.config.forwarder);
    let view = DeviceView {
        device_id: &d.device_id,
        app_version: d.app_version.as_deref(),
        listener_connected: d.listener_connected,
        notification_access: d.notification_access,
        outbox_pending: d.outbox_pending,
        parked_count: d.parked_count,
        oldest_pending_since: d.oldest_pending_since,
        last_delivery_error: d.last_delivery_error.as_deref(),
        last_notification_at: d.last_notification_at,
        first_seen_at: d.first_seen_at,
        last_seen_at: d.last_seen_at,
        last_heartbeat_at: d.last_heartbeat_at,
        silent: alert == Some(DeviceAlert::Silent),
        alert,
    };
    // A struct of plain fields always serialises.
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// The webhook endpoint's breaker, health and queue (`circuit` is `closed` until something went wrong;
/// `failing_since` is set from the first failed attempt until the next 2xx, `alert` once that lasted
/// `webhook.failing_alert_secs`).
fn endpoint_json(e: &EndpointStatus) -> Value {
    let health = e.health.as_ref();
    json!({
        "circuit": health.map_or(Circuit::Closed, |h| h.circuit).as_str(),
        "consecutive_failures": health.map_or(0, |h| h.failures),
        "since": health.and_then(|h| h.changed_at),
        "next_probe_at": health.filter(|h| h.circuit == Circuit::Open).and_then(|h| h.probe_at),
        "last_error": health.and_then(|h| h.last_error.clone()),
        "pending": e.pending,
        "in_flight": e.in_flight,
        "last_success_at": health.and_then(|h| h.last_success_at),
        "failing_since": health.and_then(|h| h.failing_since),
        "failed_attempts": health.map_or(0, |h| h.failed_attempts),
        "next_attempt_at": e.next_attempt_at,
        "alert": health.is_some_and(|h| h.alert),
    })
}

/// The callback secret's setup link and its QR (shown once, with the secret).
fn callback_secret_json(state: &AppState, secret: &str, name: &str) -> Result<Value, AppError> {
    let link = setup_link(&state.public_url, secret, name);
    let qr = qr::png_data_url(&link).map_err(AppError::internal)?;
    Ok(json!({"callback_secret": secret, "setup_link": link, "setup_qr": qr}))
}

async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let (scope, now) = (viewer.scope(), state.now());
    let rows = state
        .db
        .read(move |c| c.merchants_in_scope(scope, now))
        .await?;
    let merchants: Vec<Value> = rows.iter().map(|r| list_json(&state, r)).collect();
    Ok(JsonResponse(json!({"success": true, "merchants": merchants})).into_response())
}

#[derive(Debug, Deserialize)]
struct NameBody {
    name: String,
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Json(body): Json<NameBody>,
) -> Result<Response, AppError> {
    let owner = viewer.account.id;
    let created = merchant::create_owned(
        &state.db,
        NewMerchant {
            name: body.name,
            qris: None,
            webhook_url: None,
        },
        Some(merchant::Owner {
            account: owner,
            max_merchants: state.config.dashboard.max_merchants_per_account,
        }),
        state.config.webhook.allow_private_targets,
        state.now(),
    )
    .await
    .map_err(merchant_error)?;
    state.hub.owners().set(created.merchant_id, Some(owner));
    let detail = visible_merchant(&state, &viewer, created.merchant_id).await?;
    let mut answer = callback_secret_json(&state, created.callback_secret.expose(), &created.name)?;
    answer["success"] = json!(true);
    answer["merchant"] = detail_json(&state, &detail);
    Ok((StatusCode::CREATED, JsonResponse(answer)).into_response())
}

async fn detail(State(state): State<AppState>, m: VisibleMerchant) -> Result<Response, AppError> {
    let merchant = m.id();
    let devices = state.db.read(move |c| c.devices(merchant)).await?;
    let now = state.now();
    let endpoint = state
        .db
        .read(move |c| c.endpoint_status(merchant, now))
        .await?;
    let mut answer = detail_json(&state, &m.detail);
    answer["devices"] = devices.iter().map(|d| device_json(&state, d)).collect();
    answer["webhook_health"] = endpoint_json(&endpoint);
    Ok(JsonResponse(json!({"success": true, "merchant": answer})).into_response())
}

async fn rename(
    State(state): State<AppState>,
    m: VisibleMerchant,
    Json(body): Json<NameBody>,
) -> Result<Response, AppError> {
    let name = merchant::check_name(&body.name).map_err(merchant_error)?;
    let merchant = m.id();
    let stored = name.clone();
    state
        .db
        .write(move |tx| tx.rename_merchant(merchant, &stored))
        .await?;
    Ok(JsonResponse(json!({"success": true, "name": name})).into_response())
}

async fn remove(State(state): State<AppState>, m: VisibleMerchant) -> Result<Response, AppError> {
    let (merchant, now) = (m.id(), state.now());
    match state
        .db
        .write(move |tx| tx.delete_merchant(merchant, now))
        .await?
    {
        Ok(()) => {
            state.hub.owners().set(merchant, None);
            state.sockets.close_merchant(merchant);
            tracing::info!(
                merchant = merchant.0,
                account = m.viewer.account.id.0,
                "merchant deleted"
            );
            Ok(JsonResponse(json!({"success": true})).into_response())
        }
        Err(DeleteRefusal::PendingPayments(n)) => Err(AppError::Conflict(format!(
            "This merchant has {n} pending payment(s); wait until they are paid or expired before deleting it"
        ))),
        Err(DeleteRefusal::PendingDeliveries(n)) => Err(AppError::Conflict(format!(
            "This merchant has {n} webhook(s) still being delivered; try again once they are done"
        ))),
    }
}

#[derive(Debug, Deserialize)]
struct PayloadBody {
    payload: String,
}

/// `POST /dashboard/api/qris/decode`: what a pasted payload says, and whether it can be used.
async fn decode(_viewer: Viewer, Json(body): Json<PayloadBody>) -> Result<Response, AppError> {
    let payload = body.payload.trim();
    if payload.is_empty() {
        return Err(AppError::BadRequest("payload must not be empty".to_owned()));
    }
    let mut answer = qris_json(payload);
    answer["success"] = json!(true);
    Ok(JsonResponse(answer).into_response())
}

/// `POST /dashboard/api/qris/scan`: the raw bytes of a photo or screenshot (PNG or JPEG); reads the QR
/// code in it and answers like `decode`.
async fn scan(
    State(state): State<AppState>,
    _viewer: Viewer,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::BadRequest(format!(
                "The image is too large (at most {} bytes)",
                state.config.dashboard.max_upload_bytes
            ))
        } else {
            AppError::BadRequest(format!("Cannot read the upload: {}", e.body_text()))
        }
    })?;
    if bytes.is_empty() {
        return Err(AppError::BadRequest("No image was uploaded".to_owned()));
    }
    let _permit = SCANS.acquire().await.map_err(AppError::internal)?;
    let read = tokio::task::spawn_blocking(move || qr::scan(&bytes))
        .await
        .map_err(AppError::internal)?;
    let payload = read.map_err(|e| AppError::BadRequest(format!("Cannot read a QR code: {e}")))?;
    let mut answer = qris_json(payload.trim());
    answer["success"] = json!(true);
    Ok(JsonResponse(answer).into_response())
}

/// `PUT /dashboard/api/merchants/{id}/qris`: saves a static QRIS (refused unless it can be made
/// dynamic for every amount).
async fn set_qris(
    State(state): State<AppState>,
    m: VisibleMerchant,
    Json(body): Json<PayloadBody>,
) -> Result<Response, AppError> {
    let payload = body.payload.trim().to_owned();
    let summary = qris::check_static(&payload).map_err(|e| {
        AppError::BadRequest(format!("QRIS payload is not a usable static QRIS: {e}"))
    })?;
    let merchant = m.id();
    state
        .db
        .write(move |tx| tx.set_merchant_qris(merchant, &payload))
        .await?;
    Ok(JsonResponse(json!({"success": true, "summary": summary})).into_response())
}

async fn tokens(State(state): State<AppState>, m: VisibleMerchant) -> Result<Response, AppError> {
    let merchant = m.id();
    let rows = state.db.read(move |c| c.api_token_rows(merchant)).await?;
    let tokens: Vec<Value> = rows
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "prefix": t.prefix,
                "created_at": t.created_at,
                "revoked_at": t.revoked_at,
                "last_used_at": t.last_used_at,
                "test": t.test,
            })
        })
        .collect();
    Ok(JsonResponse(json!({"success": true, "tokens": tokens})).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct TokenBody {
    /// A sandbox token (its invoices are test invoices, paid only by `simulate`).
    #[serde(default)]
    test: bool,
}

/// `POST /dashboard/api/merchants/{id}/tokens` `{"test"?: bool}`: issues an API token (shown once).
async fn create_token(
    State(state): State<AppState>,
    m: VisibleMerchant,
    Json(body): Json<TokenBody>,
) -> Result<Response, AppError> {
    let issued = merchant::issue_api_token(&state.db, m.id(), body.test, state.now())
        .await
        .map_err(merchant_error)?;
    Ok((
        StatusCode::CREATED,
        JsonResponse(json!({
            "success": true,
            "token": issued.token.expose(),
            "prefix": issued.prefix,
            "test": body.test,
        })),
    )
        .into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    m: VisibleMerchant,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<Response, AppError> {
    let Ok(Path((_, token))) = path else {
        return Err(AppError::NotFound("API token not found".to_owned()));
    };
    let (merchant, now) = (m.id(), state.now());
    if state
        .db
        .write(move |tx| tx.revoke_api_token_by_id(merchant, token, now))
        .await?
    {
        state.sockets.close_credential(Credential::ApiToken(token));
        Ok(JsonResponse(json!({"success": true})).into_response())
    } else {
        Err(AppError::NotFound(
            "API token not found (or already revoked)".to_owned(),
        ))
    }
}

#[derive(Debug, Deserialize)]
struct WebhookBody {
    url: Option<String>,
}

/// `PUT /dashboard/api/merchants/{id}/webhook`: sets (or, with `null`/empty, clears) the webhook URL,
/// under the same target policy as the command line.
async fn set_webhook(
    State(state): State<AppState>,
    m: VisibleMerchant,
    Json(body): Json<WebhookBody>,
) -> Result<Response, AppError> {
    let url = match body.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(text) => Some(
            merchant::check_webhook_url(text, state.config.webhook.allow_private_targets)
                .await
                .map_err(merchant_error)?,
        ),
        None => None,
    };
    let merchant = m.id();
    let stored = url.clone();
    state
        .db
        .write(move |tx| tx.set_webhook_url(merchant, stored.as_deref()))
        .await?;
    Ok(JsonResponse(json!({"success": true, "webhook_url": url})).into_response())
}

#[derive(Debug, Deserialize)]
struct RotateBody {
    /// How long the old secret keeps signing too; absent: `webhook.secret_overlap_secs`; 0: it stops at
    /// once (a leaked secret).
    overlap_secs: Option<u64>,
}

/// `POST /dashboard/api/merchants/{id}/webhook/secret`: a new webhook secret, shown once; the old one
/// keeps signing as well for the overlap.
async fn rotate_webhook_secret(
    State(state): State<AppState>,
    m: VisibleMerchant,
    Json(body): Json<RotateBody>,
) -> Result<Response, AppError> {
    let overlap_ms = match body.overlap_secs {
        Some(secs) => i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX),
        None => state.config.webhook.secret_overlap_secs.millis(),
    };
    let until = (overlap_ms > 0)
        .then(|| Timestamp::from_millis(state.now().as_millis().saturating_add(overlap_ms)));
    let secret = secret::webhook_secret();
    let (merchant, stored) = (m.id(), secret.clone());
    state
        .db
        .write(move |tx| tx.set_webhook_secret(merchant, &stored, until))
        .await?;
    Ok(JsonResponse(json!({
        "success": true,
        "webhook_secret": secret.expose(),
        "previous_webhook_secret_until": until,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct ReplayBody {
    since: Timestamp,
    until: Option<Timestamp>,
}

/// `POST /dashboard/api/merchants/{id}/webhook/replay` `{"since", "until"?}`: sends the merchant's
/// webhooks queued in that range again now (original `webhook-id` and body, fresh signature), like
/// `webqris webhook replay`.
async fn replay_webhooks(
    State(state): State<AppState>,
    m: VisibleMerchant,
    Json(body): Json<ReplayBody>,
) -> Result<Response, AppError> {
    let queued = delivery::replay(&state.db, m.id(), body.since, body.until, state.now())
        .await
        .map_err(|e| match e {
            delivery::ReplayError::Db(e) => AppError::from(e),
            delivery::ReplayError::UnknownMerchant(_) => merchant_not_found(),
            delivery::ReplayError::EmptyRange => {
                AppError::BadRequest("until must be after since".to_owned())
            }
        })?;
    if queued > 0 {
        state.delivery_bell.notify_one();
    }
    Ok(JsonResponse(json!({"success": true, "queued": queued})).into_response())
}

/// What the test webhook reports: the receiver's status, headers and timing, never its body.
#[derive(Debug, Serialize)]
struct TestWebhookAnswer {
    success: bool,
    url: String,
    webhook_id: String,
    status_code: Option<u16>,
    ok: bool,
    duration_ms: u64,
    /// Response headers in the order received.
    headers: Vec<HeaderLine>,
    error: Option<String>,
}

/// One response header of the test webhook's answer.
#[derive(Debug, Serialize)]
struct HeaderLine {
    name: String,
    value: String,
}

/// `POST /dashboard/api/merchants/{id}/webhook/test`: signs and POSTs a `webhook.test` event to the
/// merchant's URL now, exactly as real webhooks are sent, and reports the receiver's status, headers and
/// timing. Never its body: with private targets allowed, any account could otherwise read internal
/// services through this button.
async fn test_webhook(
    State(state): State<AppState>,
    m: VisibleMerchant,
) -> Result<Response, AppError> {
    let Some(url) = m.detail.merchant.webhook_url.clone() else {
        return Err(AppError::BadRequest("Set a webhook URL first".to_owned()));
    };
    let now = state.now();
    let body = serde_json::to_vec(&json!({
        "event": "webhook.test",
        "data": {
            "merchant": m.detail.merchant.name,
            "message": "Test webhook from the webqris dashboard; no payment is involved.",
            "sent_at": now,
        }
    }))
    .map_err(AppError::internal)?;
    let client = delivery::http_client(&state.config.webhook).map_err(AppError::internal)?;
    let message_id = secret::message_id();
    let started = Instant::now();
    let sent = delivery::post_signed(
        &client,
        &url,
        &m.detail.webhook_secrets(now),
        &message_id,
        &body,
        &state.config.webhook,
        now,
    )
    .await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (status_code, headers, error) = match sent {
        Ok(response) => (Some(response.status), response.headers, None),
        Err(error) => (None, Vec::new(), Some(error)),
    };
    Ok(JsonResponse(TestWebhookAnswer {
        success: true,
        url,
        webhook_id: message_id,
        status_code,
        ok: status_code.is_some_and(|s| (200..300).contains(&s)),
        duration_ms,
        headers: headers
            .into_iter()
            .map(|(name, value)| HeaderLine { name, value })
            .collect(),
        error,
    })
    .into_response())
}

/// `POST /dashboard/api/merchants/{id}/callback-secret`: a new callback secret (the old one stops working
/// at once), shown once with the forwarder setup QR that carries it.
async fn rotate_callback_secret(
    State(state): State<AppState>,
    m: VisibleMerchant,
) -> Result<Response, AppError> {
    let issued = merchant::new_callback_secret();
    let (merchant, hash, prefix) = (m.id(), issued.hash.clone(), issued.display_prefix.clone());
    state
        .db
        .write(move |tx| tx.set_callback_secret(merchant, &hash, &prefix))
        .await?;
    let mut answer =
        callback_secret_json(&state, issued.plaintext.expose(), &m.detail.merchant.name)?;
    answer["success"] = json!(true);
    answer["callback_secret_prefix"] = json!(issued.display_prefix);
    Ok(JsonResponse(answer).into_response())
}

async fn devices(State(state): State<AppState>, m: VisibleMerchant) -> Result<Response, AppError> {
    let merchant = m.id();
    let rows = state.db.read(move |c| c.devices(merchant)).await?;
    let devices: Vec<Value> = rows.iter().map(|d| device_json(&state, d)).collect();
    Ok(JsonResponse(json!({
        "success": true,
        "devices": devices,
        "silence_alert_secs": state.config.forwarder.silence_alert_secs.duration().as_secs(),
    }))
    .into_response())
}

/// `GET /dashboard/api/devices`: every visible merchant's devices, for the silent-device alert.
async fn all_devices(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let (scope, now) = (viewer.scope(), state.now());
    let merchants = state
        .db
        .read(move |c| c.merchants_in_scope(scope, now))
        .await?;
    let mut devices = Vec::new();
    for row in merchants {
        let id: MerchantId = row.merchant.id;
        for d in state.db.read(move |c| c.devices(id)).await? {
            let mut value = device_json(&state, &d);
            value["merchant_id"] = json!(id.0);
            value["merchant_name"] = json!(row.merchant.name);
            devices.push(value);
        }
    }
    Ok(JsonResponse(json!({
        "success": true,
        "devices": devices,
        "silence_alert_secs": state.config.forwarder.silence_alert_secs.duration().as_secs(),
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_link_has_the_shape_the_forwarder_app_parses() {
        let link = setup_link(
            "https://pay.example.com/webqris",
            "wqcb_abc-_123",
            "Toko A&B",
        );
        assert_eq!(
            link,
            "webqris://setup?server=https%3A%2F%2Fpay.example.com%2Fwebqris&secret=wqcb_abc-_123&merchant=Toko+A%26B"
        );
        let parsed = reqwest::Url::parse(&link).expect("a URL");
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                (
                    "server".to_owned(),
                    "https://pay.example.com/webqris".to_owned()
                ),
                ("secret".to_owned(), "wqcb_abc-_123".to_owned()),
                ("merchant".to_owned(), "Toko A&B".to_owned()),
            ]
        );
    }
}
