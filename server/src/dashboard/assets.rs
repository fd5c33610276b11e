//! The embedded front end: the dashboard's single HTML page (served for every `/dashboard/…` path to
//! a logged-in user; anyone else is sent to `/dashboard/login`), its script and style sheet, and the
//! payment page's. Everything is compiled into the binary (`include_str!`), so nothing needs building or
//! installing next to it. HTML goes out with a strict Content-Security-Policy (scripts and styles only
//! from this server, no inline code), so text a merchant or a phone controls can never run as script
//! even if it reached the page unescaped.

use axum::Router;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::session;
use crate::error::AppError;
use crate::state::AppState;

/// The dashboard page (the same for every dashboard path; the script renders the view).
pub const DASHBOARD_HTML: &str = include_str!("../../assets/dashboard.html");
/// The dashboard's script.
pub const APP_JS: &str = include_str!("../../assets/app.js");
/// The dashboard's style sheet.
pub const APP_CSS: &str = include_str!("../../assets/app.css");
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
        .route("/dashboard", get(shell))
        .route("/dashboard/", get(shell))
        .route("/dashboard/login", get(login_page))
        .route("/dashboard/{*path}", get(shell))
        .route("/dashboard/assets/app.js", get(|| asset(APP_JS, JS)))
        .route("/dashboard/assets/app.css", get(|| asset(APP_CSS, CSS)))
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

async fn login_page() -> Response {
    html_page(StatusCode::OK, DASHBOARD_HTML.to_owned(), "same-origin")
}

/// Any other dashboard path: the page for a logged-in user, otherwise a redirect to the login page
/// (which comes back here afterwards). API and asset paths that reach this route do not exist.
async fn shell(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let path = uri.path();
    if path.starts_with("/dashboard/api/") || path.starts_with("/dashboard/assets/") {
        return Err(AppError::NotFound("Not found".to_owned()));
    }
    if session::from_cookie(&headers, &state).await?.is_some() {
        return Ok(html_page(
            StatusCode::OK,
            DASHBOARD_HTML.to_owned(),
            "same-origin",
        ));
    }
    let next: String = reqwest::Url::parse("http://localhost/dashboard/login")
        .map(|mut url| {
            url.query_pairs_mut().append_pair("next", path);
            format!("{}?{}", url.path(), url.query().unwrap_or_default())
        })
        .unwrap_or_else(|_| "/dashboard/login".to_owned());
    Ok((StatusCode::SEE_OTHER, [(LOCATION, next)]).into_response())
}
