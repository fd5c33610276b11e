//! The embedded front end: the payment page's template, script and style sheet. Everything is compiled
//! into the binary (`include_str!`), so nothing needs building or installing next to it. HTML goes out with a strict Content-Security-Policy (scripts and styles only
//! from this server, no inline code), so text a merchant or a phone controls can never run as script
//! even if it reached the page unescaped.

use axum::Router;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

/// The payment page's template (filled in by `page.rs`, every value HTML-escaped).
pub const PAY_HTML: &str = include_str!("../../assets/pay.html");
/// The payment page's script.
pub const PAY_JS: &str = include_str!("../../assets/pay.js");
/// The payment page's style sheet.
pub const PAY_CSS: &str = include_str!("../../assets/pay.css");

/// The Content-Security-Policy of every HTML page: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The routes of this file.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pay/assets/pay.js", get(|| asset(PAY_JS, JS)))
        .route("/pay/assets/pay.css", get(|| asset(PAY_CSS, CSS)))
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            // Small files; always revalidated so that an upgraded binary's assets are used at once.
            (CACHE_CONTROL, "no-cache"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// An HTML page with the security headers every page carries. `referrer` is the Referrer-Policy.
pub fn html_page(status: StatusCode, body: String, referrer: &'static str) -> Response {
    let headers: [(HeaderName, HeaderValue); 6] = [
        (
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (REFERRER_POLICY, HeaderValue::from_static(referrer)),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    (status, headers, body).into_response()
}
