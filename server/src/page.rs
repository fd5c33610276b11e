//! The hosted payment page: `GET /pay/{token}` shows one invoice to the customer (its QR, the merchant's
//! name, the exact total with the unique code emphasised, a countdown to expiry) and follows its status
//! live, over `GET /pay/{token}/ws` (one invoice's status only) with `GET /pay/{token}/status` as the
//! polling fallback; when paid it can send the customer back to the shop (`return_url`). The token is
//! 256 random bits made at create, so the URL cannot be guessed, and the page reveals nothing but that
//! invoice's public facts: no customer name, payer, payment method, order id or anything of the merchant
//! beyond its name. Every value is HTML-escaped; the page's script reads them from `data-` attributes.

use std::time::Duration;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tracing::Instrument as _;
use webqris_core::Timestamp;
use webqris_core::wire::PaymentStatus;

use crate::api::ws::{idle_sized, stopping};
use crate::dashboard::assets::{PAY_HTML, html_page};
use crate::db::PaymentWithMerchant;
use crate::error::AppError;
use crate::logs;
use crate::metrics::SocketKind;
use crate::qr;
use crate::state::AppState;

/// Characters of a page token (base64url of 32 bytes).
const TOKEN_CHARS: usize = 43;
/// Largest frame a page may send (it only sends `ping`).
const MAX_CLIENT_FRAME: usize = 64;

/// The payment page routes (their assets are served with the dashboard's).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pay/{token}", get(page))
        .route("/pay/{token}/status", get(status))
        .route("/pay/{token}/qr.svg", get(qr_svg))
        .route("/pay/{token}/ws", get(socket))
}

