//! Our JSON extractor: every way a body can be wrong (missing or wrong content type, a body over the
//! limit, malformed JSON, not an object, wrong field types, missing fields) becomes the contract's 400
//! `{"success":false,"message":…}` instead of a framework default (axum `examples/error-handling`).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A JSON object request body of type `T`; any problem with it is a 400 in the contract's shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(AppError::BadRequest(
                "Content-Type must be application/json".to_owned(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(describe_bytes(&e)))?;
        // serde would read a struct from a JSON array too; the contract's bodies are objects.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(AppError::BadRequest(
                "Invalid request body: expected a JSON object".to_owned(),
            ));
        }
        axum::Json::<T>::from_bytes(&bytes)
            .map(|axum::Json(value)| Self(value))
            .map_err(|e| AppError::BadRequest(describe(&e)))
    }
}

/// Like [`Json`], for a body whose every field is optional: a request without a body (and without a
/// `Content-Type`) is `T::default()`; any body there is must be what [`Json`] accepts.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.headers().contains_key(CONTENT_TYPE) {
            return Json::from_request(req, state)
                .await
                .map(|Json(value)| Self(value));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(describe_bytes(&e)))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            Ok(Self(T::default()))
        } else {
            Err(AppError::BadRequest(
                "Content-Type must be application/json".to_owned(),
            ))
        }
    }
}

/// `application/json`, with parameters, or any `application/*+json`.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn describe_bytes(rejection: &BytesRejection) -> String {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        "Request body is too large".to_owned()
    } else {
        format!("Cannot read the request body: {}", rejection.body_text())
    }
}

/// A client-facing description of why the JSON was refused.
fn describe(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::JsonSyntaxError(e) => format!("Malformed JSON: {}", strip(&e.body_text())),
        JsonRejection::JsonDataError(e) => {
            format!("Invalid request body: {}", strip(&e.body_text()))
        }
        other => format!("Invalid request body: {}", other.body_text()),
    }
}

/// axum prefixes serde's message with its own sentence; keep only the part that says what and where.
fn strip(text: &str) -> &str {
    text.split_once(": ").map_or(text, |(_, detail)| detail)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        for (value, json) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/vnd.api+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("text/json+html", false),
        ] {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_json(&headers), json, "{value}");
        }
    }
}
