//! Outbound webhooks: the delivery worker and the policy on which targets may be called.
//!
//! The outbox row is written with the paid transition (see `db::Tx::mark_paid`), so a delivery exists
//! as soon as a payment is paid, whatever happens to the process. The worker claims due deliveries with a
//! lease (nobody else sends a leased delivery), runs each attempt as its own task bounded by a semaphore
//! (a merchant whose endpoint hangs delays nobody else), records every attempt, and schedules the retries
//! of `webhook.retry_schedule`. A crash mid-attempt leaves the lease to expire; the delivery is then
//! claimed again, so nothing due is forgotten (a receiver may see an attempt twice then, with the same
//! `webhook-id`, which is what Standard Webhooks receivers deduplicate on).

pub mod target;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::header::CONTENT_TYPE;
use reqwest::Client;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use webqris_core::signing::{self, StandardWebhooks};
use webqris_core::wire::{WEBHOOK_USER_AGENT, WsWebhookDeliveredData, WsWebhookFailedData};
use webqris_core::{SecretString, Timestamp};

use crate::config::WebhookConfig;
use crate::db::{AttemptRecord, ClaimedDelivery, NextStep};
use crate::state::AppState;

/// The longest the worker sleeps without looking at the outbox (a safety net; it is woken whenever a
/// payment is paid or an attempt finishes).
const MAX_IDLE: Duration = Duration::from_secs(30);
/// The pause after a round that found something due but could not claim it (database trouble).
const BACKOFF: Duration = Duration::from_millis(200);

/// The HTTP client for webhooks: per-attempt timeout, no redirects, no proxy from the environment, and
/// (unless private targets are allowed) the resolver that refuses internal addresses.
pub fn http_client(config: &WebhookConfig) -> reqwest::Result<Client> {
    install_crypto_provider();
    let builder = Client::builder()
        .timeout(config.timeout_secs.duration())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(WEBHOOK_USER_AGENT);
    let builder = if config.allow_private_targets {
        builder
    } else {
        builder.dns_resolver(target::GuardedResolver)
    };
    builder.build()
}

/// Installs ring as rustls' process-wide crypto provider. reqwest is built with `rustls-no-provider` (see
/// the root `Cargo.toml`) and panics when a client is built before a provider is installed: call this
/// before building any reqwest client. Idempotent; a provider installed earlier is kept and used.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is then used: fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Delivers webhooks until `stop` becomes true, then waits for the attempts in flight (each bounded by
/// the webhook timeout) so that they are recorded.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let client = match http_client(&state.config.webhook) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks stay queued");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(state.config.webhook.concurrency));
    let mut in_flight: JoinSet<()> = JoinSet::new();
    loop {
        let free = permits.available_permits();
        let claimed = if free > 0 {
            claim(&state, free).await
        } else {
            Vec::new()
        };
        let claimed_any = !claimed.is_empty();
        for delivery in claimed {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                break;
            };
            in_flight.spawn(attempt(state.clone(), client.clone(), delivery, permit));
        }
        let wait = if permits.available_permits() == 0 {
            MAX_IDLE
        } else {
            match until_next_due(&state).await {
                Some(wait) if wait.is_zero() && !claimed_any => BACKOFF,
                Some(wait) => wait.min(MAX_IDLE),
                None => MAX_IDLE,
            }
        };
        tokio::select! {
            () = state.delivery_bell.notified() => {}
            () = tokio::time::sleep(wait) => {}
            Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => log_join(joined),
            _ = stop.wait_for(|stopping| *stopping) => break,
        }
    }
    if !in_flight.is_empty() {
        tracing::info!(
            in_flight = in_flight.len(),
            "waiting for webhook attempts in flight"
        );
    }
    while let Some(joined) = in_flight.join_next().await {
        log_join(joined);
    }
    tracing::debug!("webhook worker stopped");
}

fn log_join(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined {
        tracing::error!(error = %e, "a webhook attempt task failed; its lease will expire and it will be retried");
    }
}

