//! Webhooks that outlast an outage: the default schedule (2 s, 4 s, 8 s, then up to 24 h) run at a
//! millisecond scale, replays by the command line (the real binary) and the dashboard with the original
//! `webhook-id` and body, secret rotation with both signatures during the overlap, and the alert of an
//! endpoint failing for an hour and its recovery on the live feed and in the dashboard.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use webqris_core::Timestamp;
use webqris_core::signing::{self, StandardWebhooks};
use webqris_server::config::{Config, RetrySchedule, Seconds};
use webqris_server::db::{DeliveryStatus, MerchantId};

use crate::cli::webqris;
use crate::dashboard::Dashboard;
use crate::support::{Received, Receiver, TestServer, WsClient, dana, within};

/// Creates an invoice with `token` and pays it with a notification posted with `callback`; returns
/// the invoice id.
async fn pay(server: &TestServer, token: &str, callback: &str, amount: i64) -> String {
    let (status, created) = server
        .post(
            "/api/payments/qris/create",
            token,
            &json!({"amount": amount}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let total = created["total_amount"].as_i64().expect("total");
    let (status, body) = server
        .post("/api/webhook/payment", callback, &dana(total))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    created["invoice_id"].as_str().expect("id").to_owned()
}

/// Waits for the `event` frame about `invoice`.
async fn event_for(socket: &mut WsClient, event: &str, invoice: &str) -> Value {
    loop {
        let frame = socket.next_event(event).await;
        if frame["data"]["invoice_id"] == invoice {
            return frame;
        }
    }
}

/// The delivery status of each invoice's webhook.
async fn statuses(
    server: &TestServer,
    merchant: MerchantId,
    invoices: &[&str],
) -> Vec<DeliveryStatus> {
    let mut all = Vec::new();
    for invoice in invoices {
        let invoice = (*invoice).to_owned();
        let stored = server
            .db
            .read(move |c| {
                let payment = c
                    .payment_by_invoice(merchant, &invoice)?
                    .expect("paid invoice");
                c.deliveries_for_payment(payment.id)
            })
            .await
            .expect("read");
        all.extend(stored.iter().map(|d| d.status));
    }
    all
}

#[tokio::test]
async fn the_default_schedule_outlasts_a_day_long_outage_here_at_a_hundred_thousandth_of_the_time()
{
    let default = Config::default().webhook.retry_schedule;
    assert!(default.span() >= Duration::from_secs(24 * 3600));
    // 2 s → 20 µs … 24 h → 864 ms: the same shape, 1.6 s in all.
    let scaled = RetrySchedule(
        default
            .0
            .iter()
            .map(|d| Seconds::from_duration(d.duration() / 100_000))
            .collect(),
    );
    let delays = scaled.clone();
    let server = TestServer::start_with(|c| c.webhook.retry_schedule = scaled).await;
    // The receiver is down for the first ten attempts (the whole outage), then answers.
    let mut receiver = Receiver::scripted(&[503; 10]).await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let invoice = pay(&server, &m.token, &m.callback_secret, 25000).await;
    let first = receiver.next().await;
    for _ in 1..11 {
        let again = receiver.next().await;
        assert_eq!(again.header("webhook-id"), first.header("webhook-id"));
        assert_eq!(again.body, first.body, "the same bytes on every attempt");
        again.assert_signed_with(&m.webhook_secret);
    }
    let payment = server.payment(&m, &invoice).await.id;
    let db = server.db.clone();
    server.stop().await;
    let delivery = db
        .read(move |c| c.deliveries_for_payment(payment))
        .await
        .expect("read")
        .remove(0);
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.attempts, 11, "the first attempt and ten retries");
    let id = delivery.id;
    let attempts = db
        .read(move |c| c.delivery_attempts(id))
        .await
        .expect("attempts");
    let codes: Vec<_> = attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes[..10], [Some(503); 10]);
    assert_eq!(codes[10], Some(200));
    for (n, pair) in attempts.windows(2).enumerate() {
        let gap = pair[1].started_at.as_millis() - pair[0].started_at.as_millis();
        let delay = delays.delay_before_retry(n + 1).expect("a delay").millis();
        eprintln!(
            "retry {}: {gap} ms after the attempt before (delay {delay} ms)",
            n + 1
        );
        assert!(
            gap >= delay,
            "retry {} came {gap} ms after, before its delay of {delay} ms",
            n + 1
        );
    }
}

