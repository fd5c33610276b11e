//! Talking to the server: the requests the forwarder makes and what each answer means for the outbox.
//!
//! The classification follows the contract of `POST /api/webhook/payment` (api.md):
//! - 2xx, including the "Duplicate notification" answer, completes an item; so do 404/422 (the server's
//!   verdict on the content: no matching invoice, no amount, not a trusted payment) and any other 4xx
//!   (a refusal a retry cannot change): recorded, never retried;
//! - 401, 403 and 3xx are *refusals* of the forwarder itself (secret, proxy, URL): no item's fault, the
//!   whole queue waits on the refusal schedule and the state is shown as an error;
//! - 408, 429, 5xx, a timeout or a broken answer are the *item's* failed attempt: it is retried on its
//!   own schedule (honouring `Retry-After`) while the others go on;
//! - no connection at all (refused, DNS, TLS) is *unreachable*: the whole queue waits, no item charged.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use url::Url;
use webqris_core::wire::{self, NotificationRequest};

use webqris_core::Timestamp;

use crate::backoff::parse_retry_after;
use crate::config::Settings;
use crate::error::Error;
use crate::http;

/// `User-Agent` of the forwarder's requests.
pub const USER_AGENT: &str = concat!("webqris-forwarder/", env!("CARGO_PKG_VERSION"));
/// Path of the notification endpoint, relative to the server's base URL.
pub const NOTIFICATION_PATH: &str = "api/webhook/payment";
/// Path of the heartbeat endpoint, relative to the server's base URL.
pub const HEARTBEAT_PATH: &str = "api/forwarder/heartbeat";
/// Longest server answer read (the contract's answers are a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What one attempt to deliver came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The server gave its final answer: the item leaves the outbox.
    Answered {
        /// Status code.
        status: u16,
        /// The answer's `message` or a summary of it.
        message: Option<String>,
        /// The invoice marked paid.
        invoice_id: Option<String>,
    },
    /// This item failed (server error, timeout): retry it on its own schedule.
    Failed {
        /// Status code, when the server answered at all.
        status: Option<u16>,
        /// What went wrong.
        error: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The server (or a proxy in front of it) refused the forwarder: the whole queue waits.
    Refused {
        /// Status code.
        status: u16,
        /// What to tell the user.
        error: String,
    },
    /// No connection to the server at all: the whole queue waits.
    Unreachable {
        /// What failed.
        error: String,
    },
}

/// The answer fields the forwarder reads (every answer of the endpoint has this shape or a subset).
#[derive(Debug, Default, Deserialize)]
struct AnswerBody {
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    invoice_id: Option<String>,
    #[serde(default)]
    parsed_amount: Option<Value>,
}