/// Claims up to `limit` due deliveries; a database failure is logged and yields nothing this round.
async fn claim(state: &AppState, limit: usize) -> Vec<ClaimedDelivery> {
    let now = state.now();
    // The lease outlives the longest possible attempt, so a live attempt is never duplicated.
    let lease = state
        .config
        .webhook
        .timeout_secs
        .millis()
        .saturating_add(1000);
    let lease_until = Timestamp::from_millis(now.as_millis().saturating_add(lease));
    match state
        .db
        .write(move |tx| tx.claim_due_deliveries(now, lease_until, limit))
        .await
    {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::error!(error = %e, "cannot claim due webhooks; trying again shortly");
            Vec::new()
        }
    }
}

/// How long until the next delivery becomes claimable (`None`: nothing pending).
async fn until_next_due(state: &AppState) -> Option<Duration> {
    match state.db.read(|c| c.next_delivery_due()).await {
        Ok(next) => next.map(|at| {
            let ms = at.as_millis().saturating_sub(state.now().as_millis());
            Duration::from_millis(u64::try_from(ms).unwrap_or(0))
        }),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the webhook outbox; trying again shortly");
            Some(BACKOFF)
        }
    }
}

/// What one HTTP attempt produced.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The first `webhook.max_response_bytes` of the body (lossy UTF-8).
    pub body: String,
    /// The response headers (names lowercase, values lossy UTF-8), at most [`MAX_REPORTED_HEADERS`],
    /// each value cut to [`MAX_HEADER_VALUE_CHARS`].
    pub headers: Vec<(String, String)>,
}

/// Response headers reported by [`post_signed`] (the test webhook shows them, never the body).
pub const MAX_REPORTED_HEADERS: usize = 32;
/// Characters of one reported response header value.
pub const MAX_HEADER_VALUE_CHARS: usize = 256;

/// One attempt of one delivery, recorded whatever happens.
async fn attempt(
    state: AppState,
    client: Client,
    delivery: ClaimedDelivery,
    _permit: OwnedSemaphorePermit,
) {
    let started_at = state.now();
    let clock = Instant::now();
    let config = &state.config.webhook;
    let sent = send(&client, &delivery, config, started_at).await;
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status_code, error, response_body) = match sent {
        Ok(Response { status, body, .. }) if (200..300).contains(&status) => {
            (Some(status), None, Some(body))
        }
        Ok(Response { status, body, .. }) => (
            Some(status),
            Some(format!(
                "HTTP {status} (only 2xx counts as delivered; redirects are not followed)"
            )),
            Some(body),
        ),
        Err(error) => (None, Some(error), None),
    };
    let delivered = error.is_none();
    let now = state.now();
    let attempt_number = usize::try_from(delivery.attempt).unwrap_or(usize::MAX);
    let next = if delivered {
        NextStep::Delivered
    } else {
        match config.retry_schedule.delay_before_retry(attempt_number) {
            Some(delay) => NextStep::RetryAt(Timestamp::from_millis(
                now.as_millis().saturating_add(delay.millis()),
            )),
            None => NextStep::Failed,
        }
    };
    match (&next, &error) {
        (NextStep::Delivered, _) => {
            tracing::info!(invoice = %delivery.invoice_id, attempt = delivery.attempt, status = ?status_code, "webhook delivered");
        }
        (NextStep::RetryAt(at), Some(e)) => {
            tracing::warn!(invoice = %delivery.invoice_id, attempt = delivery.attempt, error = %e, retry_at = %at, "webhook attempt failed; will retry");
        }
        (_, e) => {
            tracing::error!(invoice = %delivery.invoice_id, attempt = delivery.attempt, error = ?e, "webhook failed; attempts exhausted");
        }
    }
    let record = AttemptRecord {
        delivery: delivery.id,
        attempt: delivery.attempt,
        url: delivery.url.clone().unwrap_or_default(),
        started_at,
        duration_ms,
        status_code,
        error: error.clone(),
        response_body,
    };
    if let Err(e) = state
        .db
        .write(move |tx| tx.record_attempt(&record, next, now))
        .await
    {
        tracing::error!(error = %e, invoice = %delivery.invoice_id, "cannot record a webhook attempt; its lease will expire and it will be retried");
        return;
    }
    if let Some(error) = error {
        state.hub.webhook_failed(
            delivery.merchant_id,
            WsWebhookFailedData {
                invoice_id: delivery.invoice_id.clone(),
                webhook_id: delivery.message_id.clone(),
                merchant_name: delivery.merchant_name.clone(),
                attempt: delivery.attempt,
                status_code,
                error,
                next_attempt_at: match next {
                    NextStep::RetryAt(at) => Some(at),
                    NextStep::Delivered | NextStep::Failed => None,
                },
            },
        );
    }
    if delivered {
        state.hub.webhook_delivered(
            delivery.merchant_id,
            WsWebhookDeliveredData {
                invoice_id: delivery.invoice_id,
                webhook_id: delivery.message_id,
                merchant_name: delivery.merchant_name,
                attempt: delivery.attempt,
                status_code: status_code.unwrap_or_default(),
            },
        );
    } else if matches!(next, NextStep::RetryAt(_)) {
        // The worker may be sleeping longer than this retry's delay.
        state.delivery_bell.notify_one();
    }
}