/// `text` with `& < > " '` replaced by entities: safe in element content and quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// `25042` → `25.042`, the way Indonesian e-wallets write Rupiah.
pub fn rupiah(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if amount < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// The total as HTML, its last three digits emphasised when they are exactly the unique code (a round
/// amount plus a code below 1000: `Rp25.<strong>042</strong>`); otherwise the whole total.
fn total_html(amount: i64, unique_code: i64, total: i64) -> String {
    let text = rupiah(total);
    if amount % 1000 == 0 && (0..1000).contains(&unique_code) && text.len() > 3 {
        let (head, tail) = text.split_at(text.len() - 3);
        format!("Rp{head}<strong>{tail}</strong>")
    } else {
        format!("Rp<strong>{text}</strong>")
    }
}

fn valid_token(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The invoice behind a page token; `None` for anything that is not one.
async fn by_token(
    state: &AppState,
    token: Result<Path<String>, PathRejection>,
) -> Result<Option<PaymentWithMerchant>, AppError> {
    let Ok(Path(token)) = token else {
        return Ok(None);
    };
    if !valid_token(&token) {
        return Ok(None);
    }
    Ok(state
        .db
        .read(move |c| c.payment_by_page_token(&token))
        .await?)
}

/// The template with every `{{name}}` replaced (values are already HTML, escaped by the caller).
fn fill(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .fold(PAY_HTML.to_owned(), |html, (name, value)| {
            html.replace(&format!("{{{{{name}}}}}"), value)
        })
}

/// The placeholders of the template, all empty: the page of an unknown token.
fn not_found_page() -> Response {
    let mut pairs: Vec<(&str, String)> = PLACEHOLDERS.iter().map(|n| (*n, String::new())).collect();
    for (name, value) in &mut pairs {
        match *name {
            "state" => *value = "missing".to_owned(),
            "lang" => *value = "id".to_owned(),
            "title" => *value = "Tagihan tidak ditemukan".to_owned(),
            "expires_at_ms" | "server_now_ms" => *value = "0".to_owned(),
            _ => {}
        }
    }
    html_page(StatusCode::NOT_FOUND, fill(&pairs), "no-referrer")
}

/// Every placeholder of `pay.html`.
const PLACEHOLDERS: [&str; 14] = [
    "lang",
    "state",
    "title",
    "merchant_name",
    "token",
    "expires_at_ms",
    "server_now_ms",
    "expires_at",
    "total_html",
    "amount",
    "unique_code",
    "invoice_id",
    "return_url",
    "sandbox",
];

/// The banner of a sandbox invoice's page: its QR is a real QRIS of the merchant, so the customer is told
/// not to pay it (a real payment would not pay a test invoice; it is stored and shown, unmatched).
const SANDBOX_BANNER: &str = r#"<p class="sandbox" id="sandbox" data-i18n="sandbox">Tagihan uji coba (sandbox): jangan dibayar dengan uang sungguhan.</p>"#;

/// What the page may show of an invoice, and nothing more.
#[derive(Debug, Clone, Serialize)]
struct PublicStatus {
    success: bool,
    status: PaymentStatus,
    expired_at: Timestamp,
    paid_at: Option<Timestamp>,
    server_time: Timestamp,
    /// Only once paid: where the shop asked to send the customer.
    return_url: Option<String>,
}

fn public_status(p: &PaymentWithMerchant, now: Timestamp) -> PublicStatus {
    let status = p.payment.status_at(now);
    PublicStatus {
        success: true,
        status,
        expired_at: p.payment.expired_at,
        paid_at: p.payment.paid_at,
        server_time: now,
        return_url: (status == PaymentStatus::Paid)
            .then(|| p.payment.return_url.clone())
            .flatten(),
    }
}

/// `GET /pay/{token}`.
async fn page(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let Some(p) = by_token(&state, token).await? else {
        return Ok(not_found_page());
    };
    let now = state.now();
    let payment = &p.payment;
    let status = payment.status_at(now);
    let title = format!("Rp{} · {}", rupiah(payment.total_amount), p.merchant_name);
    let paid_return = match status {
        PaymentStatus::Paid => payment.return_url.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let html = fill(&[
        ("lang", "id".to_owned()),
        ("state", status.as_str().to_owned()),
        ("title", escape_html(&title)),
        ("merchant_name", escape_html(&p.merchant_name)),
        (
            "token",
            escape_html(p.page_token.as_deref().unwrap_or_default()),
        ),
        ("expires_at_ms", payment.expired_at.as_millis().to_string()),
        ("server_now_ms", now.as_millis().to_string()),
        ("expires_at", payment.expired_at.to_iso()),
        (
            "total_html",
            total_html(payment.amount, payment.unique_code, payment.total_amount),
        ),
        ("amount", rupiah(payment.amount)),
        ("unique_code", payment.unique_code.to_string()),
        ("invoice_id", escape_html(&payment.invoice_id)),
        ("return_url", escape_html(&paid_return)),
        (
            "sandbox",
            if payment.test { SANDBOX_BANNER } else { "" }.to_owned(),
        ),
    ]);
    // The token is in the URL: never let it leak to the shop through Referer when the customer leaves.
    Ok(html_page(StatusCode::OK, html, "no-referrer"))
}

/// `GET /pay/{token}/status`: the polling fallback of the live status.
async fn status(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let p = by_token(&state, token)
        .await?
        .ok_or_else(|| AppError::NotFound("Payment not found".to_owned()))?;
    Ok((
        [(CACHE_CONTROL, "no-store")],
        axum::Json(public_status(&p, state.now())),
    )
        .into_response())
}

/// `GET /pay/{token}/qr.svg`.
async fn qr_svg(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let p = by_token(&state, token)
        .await?
        .ok_or_else(|| AppError::NotFound("Payment not found".to_owned()))?;
    let svg = qr::svg(&p.payment.qris_payload).map_err(AppError::internal)?;
    Ok((
        [
            (CONTENT_TYPE, "image/svg+xml"),
            (CACHE_CONTROL, "private, max-age=86400, immutable"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        svg,
    )
        .into_response())
}

/// `GET /pay/{token}/ws`: sends `{"event":"status","data":<status>}` at once and whenever the invoice's
/// status changes; answers `ping` with `pong`; closes once the invoice is paid or expired.
async fn socket(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let p = by_token(&state, token)
        .await?
        .ok_or_else(|| AppError::NotFound("Payment not found".to_owned()))?;
    let upgrade = upgrade.map_err(|e| {
        AppError::BadRequest(format!("WebSocket upgrade required: {}", e.body_text()))
    })?;
    // The socket's lines carry the id of the request that opened it.
    let span = tracing::Span::current();
    Ok(idle_sized(upgrade, MAX_CLIENT_FRAME)
        .on_upgrade(move |ws| watch(state, p, ws).instrument(span)))
}

/// The frames of the payment page's socket (a typed enum like the API's `WsEvent`).
#[derive(Debug, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
enum PageEvent<'a> {
    /// The invoice's public status, now.
    Status(&'a PublicStatus),
}

fn frame(status: &PublicStatus) -> Option<Message> {
    serde_json::to_string(&PageEvent::Status(status))
        .ok()
        .map(|text| Message::Text(text.into()))
}

/// One page's socket: the status now, then again whenever an event concerns this invoice (or events
/// were missed), until the status is final, the page leaves or the server stops.
async fn watch(state: AppState, p: PaymentWithMerchant, ws: WebSocket) {
    let _open = state.metrics.websocket_opened(SocketKind::PaymentPage);
    let (mut sink, mut stream) = ws.split();
    let mut events = state.hub.subscribe();
    let mut shutdown = state.shutdown.clone();
    let send_timeout = state.config.websocket.send_timeout_secs.duration();
    let payment = p.payment.id;
    let token = p.page_token.clone().unwrap_or_default();
    let mut current = public_status(&p, state.now());
    // The deadline passes without any event until the sweep runs: wake up then to say "expired".
    let until_deadline = |now: Timestamp| {
        Duration::from_millis(
            u64::try_from(p.payment.expired_at.as_millis() - now.as_millis()).unwrap_or(0),
        )
    };
    loop {
        if let Some(message) = frame(&current)
            && !matches!(
                tokio::time::timeout(send_timeout, sink.send(message)).await,
                Ok(Ok(()))
            )
        {
            return;
        }
        if current.status != PaymentStatus::Pending {
            let close = Message::Close(Some(CloseFrame {
                code: close_code::NORMAL,
                reason: current.status.as_str().into(),
            }));
            let _ = tokio::time::timeout(send_timeout, sink.send(close)).await;
            return;
        }
        let deadline = until_deadline(state.now());
        let changed = loop {
            tokio::select! {
                () = stopping(&mut shutdown) => {
                    let close = Message::Close(Some(CloseFrame {
                        code: close_code::AWAY,
                        reason: "server shutting down".into(),
                    }));
                    let _ = tokio::time::timeout(send_timeout, sink.send(close)).await;
                    return;
                }
                () = tokio::time::sleep(deadline) => break true,
                event = events.recv() => match event {
                    Ok(event) if event.concerns_payment(payment) => break true,
                    Ok(_) => {}
                    // Missed events may have included ours: look again.
                    Err(RecvError::Lagged(_)) => break true,
                    Err(RecvError::Closed) => return,
                },
                message = stream.next() => match message {
                    Some(Ok(Message::Text(text))) if text.trim() == "ping" => {
                        if !matches!(
                            tokio::time::timeout(send_timeout, sink.send(Message::Text("pong".into()))).await,
                            Ok(Ok(()))
                        ) {
                            return;
                        }
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                    Some(Ok(_)) => {}
                },
            }
        };
        if changed {
            let lookup = token.clone();
            match state
                .db
                .read(move |c| c.payment_by_page_token(&lookup))
                .await
            {
                Ok(Some(fresh)) => current = public_status(&fresh, state.now()),
                // Deleted with its merchant: nothing more to say.
                Ok(None) => return,
                Err(e) => {
                    if state.repeats.first(logs::PAGE_SOCKET_READ) {
                        tracing::warn!(kind = logs::PAGE_SOCKET_READ.name(), error = %e, "payment page socket cannot read its invoice; closing");
                    }
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped() {
        assert_eq!(
            escape_html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn the_unique_code_is_emphasised_in_the_total() {
        assert_eq!(rupiah(25042), "25.042");
        assert_eq!(rupiah(1_250_000), "1.250.000");
        assert_eq!(rupiah(999), "999");
        assert_eq!(total_html(25000, 42, 25042), "Rp25.<strong>042</strong>");
        assert_eq!(total_html(25500, 42, 25542), "Rp<strong>25.542</strong>");
        assert_eq!(total_html(1000, 7, 1007), "Rp1.<strong>007</strong>");
    }

    #[test]
    fn the_template_has_every_placeholder_and_no_other() {
        for name in PLACEHOLDERS {
            assert!(
                PAY_HTML.contains(&format!("{{{{{name}}}}}")),
                "{name} in pay.html"
            );
        }
        let filled = fill(&PLACEHOLDERS.map(|n| (n, "x".to_owned())));
        assert!(!filled.contains("{{"), "no placeholder left unfilled");
    }

    #[test]
    fn page_tokens_are_43_url_safe_characters() {
        assert!(valid_token(&crate::secret::random_token()));
        assert!(valid_token(&crate::secret::page_token(1_765_000_000_000)));
        assert!(!valid_token("short"));
        assert!(!valid_token(
            &"a".repeat(42).chars().chain(['/']).collect::<String>()
        ));
    }
}