/// A base URL made ready for joining endpoint paths: it must be http(s) with a host; a trailing `/` is
/// added so that a server under a path prefix (`https://host/webqris`) keeps its prefix.
pub fn base_url(server: &str) -> Result<Url, String> {
    let trimmed = server.trim();
    let mut url = Url::parse(trimmed).map_err(|e| format!("server URL {trimmed:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "server URL {trimmed:?}: expected http:// or https:// with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "server URL {trimmed:?}: a base URL has no query or fragment"
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `base` joined with an endpoint path.
pub fn endpoint(base: &Url, path: &str) -> Url {
    // Joining a relative path without `..` onto a base ending in `/` cannot fail.
    base.join(path).unwrap_or_else(|_| base.clone())
}

/// The HTTP client: rustls (ring provider, platform verifier), no redirects (a redirected POST would
/// silently become a GET), bounded timeouts.
pub fn client(timeout: Duration) -> Result<http::Client, String> {
    crate::tls::install_crypto_provider();
    http::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(http::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(15)))
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Posts one notification and classifies the answer.
pub async fn post_notification(
    client: &http::Client,
    url: &Url,
    secret: &str,
    body: &NotificationRequest,
    now_ms: i64,
) -> Attempt {
    let response = match client
        .post(url.clone())
        .bearer_auth(secret)
        .json(body)
        .send()
        .await
    {
        Ok(response) => response,
        Err(e) if e.is_connect() => {
            return Attempt::Unreachable {
                error: describe_send_error(&e),
            };
        }
        Err(e) => {
            return Attempt::Failed {
                status: None,
                error: describe_send_error(&e),
                retry_after: None,
            };
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now_ms));
    let location = response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = read_limited(response).await;
    classify(status, &text, retry_after, location.as_deref())
}

/// What an answer means (pure, for tests).
pub fn classify(
    status: u16,
    text: &str,
    retry_after: Option<Duration>,
    location: Option<&str>,
) -> Attempt {
    // A JSON answer is read for its fields; anything else (a proxy's HTML page) is summarised.
    let (body, message) = match serde_json::from_str::<AnswerBody>(text) {
        Ok(body) => {
            let message = body.message.clone();
            (body, message)
        }
        Err(_) => (AnswerBody::default(), summary(text)),
    };
    match status {
        200..=299 => {
            let message = if body.success == Some(false)
                && body.message.as_deref() == Some(wire::DUPLICATE_MESSAGE)
            {
                Some(wire::DUPLICATE_MESSAGE.to_owned())
            } else {
                message
            };
            Attempt::Answered {
                status,
                message,
                invoice_id: body.invoice_id,
            }
        }
        300..=399 => Attempt::Refused {
            status,
            error: format!(
                "the server redirects (HTTP {status}) to {}: set the right address as the server URL",
                location
                    .map(summary_line)
                    .unwrap_or_else(|| "another address".into())
            ),
        },
        401 | 403 => Attempt::Refused {
            status,
            error: refusal(status, message),
        },
        404 | 422 => {
            let message = match (message, body.parsed_amount) {
                (Some(m), Some(amount)) => Some(format!("{m} (parsed_amount {amount})")),
                (m, _) => m,
            };
            Attempt::Answered {
                status,
                message,
                invoice_id: None,
            }
        }
        408 | 429 | 500..=599 => Attempt::Failed {
            status: Some(status),
            error: format!(
                "server answered HTTP {status}{}",
                message.map(|m| format!(": {m}")).unwrap_or_default()
            ),
            retry_after,
        },
        _ => Attempt::Answered {
            status,
            message: Some(format!(
                "refused (HTTP {status}){}",
                message.map(|m| format!(": {m}")).unwrap_or_default()
            )),
            invoice_id: None,
        },
    }
}

/// What a 401 or 403 means, in words a merchant can act on.
fn refusal(status: u16, message: Option<String>) -> String {
    let said = message.map(|m| format!(": {m}")).unwrap_or_default();
    if status == 401 {
        format!("the server refused the callback secret (HTTP 401){said}")
    } else {
        format!("the server or a proxy in front of it refused the request (HTTP {status}){said}")
    }
}

/// A non-JSON answer for the log: an HTML page's `<title>` (a proxy's or firewall's error page), else its
/// first line; shortened either way.
fn summary(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let title = lower.find("<title").and_then(|open| {
        let start = open + lower[open..].find('>')? + 1;
        let end = start + lower[start..].find("</title")?;
        text.get(start..end)
    });
    let line = title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .or_else(|| text.lines().map(str::trim).find(|l| !l.is_empty()))?;
    Some(summary_line(line))
}

/// One line of someone else's text, shortened, for the log.
fn summary_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect()
}

/// Reads at most [`MAX_ANSWER_BYTES`] of an answer as text (lossy: an answer is only shown, never trusted).
pub async fn read_limited(mut response: http::Response) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ANSWER_BYTES.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A transport error in words a merchant can act on.
pub fn describe_send_error(e: &http::Error) -> String {
    if e.is_timeout() {
        "the server did not answer in time".to_owned()
    } else if e.is_connect() {
        format!("cannot connect to the server: {}", root_cause(e))
    } else {
        format!("request failed: {}", root_cause(e))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Posts `body` as JSON with the callback secret; the status and the (bounded) answer text.
pub(crate) async fn post_json(
    client: &http::Client,
    settings: &Settings,
    url: &Url,
    body: &impl serde::Serialize,
) -> Result<(u16, String), Error> {
    let response = client
        .post(url.clone())
        .bearer_auth(settings.secret.expose())
        .json(body)
        .send()
        .await
        .map_err(|e| Error::Network {
            detail: describe_send_error(&e),
        })?;
    let status = response.status().as_u16();
    Ok((status, read_limited(response).await))
}

/// The error of a non-2xx answer to a call a person is waiting for (connection test, heartbeat).
pub(crate) fn status_error(status: u16, message: Option<String>, text: &str) -> Error {
    let detail = message.or_else(|| summary(text)).unwrap_or_default();
    match status {
        401 | 403 => Error::Unauthorized {
            status,
            detail: refusal(status, Some(detail)),
        },
        300..=399 => Error::Unauthorized {
            status,
            detail: format!(
                "the server redirects (HTTP {status}): set the right address as the server URL"
            ),
        },
        _ => Error::Server { status, detail },
    }
}

/// The connection test of the contract: `event_hash: "test"`; the server processes nothing and answers
/// with its message (`Koneksi berhasil! Auth valid ✓ (Merchant: …)`).
pub(crate) async fn connection_test(
    client: &http::Client,
    settings: &Settings,
    now_ms: i64,
) -> Result<String, Error> {
    let body = NotificationRequest {
        app: Some("webqris.forwarder".into()),
        title: Some("Tes koneksi".into()),
        message: "Tes koneksi webqris forwarder".into(),
        timestamp: Some(Timestamp::from_millis(now_ms).to_iso()),
        device_id: Some(settings.device_id.clone()),
        notif_id: Some(format!("test@{now_ms}")),
        event_hash: Some(wire::TEST_EVENT_HASH.into()),
        category: None,
        template: None,
        channel_id: None,
    };
    let url = endpoint(&settings.base, NOTIFICATION_PATH);
    let (status, text) = post_json(client, settings, &url, &body).await?;
    let parsed: AnswerBody = serde_json::from_str(&text).unwrap_or_default();
    if (200..300).contains(&status) && parsed.success == Some(true) {
        Ok(parsed.message.unwrap_or_else(|| "OK".into()))
    } else {
        Err(status_error(status, parsed.message, &text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(a: &Attempt) -> (u16, Option<&str>, Option<&str>) {
        match a {
            Attempt::Answered {
                status,
                message,
                invoice_id,
            } => (*status, message.as_deref(), invoice_id.as_deref()),
            other => panic!("expected Answered, got {other:?}"),
        }
    }

    #[test]
    fn paid_and_duplicate_complete_the_item() {
        let paid = classify(
            200,
            r#"{"success":true,"invoice_id":"INV-1","parsed_amount":25042,"sender_name":"JOHN DOE"}"#,
            None,
            None,
        );
        assert_eq!(answered(&paid), (200, None, Some("INV-1")));
        let dup = classify(
            200,
            r#"{"success":false,"message":"Duplicate notification","notif_id":"k@1"}"#,
            None,
            None,
        );
        assert_eq!(answered(&dup), (200, Some("Duplicate notification"), None));
    }

    #[test]
    fn no_match_and_no_amount_are_the_servers_verdict_not_a_failure() {
        let no_match = classify(
            404,
            r#"{"success":false,"message":"No matching pending payment","parsed_amount":25042,"merchant":"Toko ABC"}"#,
            None,
            None,
        );
        assert_eq!(
            answered(&no_match),
            (
                404,
                Some("No matching pending payment (parsed_amount 25042)"),
                None
            )
        );
        let no_amount = classify(
            422,
            r#"{"success":false,"message":"Tidak dapat mendeteksi nominal dari notifikasi","raw_message":"x"}"#,
            None,
            None,
        );
        assert_eq!(answered(&no_amount).0, 422);
    }

    #[test]
    fn a_bad_secret_a_proxys_refusal_and_a_redirect_are_refusals() {
        assert!(matches!(
            classify(
                401,
                r#"{"success":false,"message":"Invalid callback secret"}"#,
                None,
                None
            ),
            Attempt::Refused { status: 401, .. }
        ));
        match classify(302, "", None, Some("https://example.org/login")) {
            Attempt::Refused { status: 302, error } => {
                assert!(error.contains("https://example.org/login"), "{error}")
            }
            other => panic!("expected Refused, got {other:?}"),
        }
        let waf = "<!DOCTYPE html>\n<html><head>\n<title>Attention Required! | Cloudflare</title></head>\n<body>…</body></html>";
        match classify(403, waf, None, None) {
            Attempt::Refused { status: 403, error } => assert_eq!(
                error,
                "the server or a proxy in front of it refused the request (HTTP 403): Attention Required! | Cloudflare"
            ),
            other => panic!("expected Refused, got {other:?}"),
        }
    }

    #[test]
    fn server_trouble_is_retried_with_its_retry_after() {
        let wait = Some(Duration::from_secs(7));
        match classify(503, "<html>busy</html>", wait, None) {
            Attempt::Failed {
                status: Some(503),
                retry_after,
                error,
            } => {
                assert_eq!(retry_after, wait);
                assert!(error.contains("503"), "{error}");
            }
            other => panic!("expected Failed, got {other:?}"),
        }
        assert!(matches!(
            classify(429, "", None, None),
            Attempt::Failed { .. }
        ));
    }

    #[test]
    fn other_client_errors_are_final() {
        assert_eq!(
            answered(&classify(
                400,
                r#"{"success":false,"message":"bad"}"#,
                None,
                None
            ))
            .0,
            400
        );
    }

    #[test]
    fn base_urls_keep_their_prefix_and_refuse_nonsense() {
        let base = base_url("https://pay.example.com/webqris").expect("valid");
        assert_eq!(
            endpoint(&base, NOTIFICATION_PATH).as_str(),
            "https://pay.example.com/webqris/api/webhook/payment"
        );
        let root = base_url(" http://127.0.0.1:8080 ").expect("valid");
        assert_eq!(
            endpoint(&root, HEARTBEAT_PATH).as_str(),
            "http://127.0.0.1:8080/api/forwarder/heartbeat"
        );
        for bad in [
            "",
            "127.0.0.1:8080",
            "ftp://x/",
            "https://x/?a=1",
            "webqris://setup",
        ] {
            assert!(base_url(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
