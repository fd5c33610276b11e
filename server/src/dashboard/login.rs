//! Registering, logging in and out. Passwords are verified with argon2id off the executor, failed logins
//! are rate limited per login name and per client address (429 in the contract's error shape, with
//! `Retry-After`), and a successful login or registration starts a new session (never reuses one).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use webqris_core::{SecretString, Timestamp};

use super::limiter::LoginKey;
use super::session::{self, LoginCsrf, SetCookies, Viewer};
use crate::account::{self, AccountError};
use crate::db::Account;
use crate::error::AppError;
use crate::extract::Json;
use crate::logs;
use crate::secret::{self, BearerKind};
use crate::state::AppState;

/// The routes of this file.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/api/session", get(current))
        .route("/dashboard/api/register", post(register))
        .route("/dashboard/api/login", post(login))
        .route("/dashboard/api/logout", post(logout))
        .route("/dashboard/api/logout-all", post(logout_everywhere))
}

/// The client's address, when the server was started with connection info (it always is by `run`).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// An account as the dashboard shows it.
pub fn account_json(account: &Account) -> Value {
    json!({
        "id": account.id.0,
        "email": account.email,
        "is_operator": account.is_operator,
        "created_at": account.created_at,
    })
}

#[derive(Debug, Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

/// `GET /dashboard/api/session`: who is logged in, and the CSRF token the page must send. Before login
/// it sets the double-submit cookie login and registration are checked against.
async fn current(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let registration_open = state.config.dashboard.registration;
    if let Some(session) = session::from_cookie(&headers, &state).await? {
        return Ok(JsonResponse(json!({
            "success": true,
            "authenticated": true,
            "account": account_json(&session.account),
            "csrf_token": session.csrf_token,
            "registration_open": registration_open,
        }))
        .into_response());
    }
    let (token, cookies) = match session::cookie(&headers, session::CSRF_COOKIE) {
        Some(token) => (token.to_owned(), SetCookies::new()),
        None => {
            let token = secret::random_token();
            let cookies = SetCookies::new().login_csrf(&token, state.is_https());
            (token, cookies)
        }
    };
    Ok((
        cookies,
        JsonResponse(json!({
            "success": true,
            "authenticated": false,
            "account": null,
            "csrf_token": token,
            "registration_open": registration_open,
        })),
    )
        .into_response())
}

/// Starts a session for `account`: the cookie (only its hash is stored) and a fresh CSRF token.
async fn start_session(
    state: &AppState,
    account: &Account,
    status: StatusCode,
) -> Result<Response, AppError> {
    let issued = secret::issue(BearerKind::Session);
    let csrf_token = secret::random_token();
    let now = state.now();
    let ttl = state.config.dashboard.session_ttl_secs;
    let expires_at = Timestamp::from_millis(now.as_millis().saturating_add(ttl.millis()));
    let (id, hash, csrf) = (account.id, issued.hash.clone(), csrf_token.clone());
    state
        .db
        .write(move |tx| tx.insert_session(id, &hash, &csrf, now, expires_at))
        .await?;
    let cookies = SetCookies::new().session(
        issued.plaintext.expose(),
        ttl.duration().as_secs().max(1),
        state.is_https(),
    );
    Ok((
        status,
        cookies,
        JsonResponse(json!({
            "success": true,
            "account": account_json(account),
            "csrf_token": csrf_token,
            "expires_at": expires_at,
        })),
    )
        .into_response())
}

/// `POST /dashboard/api/register`: makes an account (the operator when it is the first) and logs it in.
async fn register(
    State(state): State<AppState>,
    _csrf: LoginCsrf,
    Json(request): Json<Credentials>,
) -> Result<Response, AppError> {
    if !state.config.dashboard.registration {
        return Err(AppError::Forbidden(
            "Registration is turned off on this server; ask its operator for an account".to_owned(),
        ));
    }
    let account = account::create(
        &state.db,
        &request.email,
        SecretString::new(request.password),
        state.now(),
    )
    .await
    .map_err(|e| match e {
        AccountError::Taken => AppError::Conflict(e.to_string()),
        AccountError::Hashing(_) | AccountError::Db(_) => AppError::internal(e),
        other => AppError::BadRequest(other.to_string()),
    })?;
    tracing::info!(
        account = account.id.0,
        operator = account.is_operator,
        "dashboard account registered"
    );
    start_session(&state, &account, StatusCode::CREATED).await
}

/// `POST /dashboard/api/login`.
async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    _csrf: LoginCsrf,
    Json(request): Json<Credentials>,
) -> Result<Response, AppError> {
    let email = account::normalise_email(&request.email).unwrap_or_else(|_| {
        request
            .email
            .trim()
            .to_lowercase()
            .chars()
            .take(account::MAX_EMAIL_CHARS)
            .collect()
    });
    let name_key = LoginKey::Email(email.clone());
    let mut keys = vec![name_key.clone()];
    keys.extend(address.map(LoginKey::Address));
    let now = state.now();
    if let Err(retry_after_secs) = state.login_limiter.check(&keys, now) {
        if state.repeats.first(logs::LOGIN_REFUSED) {
            tracing::warn!(
                kind = logs::LOGIN_REFUSED.name(),
                ?address,
                "login refused: too many failed attempts"
            );
        }
        return Err(AppError::TooManyRequests {
            message: format!("Too many failed logins; try again in {retry_after_secs} seconds"),
            retry_after_secs,
        });
    }
    let lookup = email.clone();
    let credentials = state.db.read(move |c| c.account_by_email(&lookup)).await?;
    let stored = credentials.as_ref().map(|c| c.password_hash.clone());
    let verified = request.password.chars().count() <= account::MAX_PASSWORD_CHARS
        && account::verify_password(SecretString::new(request.password), stored).await;
    match credentials {
        Some(credentials) if verified => {
            state.login_limiter.forget(&name_key);
            start_session(&state, &credentials.account, StatusCode::OK).await
        }
        _ => {
            state.login_limiter.record_failure(&keys, now);
            Err(AppError::Unauthorized("Wrong email or password".to_owned()))
        }
    }
}

/// `POST /dashboard/api/logout`: ends this session.
async fn logout(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let id = viewer.session_id;
    state.db.write(move |tx| tx.delete_session(id)).await?;
    state.session_ends.announce(viewer.account.id, Some(id));
    Ok((
        SetCookies::new().clear_session(state.is_https()),
        JsonResponse(json!({"success": true})),
    )
        .into_response())
}

/// `POST /dashboard/api/logout-all`: ends every session of the account, on every device.
async fn logout_everywhere(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let account = viewer.account.id;
    let ended = state
        .db
        .write(move |tx| tx.delete_sessions_of(account))
        .await?;
    state.session_ends.announce(account, None);
    Ok((
        SetCookies::new().clear_session(state.is_https()),
        JsonResponse(json!({"success": true, "sessions_ended": ended})),
    )
        .into_response())
}
