//! Outbound webhooks: exact signed body, retries with a stable id, attempt log, isolation between
//! merchants, redirects not followed, the SSRF guard, and graceful shutdown finishing attempts in flight.

use axum::http::StatusCode;
use serde_json::json;
use webqris_server::config::RetrySchedule;
use webqris_server::db::{DeliveryInfo, DeliveryStatus};

use crate::support::{Receiver, TestMerchant, TestServer, dana, within};

async fn pay(server: &TestServer, m: &TestMerchant, amount: i64) -> (String, i64) {
    let created = server.create_payment(m, amount).await;
    let total = created["total_amount"].as_i64().expect("total");
    let (code, body) = server.notify(m, &dana(total)).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    (
        created["invoice_id"].as_str().expect("id").to_owned(),
        total,
    )
}

async fn deliveries(server: &TestServer, m: &TestMerchant, invoice: &str) -> Vec<DeliveryInfo> {
    let payment = server.payment(m, invoice).await.id;
    server
        .db
        .read(move |c| c.deliveries_for_payment(payment))
        .await
        .expect("read")
}

#[tokio::test]
async fn a_paid_invoice_is_announced_by_a_webhook_signed_both_ways() {
    let server = TestServer::start().await;
    let mut receiver = Receiver::start().await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let (invoice, total) = pay(&server, &m, 25000).await;
    let hook = receiver.next().await;
    hook.assert_signed_with(&m.webhook_secret);
    assert_eq!(hook.header("content-type"), "application/json");
    assert_eq!(hook.header("user-agent"), "WebQRIS-Webhook/1.0");
    assert!(hook.header("webhook-id").starts_with("msg_"));
    let paid_at = server
        .payment(&m, &invoice)
        .await
        .paid_at
        .expect("paid")
        .to_iso();
    assert_eq!(
        hook.json(),
        json!({
            "event": "payment.paid",
            "data": {
                "invoice_id": invoice,
                "merchant_order_id": "ORDER-001",
                "amount": 25000,
                "unique_code": total - 25000,
                "total_amount": total,
                "customer_name": "John Doe",
                "status": "paid",
                "payment_method": "com.dana.id",
                "paid_at": paid_at,
            }
        })
    );
    let stored = deliveries(&server, &m, &invoice).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].body,
        hook.body.to_vec(),
        "the outbox holds the exact bytes sent"
    );
    assert_eq!(stored[0].message_id, hook.header("webhook-id"));
}

#[tokio::test]
async fn failed_attempts_are_retried_with_the_same_id_a_fresh_timestamp_and_every_attempt_logged() {
    // The first retry waits 1.5 s so that its whole-second timestamp must differ from the first's.
    let server = TestServer::start_with(|c| {
        c.webhook.retry_schedule = "1.5,0.01,0.01".parse().expect("schedule");
    })
    .await;
    let mut receiver = Receiver::scripted(&[500, 502]).await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let (invoice, _) = pay(&server, &m, 25000).await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    let third = receiver.next().await;
    for hook in [&first, &second, &third] {
        hook.assert_signed_with(&m.webhook_secret);
        assert_eq!(
            hook.header("webhook-id"),
            first.header("webhook-id"),
            "stable across retries"
        );
        assert_eq!(hook.body, first.body, "the same bytes every time");
    }
    assert_ne!(
        first.header("webhook-timestamp"),
        second.header("webhook-timestamp"),
        "signed afresh"
    );

    // Graceful stop waits for attempts in flight, so the log is complete afterwards.
    let (payment, db) = (server.payment(&m, &invoice).await.id, server.db.clone());
    server.stop().await;
    let stored = db
        .read(move |c| c.deliveries_for_payment(payment))
        .await
        .expect("read");
    assert_eq!(stored[0].status, DeliveryStatus::Delivered);
    assert_eq!(stored[0].attempts, 3);
    let delivery = stored[0].id;
    let attempts = db
        .read(move |c| c.delivery_attempts(delivery))
        .await
        .expect("attempts");
    let codes: Vec<_> = attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(500), Some(502), Some(200)]);
    assert!(
        attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("500"))
    );
    assert!(attempts[2].error.is_none());
    assert!(
        attempts
            .iter()
            .all(|a| a.url == receiver.url && a.duration_ms >= 0)
    );
    assert!(receiver.try_next().is_none(), "nothing after the success");
}

