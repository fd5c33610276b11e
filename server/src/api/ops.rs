//! What operators' tools call: `GET /metrics` (Prometheus; the operator token unless `metrics.public`)
//! and `GET /readyz` (the readiness probe). `GET /healthz`, the liveness probe, stays in `api`.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::prometheus_text;
use serde::Serialize;
use webqris_core::Timestamp;

use crate::auth::OperatorBearer;
use crate::error::AppError;
use crate::readiness;
use crate::state::AppState;

/// The operators' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/readyz", get(readyz))
}

/// `GET /metrics`: every metric in the Prometheus text format 0.0.4.
async fn metrics(
    State(state): State<AppState>,
    auth: Result<OperatorBearer, AppError>,
) -> Result<Response, AppError> {
    if !state.config.metrics.public
        && let Err(refused) = auth
    {
        let mut response = refused.into_response();
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, "Bearer".parse().expect("a valid header"));
        return Ok(response);
    }
    let now = state.now();
    let silent_before = Timestamp::from_millis(
        now.as_millis()
            .saturating_sub(state.config.forwarder.silence_alert_secs.millis()),
    );
    let snapshot = state
        .db
        .read(move |c| c.ops_snapshot(now, silent_before))
        .await?;
    Ok((
        [
            (CONTENT_TYPE, prometheus_text::CONTENT_TYPE),
            (CACHE_CONTROL, "no-store"),
        ],
        state.metrics.render(&snapshot),
    )
        .into_response())
}

/// The readiness answer: the contract's `success` (with a `message` when not ready) and what was found.
#[derive(Debug, Serialize)]
struct ReadyBody {
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    status: &'static str,
    database: &'static str,
    workers: BTreeMap<&'static str, &'static str>,
}

/// `GET /readyz`: 200 when the database accepts a write and every worker runs, else 503 saying which.
async fn readyz(State(state): State<AppState>) -> Response {
    let found = readiness::check(&state).await;
    let ready = found.is_ready();
    let stopped: Vec<&str> = found
        .workers
        .iter()
        .filter(|(_, running)| !running)
        .map(|(name, _)| *name)
        .collect();
    let message = (!ready).then(|| {
        let mut reasons = Vec::new();
        if !found.database {
            reasons.push("the database does not accept writes".to_owned());
        }
        if !stopped.is_empty() {
            reasons.push(format!("stopped: {}", stopped.join(", ")));
        }
        format!("Not ready: {}", reasons.join("; "))
    });
    let body = ReadyBody {
        success: ready,
        message,
        status: if ready { "ready" } else { "not_ready" },
        database: if found.database { "ok" } else { "failing" },
        workers: found
            .workers
            .iter()
            .map(|(name, running)| (*name, if *running { "running" } else { "stopped" }))
            .collect(),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}