/// POSTs the stored body with both signature schemes; returns the status and the start of the body.
async fn send(
    client: &Client,
    delivery: &ClaimedDelivery,
    config: &WebhookConfig,
    now: Timestamp,
) -> Result<Response, String> {
    let url = delivery
        .url
        .as_deref()
        .ok_or_else(|| "the merchant has no webhook URL configured".to_owned())?;
    post_signed(
        client,
        url,
        &delivery.secret,
        &delivery.message_id,
        &delivery.body,
        config,
        now,
    )
    .await
}

/// POSTs `body` to `url` signed with `secret` the way every webhook is (`X-Webhook-Signature`,
/// `X-Signature`, Standard Webhooks headers with `message_id`), after checking `url` against the target
/// policy; returns the status and the start of the response body, or what went wrong. The delivery
/// worker and the dashboard's "send test webhook" share it.
pub async fn post_signed(
    client: &Client,
    url: &str,
    secret: &SecretString,
    message_id: &str,
    body: &[u8],
    config: &WebhookConfig,
    now: Timestamp,
) -> Result<Response, String> {
    let url = target::check_url(url, config.allow_private_targets).map_err(|e| e.to_string())?;
    let secret = secret.expose();
    let hex = signing::hex_signature(secret, body);
    let timestamp = now.as_millis().div_euclid(1000);
    let mut request = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header("X-Webhook-Signature", &hex)
        .header("X-Signature", &hex)
        .header("webhook-id", message_id)
        .header("webhook-timestamp", timestamp.to_string());
    match StandardWebhooks::from_secret(secret) {
        Ok(signer) => {
            request = request.header(
                "webhook-signature",
                signer.sign(message_id, timestamp, body),
            );
        }
        Err(e) => {
            // Secrets made by webqris always decode; a hand-set one may not. The legacy headers still go.
            tracing::warn!(error = %e, "webhook secret is not whsec_<base64>; sending without webhook-signature");
        }
    }
    let mut response = request
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .take(MAX_REPORTED_HEADERS)
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            (
                name.as_str().to_owned(),
                value.chars().take(MAX_HEADER_VALUE_CHARS).collect(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while body.len() < config.max_response_bytes {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            // The status is what counts; a body cut short is only noted.
            Err(e) => {
                body.extend_from_slice(format!(" [body unreadable: {}]", describe(&e)).as_bytes());
                break;
            }
        }
    }
    body.truncate(config.max_response_bytes);
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        headers,
    })
}

/// An error with its whole chain of causes (reqwest hides the interesting part in the sources).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