#[tokio::test]
async fn attempts_stop_when_the_schedule_is_exhausted() {
    let server = TestServer::start().await;
    let mut receiver = Receiver::failing_with(503).await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let mut operator = server.operator_socket().await;
    let (invoice, _) = pay(&server, &m, 25000).await;
    let exhausted = loop {
        let failure = operator.next_event("webhook_failed").await;
        if failure["data"]["next_attempt_at"].is_null() {
            break failure;
        }
    };
    assert_eq!(
        exhausted["data"]["attempt"], 4,
        "three retries, four attempts in all"
    );
    let (payment, db) = (server.payment(&m, &invoice).await.id, server.db.clone());
    server.stop().await;
    for _ in 0..4 {
        receiver.next().await;
    }
    assert!(receiver.try_next().is_none(), "no fifth attempt");
    let stored = db
        .read(move |c| c.deliveries_for_payment(payment))
        .await
        .expect("read");
    assert_eq!(stored[0].status, DeliveryStatus::Failed);
    assert_eq!(stored[0].attempts, 4);
    assert!(
        stored[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("503")),
        "{:?}",
        stored[0].last_error
    );
}

#[tokio::test]
async fn an_endpoint_that_hangs_does_not_delay_another_merchants_webhook() {
    let server = TestServer::start().await;
    let mut slow = Receiver::holding().await;
    let mut fast = Receiver::start().await;
    let a = server.merchant("Toko Lambat", Some(&slow.url)).await;
    let b = server.merchant("Toko Cepat", Some(&fast.url)).await;
    pay(&server, &a, 25000).await;
    let held = slow.next().await;
    assert_eq!(held.json()["data"]["amount"], 25000);
    pay(&server, &b, 30000).await;
    let delivered = fast.next().await;
    assert_eq!(
        delivered.json()["data"]["amount"],
        30000,
        "B's webhook arrived while A's is held"
    );
    slow.release();
}

#[tokio::test]
async fn graceful_shutdown_records_the_attempt_in_flight() {
    let server = TestServer::start().await;
    let mut slow = Receiver::holding().await;
    let m = server.merchant("Toko ABC", Some(&slow.url)).await;
    let (invoice, _) = pay(&server, &m, 25000).await;
    slow.next().await;
    let (payment, db) = (server.payment(&m, &invoice).await.id, server.db.clone());
    let stopping = tokio::spawn(server.stop());
    slow.release();
    within("shutdown", stopping).await.expect("stopped");
    let stored = db
        .read(move |c| c.deliveries_for_payment(payment))
        .await
        .expect("read");
    assert_eq!(
        stored[0].status,
        DeliveryStatus::Delivered,
        "finished and recorded, not abandoned"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server =
        TestServer::start_with(|c| c.webhook.retry_schedule = RetrySchedule(Vec::new())).await;
    let mut receiver = Receiver::start().await;
    let url = receiver.url.replace("/webhook", "/redirect");
    let m = server.merchant("Toko ABC", Some(&url)).await;
    let mut operator = server.operator_socket().await;
    let (invoice, _) = pay(&server, &m, 25000).await;
    let failure = operator.next_event("webhook_failed").await;
    assert_eq!(failure["data"]["status_code"], 307);
    assert!(
        failure["data"]["next_attempt_at"].is_null(),
        "a single attempt was configured"
    );
    receiver.next().await;
    assert!(
        receiver.try_next().is_none(),
        "the redirect target was never called"
    );
    assert_eq!(
        deliveries(&server, &m, &invoice).await[0].status,
        DeliveryStatus::Failed
    );
}

#[tokio::test]
async fn a_loopback_target_is_refused_when_private_targets_are_not_allowed() {
    let server = TestServer::start_with(|c| {
        c.webhook.allow_private_targets = false;
        c.webhook.retry_schedule = RetrySchedule(Vec::new());
    })
    .await;
    let mut receiver = Receiver::start().await;
    // The URL was accepted earlier (say, when the switch was on); the check at delivery time still holds.
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let mut operator = server.operator_socket().await;
    let (invoice, _) = pay(&server, &m, 25000).await;
    let failure = operator.next_event("webhook_failed").await;
    let error = failure["data"]["error"].as_str().expect("error");
    assert!(
        error.contains("loopback") && error.contains("allow_private_targets"),
        "{error}"
    );
    let stored = deliveries(&server, &m, &invoice).await;
    assert_eq!(stored[0].status, DeliveryStatus::Failed);
    let delivery = stored[0].id;
    let attempts = server
        .db
        .read(move |c| c.delivery_attempts(delivery))
        .await
        .expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status_code, None);
    assert!(
        attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("loopback"))
    );
    assert!(
        receiver.try_next().is_none(),
        "nothing reached the loopback receiver"
    );
}

#[tokio::test]
async fn a_merchant_without_a_webhook_url_gets_no_delivery_row() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (invoice, _) = pay(&server, &m, 25000).await;
    assert!(deliveries(&server, &m, &invoice).await.is_empty());
}
