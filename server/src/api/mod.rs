//! The HTTP surface (the API, the dashboard, the public payment pages, the operators' probes and
//! metrics): one router per area, merged here with the layers every route shares (request ids, tracing,
//! the bounded log of refused requests, HTTP metrics, panic catcher, body limit) and the contract-shaped
//! 404/405 fallbacks.

pub mod callback;
pub mod device;
pub mod docs;
pub mod events;
pub mod notify;
pub mod ops;
pub mod payment;
pub mod qr;
pub mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use tower::util::MapRequestLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use crate::error::{method_not_allowed, panic_response, route_not_found};
use crate::state::AppState;

/// Every route of the server, ready to serve.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let routes = Router::new()
        .merge(payment::router())
        .merge(notify::router())
        .merge(callback::router())
        .merge(device::router())
        .merge(ws::router())
        .merge(qr::router())
        .merge(docs::router())
        .merge(events::router())
        .merge(crate::dashboard::router(
            state.config.dashboard.max_upload_bytes,
        ))
        .merge(crate::page::router())
        .merge(ops::router())
        .route("/", get(home))
        .route("/healthz", get(healthz));
    with_layers(routes, max_body, |routes| {
        routes
            .layer(axum::middleware::from_fn_with_state(
                state.metrics.clone(),
                crate::metrics::track_http,
            ))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                crate::logs::outcomes,
            ))
    })
    .with_state(state)
}

/// The header that carries a request's id, in the request (from a proxy, or set here) and in every
/// answer.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a client or proxy.
const MAX_REQUEST_ID: usize = 128;

/// Keeps a request id a proxy (or client) sent only when it is short and plain (letters, digits,
/// `-_.:`); anything else is replaced by a fresh one, so ids stay greppable in logs.
fn drop_unusable_request_id<B>(mut request: Request<B>) -> Request<B> {
    let usable = request.headers().get(&REQUEST_ID).is_none_or(|id| {
        let id = id.as_bytes();
        !id.is_empty()
            && id.len() <= MAX_REQUEST_ID
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if !usable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The fallbacks and layers shared by every route: unknown routes 404 and wrong methods 405 in the
/// contract's shape, bodies over `max_body` bytes refused (our extractor turns that into a 400), panics
/// turned into a 500, `around` (the layers that count and log answers: they see the panic catcher's
/// 500s, and run inside the request's span, so their lines carry its id), and every request given an id
/// (`x-request-id`: a proxy's when usable, else a new UUID) that its log lines carry and its answer,
/// errors included, repeats.
pub fn with_layers<S>(
    routes: Router<S>,
    max_body: usize,
    around: impl FnOnce(Router<S>) -> Router<S>,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let caught = routes
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panic_response));
    around(caught)
        // Failed answers are logged, counted, by `logs::outcomes`; the trace layer's own line for each
        // 5xx would be one error line per refused request.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(MapRequestLayer::new(drop_unusable_request_id))
}

/// The tracing span of a request: its id, method and path. The query is left out because `/ws/merchant`
/// and `/ws` carry their bearer token there, and logs must never hold credentials. At `info`, so that the
/// id is on every line a request logs at the default level.
fn request_span(request: &Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
}

/// `GET /`: a person opening the server's address in a browser lands on the dashboard.
async fn home() -> axum::response::Redirect {
    axum::response::Redirect::to("/dashboard")
}

/// `GET /healthz`: answers without touching the database (the benchmark's baseline).
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"success": true, "status": "ok"}))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_contract_shape() {
        async fn explode() -> &'static str {
            panic!("handler bug")
        }
        let app = with_layers(Router::new().route("/explode", get(explode)), 1024, |r| r);
        let response = app
            .oneshot(
                Request::get("/explode")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("a response, not a dropped connection");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            json,
            serde_json::json!({"success": false, "message": "Internal server error"})
        );
    }
}
