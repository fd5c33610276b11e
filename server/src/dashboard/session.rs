//! Dashboard sessions and CSRF protection, as extractors.
//!
//! A session is a random cookie (`webqris_session`: HttpOnly, SameSite=Lax, Secure when the public URL
//! is https) whose SHA-256 is stored with the account, a CSRF token and an absolute expiry measured on
//! the server's clock. [`Viewer`] admits a request with a live session and, for every method other than
//! GET/HEAD, demands the session's CSRF token in `X-CSRF-Token` (a page of another site can make the
//! browser send our cookie, but can neither read the token nor set that header without our consent).
//! Before login there is no session to bind a token to, so login and registration use a double-submit
//! token instead ([`LoginCsrf`]): a random `webqris_csrf` cookie (SameSite=Strict) that the page echoes
//! in the same header.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponseParts, ResponseParts};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use webqris_core::Timestamp;
use webqris_core::secret::constant_time_eq;

use crate::db::{Account, AccountId, Scope, SessionRow};
use crate::error::AppError;
use crate::secret;
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "webqris_session";
/// The pre-login CSRF cookie (double submit).
pub const CSRF_COOKIE: &str = "webqris_csrf";
/// The header every state-changing dashboard request carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The message of a refused CSRF check.
pub const CSRF_MESSAGE: &str = "Missing or invalid CSRF token: reload the page and try again";

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The live session of the request's cookie, if any (no CSRF check: for GET pages and sockets).
pub async fn from_cookie(
    headers: &HeaderMap,
    state: &AppState,
) -> Result<Option<SessionRow>, AppError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = secret::hash(token);
    let now = state.now();
    Ok(state.db.read(move |c| c.live_session(&hash, now)).await?)
}

/// Whether the request's `Origin` (when present) names the host it was sent to: a page of this server.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Non-browser clients send no Origin; browsers always do on WebSockets and cross-site requests.
        return true;
    };
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

fn safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn header_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A logged-in dashboard user, CSRF-checked for state-changing methods.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Whose session it is.
    pub account: Account,
    /// The session's row id (logout ends it).
    pub session_id: i64,
    /// The session's CSRF token.
    pub csrf_token: String,
}

impl Viewer {
    /// Which merchants this viewer may see.
    pub fn scope(&self) -> Scope {
        if self.account.is_operator {
            Scope::All
        } else {
            Scope::Owner(self.account.id)
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = from_cookie(&parts.headers, state).await?.ok_or_else(|| {
            AppError::Unauthorized("Not logged in (or the session has expired)".to_owned())
        })?;
        if !safe_method(&parts.method) {
            let sent = header_token(parts).unwrap_or_default();
            if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
                return Err(AppError::Forbidden(CSRF_MESSAGE.to_owned()));
            }
        }
        Ok(Self {
            account: session.account,
            session_id: session.id,
            csrf_token: session.csrf_token,
        })
    }
}

/// Sessions ended by logging out, announced to whatever was opened with them (live sockets), so that
/// "log out everywhere" ends those too. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SessionEnds(broadcast::Sender<Ended>);

/// One announcement: this session of the account, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// Whose sessions ended.
    pub account: AccountId,
    /// The one session that ended; `None`: every session of the account.
    pub session: Option<i64>,
}

impl Default for SessionEnds {
    fn default() -> Self {
        Self(broadcast::channel(64).0)
    }
}

impl SessionEnds {
    /// Announces that `session` (or, `None`, every session) of `account` has ended.
    pub fn announce(&self, account: AccountId, session: Option<i64>) {
        // No receiver just means no socket is open.
        let _ = self.0.send(Ended { account, session });
    }

    /// Resolves when `session` ends: logged out (here or everywhere) or expired. Missed announcements
    /// are made up for by asking the database.
    pub async fn until_over(&self, state: &crate::state::AppState, session: &SessionRow) {
        let mut ends = self.0.subscribe();
        let expires_in = |now: Timestamp| {
            Duration::from_millis(
                u64::try_from(session.expires_at.as_millis() - now.as_millis()).unwrap_or(0),
            )
        };
        loop {
            tokio::select! {
                () = tokio::time::sleep(expires_in(state.now())) => {
                    if state.now() >= session.expires_at {
                        return;
                    }
                }
                ended = ends.recv() => match ended {
                    Ok(e) if e.account == session.account.id
                        && e.session.is_none_or(|id| id == session.id) => return,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        let (id, now) = (session.id, state.now());
                        let live = state.db.read(move |c| c.session_is_live(id, now)).await;
                        if matches!(live, Ok(false)) {
                            return;
                        }
                    }
                    Err(RecvError::Closed) => std::future::pending::<()>().await,
                },
            }
        }
    }
}

/// Login and registration: the `X-CSRF-Token` header must equal the `webqris_csrf` cookie.
#[derive(Debug, Clone, Copy)]
pub struct LoginCsrf;

impl<S: Send + Sync> FromRequestParts<S> for LoginCsrf {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        match (cookie(&parts.headers, CSRF_COOKIE), header_token(parts)) {
            (Some(expected), Some(sent))
                if constant_time_eq(sent.as_bytes(), expected.as_bytes()) =>
            {
                Ok(Self)
            }
            _ => Err(AppError::Forbidden(CSRF_MESSAGE.to_owned())),
        }
    }
}

/// `Set-Cookie` headers to add to a response.
#[derive(Debug, Default)]
pub struct SetCookies(Vec<HeaderValue>);

impl SetCookies {
    /// No cookies yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, text: String) {
        match HeaderValue::from_str(&text) {
            Ok(value) => self.0.push(value),
            // Values are our own base64url tokens; this cannot happen.
            Err(e) => tracing::error!(error = %e, "cannot encode a cookie"),
        }
    }

    /// The session cookie, valid for `max_age_secs`.
    pub fn session(mut self, token: &str, max_age_secs: u64, secure: bool) -> Self {
        self.push(format!(
            "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{}",
            if secure { "; Secure" } else { "" }
        ));
        self
    }

    /// Removes the session cookie.
    pub fn clear_session(mut self, secure: bool) -> Self {
        self.push(format!(
            "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
            if secure { "; Secure" } else { "" }
        ));
        self
    }

    /// The pre-login CSRF cookie (readable by nobody but pages of this site, which get its value in
    /// the JSON of `GET /dashboard/api/session`).
    pub fn login_csrf(mut self, token: &str, secure: bool) -> Self {
        self.push(format!(
            "{CSRF_COOKIE}={token}; Path=/dashboard; HttpOnly; SameSite=Strict{}",
            if secure { "; Secure" } else { "" }
        ));
        self
    }
}

impl IntoResponseParts for SetCookies {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        for value in self.0 {
            res.headers_mut().append(SET_COOKIE, value);
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_several_headers_and_pairs() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; webqris_csrf=xyz"));
        headers.append(COOKIE, HeaderValue::from_static("webqris_session=abc"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, CSRF_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "webqris"), None);
    }

    #[test]
    fn only_our_own_origin_passes() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers), "no Origin: not a browser");
        headers.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers));
        headers.insert(ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&headers));
    }
}