/// Runs `webqris webhook replay` (the real binary) on the server's database.
fn replay(server: &TestServer, merchant: MerchantId, range: &[&str]) -> (bool, Value) {
    let db = server.config.db.display().to_string();
    let merchant = merchant.0.to_string();
    let mut args = vec![
        "webhook",
        "replay",
        "--merchant",
        &merchant,
        "--db",
        &db,
        "--json",
    ];
    args.extend_from_slice(range);
    webqris(&args, &[])
}

#[tokio::test]
async fn a_replay_resends_the_original_webhook_id_and_body_signed_afresh_for_the_range_asked() {
    let server = TestServer::start_with(|c| {
        c.webhook.retry_schedule = RetrySchedule(Vec::new());
        c.webhook.poll_secs = Seconds::from_duration(Duration::from_millis(50));
    })
    .await;
    let mut receiver = Receiver::failing_with(503).await;
    let mut elsewhere = Receiver::failing_with(503).await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let other = server.merchant("Toko Lain", Some(&elsewhere.url)).await;
    let mut operator = server.operator_socket().await;
    let start = server.clock.now().to_iso();

    let a = pay(&server, &m.token, &m.callback_secret, 25000).await;
    let original_a = receiver.next().await;
    event_for(&mut operator, "webhook_failed", &a).await;
    server.clock.advance(Duration::from_secs(2));
    let mid = Timestamp::from_millis(server.clock.now().as_millis() - 1000).to_iso();
    let b = pay(&server, &m.token, &m.callback_secret, 26000).await;
    let original_b = receiver.next().await;
    event_for(&mut operator, "webhook_failed", &b).await;
    let c = pay(&server, &other.token, &other.callback_secret, 27000).await;
    elsewhere.next().await;
    event_for(&mut operator, "webhook_failed", &c).await;
    assert_eq!(
        statuses(&server, m.id, &[&a, &b]).await,
        [DeliveryStatus::Failed; 2],
        "the outage used up the schedule"
    );

    // The receiver is back an hour later; the operator replays the outage window in two parts.
    server.clock.advance(Duration::from_secs(3600));
    receiver.respond_with(200);
    let (ok, answer) = replay(&server, m.id, &["--since", &start, "--until", &mid]);
    assert!(ok, "{answer}");
    assert_eq!(answer, json!({"queued": 1}));
    let replayed_a = receiver.next().await;
    let (ok, answer) = replay(&server, m.id, &["--since", &mid]);
    assert!(ok, "{answer}");
    assert_eq!(answer, json!({"queued": 1}));
    let replayed_b = receiver.next().await;
    for (original, replayed) in [(&original_a, &replayed_a), (&original_b, &replayed_b)] {
        assert_eq!(replayed.header("webhook-id"), original.header("webhook-id"));
        assert_eq!(
            replayed.body, original.body,
            "the original body, byte for byte"
        );
        replayed.assert_signed_with(&m.webhook_secret);
        let sent_at = |r: &Received| r.header("webhook-timestamp").parse::<i64>().expect("ts");
        assert!(
            sent_at(replayed) >= sent_at(original) + 3600,
            "signed afresh: {} then {}",
            sent_at(original),
            sent_at(replayed)
        );
    }
    let mut delivered = Vec::new();
    while delivered.len() < 2 {
        let frame = operator.next_event("webhook_delivered").await;
        delivered.push(frame["data"]["invoice_id"].as_str().expect("id").to_owned());
    }
    delivered.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(delivered, expected);
    assert_eq!(
        statuses(&server, m.id, &[&a, &b]).await,
        [DeliveryStatus::Delivered; 2]
    );
    assert_eq!(
        statuses(&server, other.id, &[&c]).await,
        [DeliveryStatus::Failed],
        "another merchant's webhooks stay as they were"
    );

    // Mistakes are refused by name.
    let (ok, answer) = replay(&server, MerchantId(987_654), &["--since", &start]);
    assert!(!ok);
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("987654")),
        "{answer}"
    );
    let (ok, answer) = replay(&server, m.id, &["--since", "yesterday"]);
    assert!(!ok);
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("--since")),
        "{answer}"
    );
    let (ok, answer) = replay(&server, m.id, &["--since", &mid, "--until", &start]);
    assert!(!ok, "{answer}");
}

