//! Our JSON extractor: axum's `Json`, except that every rejection (malformed JSON, wrong field types,
//! missing fields, missing or wrong content type, an oversized body) becomes the contract's 400
//! `{"success":false,"message":…}` instead of a framework default (axum `examples/error-handling`).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A JSON request body of type `T`; any problem with it is a 400 in the contract's shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(AppError::BadRequest(describe(&rejection))),
        }
    }
}

/// A client-facing description of why the body was refused.
fn describe(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Content-Type must be application/json".to_owned()
        }
        JsonRejection::JsonSyntaxError(e) => format!("Malformed JSON: {}", strip(&e.body_text())),
        JsonRejection::JsonDataError(e) => {
            format!("Invalid request body: {}", strip(&e.body_text()))
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            "Request body is too large".to_owned()
        }
        other => format!("Cannot read the request body: {}", other.body_text()),
    }
}

/// axum prefixes serde's message with its own sentence; keep only the part that says what and where.
fn strip(text: &str) -> &str {
    text.split_once(": ").map_or(text, |(_, detail)| detail)
}
