//! The HTTP surface (the API, the dashboard, the public payment pages): one router per area, merged here with the layers every route shares (body limit,
//! panic catcher, tracing, the bounded log of refused requests) and the contract-shaped 404/405 fallbacks.

pub mod callback;
pub mod device;
pub mod docs;
pub mod events;
pub mod notify;
pub mod payment;
pub mod qr;
pub mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
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
        .route("/", get(home))
        .route("/healthz", get(healthz));
    with_layers(routes, max_body)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::logs::outcomes,
        ))
        .with_state(state)
}

/// The fallbacks and layers shared by every route: unknown routes 404 and wrong methods 405 in the
/// contract's shape, bodies over `max_body` bytes refused (our extractor turns that into a 400), panics
/// turned into a logged 500.
pub fn with_layers<S>(routes: Router<S>, max_body: usize) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panic_response))
        // Failed answers are logged, counted, by `logs::outcomes`; the trace layer's own line for each
        // 5xx would be one error line per refused request.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
}

/// The tracing span of a request: method and path only. The query is left out because `/ws/merchant` and
/// `/ws` carry their bearer token there, and logs must never hold credentials.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
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
        let app = with_layers(Router::new().route("/explode", get(explode)), 1024);
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
