//! Registering, logging in and out. Passwords are verified with argon2id off the executor, failed logins
//! are rate limited per login name and per client address (429 in the contract's error shape, with
//! `Retry-After`), and a successful login or registration starts a new session (never reuses one).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use webqris_core::{SecretString, Timestamp};

use super::limiter::{Attempt, LoginKey, Refused};
use super::session::{self, LoginCsrf, SetCookies, Viewer};
use crate::account::{self, AccountError};
use crate::bootstrap;
use crate::connection::ClientIp;
use crate::db::{Account, NewAccountError, NewAccountRole};
use crate::error::AppError;
use crate::extract::Json;
use crate::logs;
use crate::password::HashError;
use crate::secret::{self, BearerKind};
use crate::state::AppState;

/// The routes of this file.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/api/session", get(current))
        .route("/dashboard/api/register", post(register))
        .route("/dashboard/api/invites", post(invite))
        .route("/dashboard/api/login", post(login))
        .route("/dashboard/api/logout", post(logout))
        .route("/dashboard/api/logout-all", post(logout_everywhere))
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

/// A registration: open (when the server allows it), with the one-time setup token (the operator), or
/// with an invite.
#[derive(Debug, Deserialize)]
struct Registration {
    email: String,
    password: String,
    setup_token: Option<String>,
    invite: Option<String>,
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

/// Counts an attempt of `keys` (429 "`too_many`; try again in N seconds" when one is used up), after
/// making sure a hashing slot is free (503 otherwise, and nothing is counted: no password was tried).
async fn begin_attempt(
    state: &AppState,
    keys: &[LoginKey],
    too_many: &str,
) -> Result<Attempt, AppError> {
    if !state.passwords.has_room() {
        return Err(HashError::Busy.into());
    }
    match state.login_limiter.begin(keys, state.now()).await {
        Ok(attempt) => Ok(attempt),
        Err(Refused::TooMany(retry_after_secs)) => {
            if state.repeats.first(logs::LOGIN_REFUSED) {
                tracing::warn!(
                    kind = logs::LOGIN_REFUSED.name(),
                    "{too_many}: attempt refused"
                );
            }
            Err(AppError::TooManyRequests {
                message: format!("{too_many}; try again in {retry_after_secs} seconds"),
                retry_after_secs,
            })
        }
        Err(Refused::Db(e)) => Err(e.into()),
    }
}

/// `POST /dashboard/api/register`: makes an account and logs it in: the operator with the setup token
/// the server printed, an ordinary account with an invite, or (when `dashboard.registration` is on)
/// without either.
async fn register(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    _csrf: LoginCsrf,
    Json(request): Json<Registration>,
) -> Result<Response, AppError> {
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let role = match (present(&request.setup_token), present(&request.invite)) {
        (Some(token), _) => {
            if !state.bootstrap.accepts(&token) {
                return Err(AppError::Forbidden(
                    "This setup link is not valid: the server is set up already, or it was restarted and printed a new link".to_owned(),
                ));
            }
            NewAccountRole::FirstOperator
        }
        (None, Some(invite)) => NewAccountRole::Invited {
            invite_hash: secret::hash(&invite),
        },
        (None, None) if state.config.dashboard.registration => NewAccountRole::Member,
        (None, None) => {
            return Err(AppError::Forbidden(
                "Registration is turned off on this server; ask its operator for an invite"
                    .to_owned(),
            ));
        }
    };
    let email = account::normalise_email(&request.email)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let keys = [
        LoginKey::NewEmail(email.clone()),
        LoginKey::RegisteringAddress(address),
    ];
    let attempt = begin_attempt(&state, &keys, "Too many registrations").await?;
    let created = account::create(
        &state.db,
        &state.passwords,
        &email,
        SecretString::new(request.password),
        role,
        state.now(),
    )
    .await;
    let account = match created {
        Ok(account) => account,
        Err(e) => {
            if matches!(e, AccountError::Hashing(HashError::Busy)) {
                // No password was hashed: this attempt was no guess.
                state.login_limiter.give_back(attempt).await?;
            }
            return Err(account_error(e));
        }
    };
    if account.is_operator {
        state.bootstrap.finish();
    }
    tracing::info!(
        account = account.id.0,
        operator = account.is_operator,
        "dashboard account registered"
    );
    start_session(&state, &account, StatusCode::CREATED).await
}

/// `POST /dashboard/api/invites` (operator only): a one-time link that makes one ordinary account,
/// valid for `dashboard.invite_ttl_secs`.
async fn invite(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    if !viewer.account.is_operator {
        return Err(AppError::Forbidden(
            "Only the operator can invite accounts".to_owned(),
        ));
    }
    let token = secret::random_token();
    let now = state.now();
    let expires_at = Timestamp::from_millis(
        now.as_millis()
            .saturating_add(state.config.dashboard.invite_ttl_secs.millis()),
    );
    let (hash, by) = (secret::hash(&token), viewer.account.id);
    state
        .db
        .write(move |tx| tx.insert_invite(&hash, by, now, expires_at))
        .await?;
    Ok((
        StatusCode::CREATED,
        JsonResponse(json!({
            "success": true,
            "invite_link": bootstrap::invite_link(&state.public_url, &token),
            "expires_at": expires_at,
        })),
    )
        .into_response())
}

/// How the dashboard answers an account that could not be made.
pub fn account_error(e: AccountError) -> AppError {
    match e {
        AccountError::Refused(NewAccountError::Taken | NewAccountError::AlreadySetUp) => {
            AppError::Conflict(e.to_string())
        }
        AccountError::Refused(NewAccountError::BadInvite) => AppError::Forbidden(e.to_string()),
        AccountError::Hashing(e) => AppError::from(e),
        AccountError::Refused(NewAccountError::Db(e)) | AccountError::Db(e) => AppError::from(e),
        other => AppError::BadRequest(other.to_string()),
    }
}

/// `POST /dashboard/api/login`.
async fn login(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
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
    let keys = [name_key.clone(), LoginKey::Address(address)];
    let attempt = begin_attempt(&state, &keys, "Too many failed logins").await?;
    let lookup = email.clone();
    let credentials = state.db.read(move |c| c.account_by_email(&lookup)).await?;
    let stored = credentials.as_ref().map(|c| c.password_hash.clone());
    let verified = if request.password.chars().count() <= account::MAX_PASSWORD_CHARS {
        match state
            .passwords
            .verify(SecretString::new(request.password), stored)
            .await
        {
            Ok(verified) => verified,
            Err(e) => {
                // Nothing was checked: this attempt was no guess.
                state.login_limiter.give_back(attempt).await?;
                return Err(e.into());
            }
        }
    } else {
        false
    };
    match credentials {
        Some(credentials) if verified => {
            state.login_limiter.succeeded(attempt, &name_key).await?;
            start_session(&state, &credentials.account, StatusCode::OK).await
        }
        _ => Err(AppError::Unauthorized("Wrong email or password".to_owned())),
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
