//! Authentication as extractors, so handlers never repeat it: [`MerchantAuth`] (API token),
//! [`CallbackAuth`] (callback secret), [`MerchantSocketAuth`] (API token in `?token=`),
//! [`OperatorAuth`] (operator token, or a dashboard session cookie) and [`OperatorBearer`] (operator
//! token in the header only). Bearer secrets are looked up by their SHA-256; a revoked or unknown secret
//! is a 401 before any handler runs.

use axum::extract::{FromRequestParts, Query};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;

use webqris_core::Timestamp;

use crate::dashboard::session;
use crate::db::{Merchant, SessionRow};
use crate::error::AppError;
use crate::hub::Audience;
use crate::logs;
use crate::secret;
use crate::sockets::Credential;
use crate::state::AppState;

/// How stale an API token's `last_used_at` may get before a request refreshes it (so that API calls
/// do not each cost a database write).
const LAST_USED_PRECISION_MS: i64 = 60_000;

/// The header the simple notifier sends its callback secret in.
pub const CALLBACK_KEY_HEADER: &str = "x-callback-key";

/// The merchant whose API token authenticated the request (`Authorization: Bearer <API_TOKEN>`), and
/// that token.
#[derive(Debug, Clone)]
pub struct MerchantAuth(pub Merchant, pub ApiToken);

/// The API token a request authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiToken {
    /// Its row id (rate limits count per token).
    pub id: i64,
    /// A sandbox token: it creates test invoices and may simulate their payment.
    pub test: bool,
}

/// The merchant whose callback secret authenticated the request (`Authorization: Bearer` or
/// `X-Callback-Key`).
#[derive(Debug, Clone)]
pub struct CallbackAuth(pub Merchant);

/// The merchant whose API token is in `?token=` (`/ws/merchant`; browsers cannot set headers on
/// WebSockets), and that token's row id (revoking it closes the socket). A bearer header is accepted too.
#[derive(Debug, Clone)]
pub struct MerchantSocketAuth {
    /// The token's merchant.
    pub merchant: Merchant,
    /// The token's row id.
    pub token_id: i64,
}

/// Who may watch `/ws`, and what they see: an operator token in `?token=` or `Authorization: Bearer`
/// (every merchant), or a dashboard session cookie from a page of this server (the operator account:
/// every merchant; another account: the merchants it owns).
#[derive(Debug, Clone)]
pub struct OperatorAuth {
    /// What the socket may see.
    pub audience: Audience,
    /// The dashboard session it was opened with (the socket ends with it); `None` for a token.
    pub session: Option<SessionRow>,
    /// What authorised it.
    pub credential: Credential,
}

/// A request carrying an operator token in `Authorization: Bearer` (`/metrics`). Only the header: a
/// scraper can always set it, and a token in the query would end up in proxies' access logs.
#[derive(Debug, Clone, Copy)]
pub struct OperatorBearer;

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn query_token(parts: &Parts) -> Option<String> {
    Query::<TokenQuery>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|Query(q)| q.token)
        .filter(|t| !t.trim().is_empty())
}

async fn merchant_by_api_token(
    state: &AppState,
    token: &str,
) -> Result<(Merchant, ApiToken), AppError> {
    let hash = secret::hash(token.trim());
    let lookup = hash.clone();
    let (merchant, token) = state
        .db
        .lookup(move |c| c.merchant_by_api_token_with_use(&lookup))
        .await?
        .ok_or_else(|| AppError::Unauthorized("Invalid API token".to_owned()))?;
    let now = state.now();
    if token
        .last_used_at
        .is_none_or(|at| now.as_millis() - at.as_millis() >= LAST_USED_PRECISION_MS)
    {
        note_token_use(state, hash, now);
    }
    Ok((
        merchant,
        ApiToken {
            id: token.id,
            test: token.test,
        },
    ))
}

