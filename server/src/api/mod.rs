//! The HTTP surface: one router per area, merged here with the layers every route shares (body limit,
//! panic catcher, tracing) and the contract-shaped 404/405 fallbacks.

pub mod callback;
pub mod device;
pub mod notify;
pub mod payment;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

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
        .route("/healthz", get(healthz));
    with_layers(routes, max_body).with_state(state)
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
        .layer(TraceLayer::new_for_http())
}

/// `GET /healthz`: answers without touching the database (the benchmark's baseline).
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"success": true, "status": "ok"}))
}