/// Whether `received` carries a Standard Webhooks signature made with `secret`.
fn standard_signed_with(received: &Received, secret: &str) -> bool {
    let timestamp = received.header("webhook-timestamp");
    StandardWebhooks::from_secret(secret)
        .expect("whsec_ secret")
        .verify(
            received.header("webhook-id"),
            timestamp,
            received.header("webhook-signature"),
            &received.body,
            timestamp.parse().expect("integer"),
            300,
        )
        .is_ok()
}

fn legacy_signed_with(received: &Received, secret: &str) -> bool {
    signing::verify_hex_signature(
        secret,
        &received.body,
        received.header("x-webhook-signature"),
    )
}

#[tokio::test]
async fn during_a_rotations_overlap_webhooks_carry_both_signatures_and_afterwards_only_the_new_one()
{
    let server = TestServer::start().await;
    let mut receiver = Receiver::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let (id, token, callback) = tab.ready_merchant("Toko ABC", Some(&receiver.url)).await;
    let base = format!("/dashboard/api/merchants/{id}");
    let secret_of = |detail: &Value| {
        detail["merchant"]["webhook_secret"]
            .as_str()
            .expect("secret")
            .to_owned()
    };
    let old = secret_of(&tab.get(&base).await.1);

    let (status, rotated) = tab
        .post(&format!("{base}/webhook/secret"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["webhook_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let until = Timestamp::parse(
        rotated["previous_webhook_secret_until"]
            .as_str()
            .expect("until"),
    )
    .expect("an instant");
    let overlap = until.as_millis() - server.clock.now().as_millis();
    assert!(
        overlap > 23 * 3_600_000 && overlap <= 24 * 3_600_000,
        "{overlap} ms"
    );
    assert_eq!(
        tab.get(&base).await.1["merchant"]["previous_webhook_secret_until"],
        rotated["previous_webhook_secret_until"]
    );

    pay(&server, &token, &callback, 25000).await;
    let during = receiver.next().await;
    let entries: Vec<&str> = during.header("webhook-signature").split(' ').collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().all(|e| e.starts_with("v1,")), "{entries:?}");
    assert!(
        standard_signed_with(&during, &new),
        "receivers already on the new secret verify"
    );
    assert!(
        standard_signed_with(&during, &old),
        "receivers still on the old secret verify"
    );
    assert!(
        legacy_signed_with(&during, &old),
        "the single-valued legacy header keeps the old one"
    );

    server.clock.advance(Duration::from_secs(24 * 3600 + 60));
    pay(&server, &token, &callback, 26000).await;
    let after = receiver.next().await;
    assert!(
        !after.header("webhook-signature").contains(' '),
        "one signature once the overlap ended"
    );
    after.assert_signed_with(&new);
    assert!(!standard_signed_with(&after, &old));
    assert!(tab.get(&base).await.1["merchant"]["previous_webhook_secret_until"].is_null());

    // A leaked secret is rotated without an overlap: it stops signing at once.
    let (_, rotated) = tab
        .post(
            &format!("{base}/webhook/secret"),
            &json!({"overlap_secs": 0}),
        )
        .await;
    assert!(
        rotated["previous_webhook_secret_until"].is_null(),
        "{rotated}"
    );
    let newest = rotated["webhook_secret"].as_str().expect("secret");
    pay(&server, &token, &callback, 27000).await;
    let now = receiver.next().await;
    now.assert_signed_with(newest);
    assert!(!standard_signed_with(&now, &new) && !legacy_signed_with(&now, &new));
}

#[tokio::test]
async fn an_endpoint_failing_for_an_hour_raises_an_alert_and_a_replay_that_succeeds_clears_it() {
    let server = TestServer::start_with(|c| {
        c.webhook.retry_schedule = RetrySchedule(Vec::new());
        c.webhook.alert_sweep_secs = Seconds::from_duration(Duration::from_millis(20));
    })
    .await;
    let receiver = Receiver::failing_with(503).await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let (id, token, callback) = tab.ready_merchant("Toko ABC", Some(&receiver.url)).await;
    let base = format!("/dashboard/api/merchants/{id}");
    let mut operator = server.operator_socket().await;
    let mut merchant =
        WsClient::connect(&server.ws_url(&format!("/ws/merchant?token={token}"))).await;
    let start = server.clock.now().to_iso();
    let invoice = pay(&server, &token, &callback, 25000).await;
    event_for(&mut operator, "webhook_failed", &invoice).await;
    let health = tab.get(&base).await.1["merchant"]["webhook_health"].clone();
    assert!(health["failing_since"].is_string(), "{health}");
    assert_eq!(health["failed_attempts"], 1);
    assert_eq!(health["alert"], false, "not for an hour yet: {health}");

    server.clock.advance(Duration::from_secs(3601));
    let raised = operator.next_event("webhook_alert").await;
    assert_eq!(raised["data"]["failing"], true, "{raised}");
    assert_eq!(raised["data"]["url"], receiver.url.as_str());
    assert_eq!(raised["data"]["merchant_name"], "Toko ABC");
    assert_eq!(raised["data"]["failed_attempts"], 1);
    assert_eq!(raised["data"]["failing_since"], health["failing_since"]);
    assert!(raised["data"]["last_success_at"].is_null());
    assert!(
        raised["data"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{raised}"
    );
    assert_eq!(
        merchant.next_event("webhook_alert").await["data"],
        raised["data"]
    );
    let health = tab.get(&base).await.1["merchant"]["webhook_health"].clone();
    assert_eq!(health["alert"], true, "{health}");

    // The receiver is back; the dashboard's replay sends the webhook again and the alert clears.
    receiver.respond_with(200);
    let (status, replayed) = tab
        .post(&format!("{base}/webhook/replay"), &json!({"since": start}))
        .await;
    assert_eq!(status, StatusCode::OK, "{replayed}");
    assert_eq!(replayed["queued"], 1);
    let recovered = within("the recovery", operator.next_event("webhook_alert")).await;
    assert_eq!(recovered["data"]["failing"], false, "{recovered}");
    assert_eq!(recovered["data"]["failed_attempts"], 0);
    assert!(recovered["data"]["failing_since"].is_null());
    assert!(recovered["data"]["last_success_at"].is_string());
    assert_eq!(
        merchant.next_event("webhook_alert").await["data"],
        recovered["data"]
    );
    let health = tab.get(&base).await.1["merchant"]["webhook_health"].clone();
    assert_eq!(
        (
            &health["alert"],
            &health["failing_since"],
            &health["failed_attempts"]
        ),
        (&json!(false), &Value::Null, &json!(0)),
        "{health}"
    );
    assert_eq!(
        health["last_success_at"],
        recovered["data"]["last_success_at"]
    );
    let (status, body) = tab
        .post(
            &format!("{base}/webhook/replay"),
            &json!({"since": start, "until": start}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