/// Records when an API token was used, without holding up the request (the dashboard shows it).
fn note_token_use(state: &AppState, hash: String, now: Timestamp) {
    let (db, repeats) = (state.db.clone(), state.repeats.clone());
    tokio::spawn(async move {
        if let Err(e) = db.write(move |tx| tx.note_api_token_use(&hash, now)).await
            && repeats.first(logs::TOKEN_USE_NOT_RECORDED)
        {
            tracing::warn!(kind = logs::TOKEN_USE_NOT_RECORDED.name(), error = %e, "cannot record an API token's last use");
        }
    });
}

impl FromRequestParts<AppState> for MerchantAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            AppError::Unauthorized(
                "Missing API token: send Authorization: Bearer <API_TOKEN>".to_owned(),
            )
        })?;
        merchant_by_api_token(state, token)
            .await
            .map(|(merchant, token)| Self(merchant, token))
    }
}

impl FromRequestParts<AppState> for MerchantSocketAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = query_token(parts)
            .or_else(|| bearer(&parts.headers).map(str::to_owned))
            .ok_or_else(|| {
                AppError::Unauthorized(
                    "Missing API token: connect with ?token=<API_TOKEN>".to_owned(),
                )
            })?;
        let (merchant, token) = merchant_by_api_token(state, &token).await?;
        Ok(Self {
            merchant,
            token_id: token.id,
        })
    }
}

impl FromRequestParts<AppState> for CallbackAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let from_key_header = parts
            .headers
            .get(CALLBACK_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let secret = bearer(&parts.headers)
            .or(from_key_header)
            .ok_or_else(|| {
                AppError::Unauthorized(
                    "Missing callback secret: send Authorization: Bearer <CALLBACK_SECRET> or X-Callback-Key"
                        .to_owned(),
                )
            })?;
        let hash = secret::hash(secret);
        state
            .db
            .lookup(move |c| c.merchant_by_callback_secret(&hash))
            .await?
            .map(Self)
            .ok_or_else(|| AppError::Unauthorized("Invalid callback secret".to_owned()))
    }
}

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = query_token(parts).or_else(|| bearer(&parts.headers).map(str::to_owned));
        let Some(token) = token else {
            return match session::from_cookie(&parts.headers, state).await? {
                // Browsers send Origin on every WebSocket handshake; a page of another site may open a
                // socket here with our cookie attached, so only our own pages are let in.
                Some(_) if !session::same_origin(&parts.headers) => Err(AppError::Forbidden(
                    "WebSocket from another site refused".to_owned(),
                )),
                Some(session) => Ok(Self {
                    audience: if session.account.is_operator {
                        Audience::Operator
                    } else {
                        Audience::Account(session.account.id)
                    },
                    credential: Credential::Session(session.id),
                    session: Some(session),
                }),
                None => Err(AppError::Unauthorized(
                    "Missing operator token: connect with ?token=<OPERATOR_TOKEN> or log in to the dashboard"
                        .to_owned(),
                )),
            };
        };
        let hash = secret::hash(token.trim());
        match state.db.lookup(move |c| c.operator_token_id(&hash)).await? {
            Some(id) => Ok(Self {
                audience: Audience::Operator,
                session: None,
                credential: Credential::OperatorToken(id),
            }),
            None => Err(AppError::Unauthorized("Invalid operator token".to_owned())),
        }
    }
}

impl FromRequestParts<AppState> for OperatorBearer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            AppError::Unauthorized(
                "Missing operator token: send Authorization: Bearer <OPERATOR_TOKEN>".to_owned(),
            )
        })?;
        let hash = secret::hash(token);
        if state
            .db
            .lookup(move |c| c.operator_token_id(&hash))
            .await?
            .is_some()
        {
            Ok(Self)
        } else {
            Err(AppError::Unauthorized("Invalid operator token".to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_blank_ones_refused() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer wqk_abc"));
        assert_eq!(bearer(&headers), Some("wqk_abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer   wqk_abc "));
        assert_eq!(bearer(&headers), Some("wqk_abc"));
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwdw=="),
        );
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&headers), None);
    }
}
