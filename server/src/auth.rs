//! Authentication as extractors, so handlers never repeat it: [`MerchantAuth`] (API token),
//! [`CallbackAuth`] (callback secret), [`MerchantSocketAuth`] (API token in `?token=`) and
//! [`OperatorAuth`] (operator token; the dashboard will add its session cookie here). Bearer secrets are
//! looked up by their SHA-256; a revoked or unknown secret is a 401 before any handler runs.

use axum::extract::{FromRequestParts, Query};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;

use crate::db::Merchant;
use crate::error::AppError;
use crate::secret;
use crate::state::AppState;

/// The header the simple notifier sends its callback secret in.
pub const CALLBACK_KEY_HEADER: &str = "x-callback-key";

/// The merchant whose API token authenticated the request (`Authorization: Bearer <API_TOKEN>`).
#[derive(Debug, Clone)]
pub struct MerchantAuth(pub Merchant);

/// The merchant whose callback secret authenticated the request (`Authorization: Bearer` or
/// `X-Callback-Key`).
#[derive(Debug, Clone)]
pub struct CallbackAuth(pub Merchant);

/// The merchant whose API token is in `?token=` (`/ws/merchant`; browsers cannot set headers on
/// WebSockets). A bearer header is accepted too.
#[derive(Debug, Clone)]
pub struct MerchantSocketAuth(pub Merchant);

/// An operator (`/ws`): an operator token in `?token=` or `Authorization: Bearer`.
#[derive(Debug, Clone, Copy)]
pub struct OperatorAuth;

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

async fn merchant_by_api_token(state: &AppState, token: &str) -> Result<Merchant, AppError> {
    let hash = secret::hash(token.trim());
    state
        .db
        .read(move |c| c.merchant_by_api_token(&hash))
        .await?
        .ok_or_else(|| AppError::Unauthorized("Invalid API token".to_owned()))
}

impl FromRequestParts<AppState> for MerchantAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            AppError::Unauthorized(
                "Missing API token: send Authorization: Bearer <API_TOKEN>".to_owned(),
            )
        })?;
        merchant_by_api_token(state, token).await.map(Self)
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
        merchant_by_api_token(state, &token).await.map(Self)
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
            .read(move |c| c.merchant_by_callback_secret(&hash))
            .await?
            .map(Self)
            .ok_or_else(|| AppError::Unauthorized("Invalid callback secret".to_owned()))
    }
}

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = query_token(parts)
            .or_else(|| bearer(&parts.headers).map(str::to_owned))
            .ok_or_else(|| {
                AppError::Unauthorized(
                    "Missing operator token: connect with ?token=<OPERATOR_TOKEN>".to_owned(),
                )
            })?;
        let hash = secret::hash(token.trim());
        if state
            .db
            .read(move |c| c.operator_token_exists(&hash))
            .await?
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
