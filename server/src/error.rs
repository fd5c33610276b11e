//! The one error type of the HTTP layer. It renders the contract's `{"success":false,"message":…}` shape
//! with the contract's status codes; internal errors are never shown to clients. The log is written by
//! [`crate::logs::outcomes`] from what the response carries ([`Refusal`], [`Fault`]), so that a flood of
//! refused requests writes a bounded amount of it.

use std::any::Any;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use webqris_core::wire::ErrorBody;

use crate::db::DbError;
use crate::logs::{Fault, Refusal};

/// What a request could not do, mapped to the status codes of api.md.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: a bad or missing parameter, malformed JSON, wrong content type, an oversized body.
    #[error("{0}")]
    BadRequest(String),
    /// 401: a missing, unknown or revoked credential.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: no such route or no such invoice (for this merchant).
    #[error("{0}")]
    NotFound(String),
    /// 403: a credential is valid but the action is not allowed (a missing CSRF token, registration
    /// turned off).
    #[error("{0}")]
    Forbidden(String),
    /// 405: the route exists, the method does not.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// 409: the action conflicts with the current state (deleting a merchant with pending payments,
    /// confirming a paid invoice).
    #[error("{0}")]
    Conflict(String),
    /// 429: too many attempts (failed logins); the client may try again after `retry_after_secs`.
    #[error("{message}")]
    TooManyRequests {
        /// What to tell the client.
        message: String,
        /// Seconds until an attempt is accepted again (sent as `Retry-After`).
        retry_after_secs: u64,
    },
    /// 503: the merchant has no QRIS, or no unique code is free.
    #[error("{0}")]
    Unavailable(String),
    /// 503: the server is at a configured limit right now (password hashing, the write queue,
    /// connections); the client may try again after `retry_after_secs`.
    #[error("{message}")]
    Overloaded {
        /// What to tell the client.
        message: String,
        /// Seconds to wait (sent as `Retry-After`).
        retry_after_secs: u64,
    },
    /// 500: a fault of ours. The detail is logged, the client sees a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The message clients see for any internal error.
pub const INTERNAL_MESSAGE: &str = "Internal server error";

impl AppError {
    /// An internal error with context for the log.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            Self::TooManyRequests {
                retry_after_secs, ..
            }
            | Self::Overloaded {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let (message, fault) = match self {
            Self::Internal(detail) => (INTERNAL_MESSAGE.to_owned(), Some(detail)),
            other => (other.to_string(), None),
        };
        let mut response = (status, Json(ErrorBody::new(message.clone()))).into_response();
        let extensions = response.extensions_mut();
        match fault {
            Some(detail) => {
                extensions.insert(Fault(detail));
            }
            None => {
                extensions.insert(Refusal(message));
            }
        }
        if let Some(secs) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        response
    }
}

impl From<crate::password::HashError> for AppError {
    fn from(e: crate::password::HashError) -> Self {
        match e {
            crate::password::HashError::Busy => Self::Overloaded {
                message: e.to_string(),
                retry_after_secs: 1,
            },
            crate::password::HashError::Failed(_) => Self::internal(e),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Busy => Self::Overloaded {
                message: e.to_string(),
                retry_after_secs: 1,
            },
            other => Self::Internal(format!("database: {other}")),
        }
    }
}

/// The 500 answer for a handler that panicked (tower-http `CatchPanicLayer`): logged, never leaked.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic payload)");
    let mut response = (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(ErrorBody::new(INTERNAL_MESSAGE)),
    )
        .into_response();
    response
        .extensions_mut()
        .insert(Fault(format!("request handler panicked: {detail}")));
    response
}

/// 404 for unknown routes, in the contract's shape (never a framework page).
pub async fn route_not_found() -> AppError {
    AppError::NotFound("Not found".to_owned())
}

/// 405 for a known route with an unsupported method.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
