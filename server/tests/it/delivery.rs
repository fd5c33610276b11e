//! Outbound webhooks: exact signed body, retries with a stable id, attempt log, isolation between
//! merchants (fair claiming, per-endpoint caps, the circuit breaker), one attempt in flight per
//! `webhook-id`, redirects not followed, the SSRF guard, and graceful shutdown finishing attempts in
//! flight.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use webqris_server::config::{RetrySchedule, Seconds};
use webqris_server::db::{AttemptInfo, Circuit, DeliveryInfo, DeliveryStatus, MerchantId};

use crate::support::{Receiver, TestMerchant, TestServer, dana, refusing_url, within};

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

/// Stops the server gracefully (it waits for the attempts in flight, so the log is complete afterwards) and
/// returns the invoice's delivery and its attempts.
async fn stop_and_read_log(
    server: TestServer,
    m: &TestMerchant,
    invoice: &str,
) -> (DeliveryInfo, Vec<AttemptInfo>) {
    let (payment, db) = (server.payment(m, invoice).await.id, server.db.clone());
    server.stop().await;
    let stored = db
        .read(move |c| c.deliveries_for_payment(payment))
        .await
        .expect("read");
    let delivery = stored.into_iter().next().expect("one delivery");
    let id = delivery.id;
    let attempts = db
        .read(move |c| c.delivery_attempts(id))
        .await
        .expect("attempts");
    (delivery, attempts)
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

    let (delivery, attempts) = stop_and_read_log(server, &m, &invoice).await;
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.attempts, 3);
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

async fn endpoint_circuit(server: &TestServer, m: MerchantId) -> Option<(Circuit, i64)> {
    server
        .db
        .read(move |c| c.endpoint_health(m))
        .await
        .expect("read")
        .map(|h| (h.circuit, h.failures))
}

#[tokio::test]
async fn a_hanging_and_a_refusing_endpoint_do_not_delay_a_healthy_one() {
    // Four attempts in flight in all, two per endpoint; the hanging endpoint's attempts would hold their
    // slots for a minute. Without fair claiming its backlog takes all four slots and the healthy webhooks
    // wait a minute; the bound below (WAIT, 15 s) is a quarter of that.
    let server = TestServer::start_with(|c| {
        c.webhook.concurrency = 4;
        c.webhook.endpoint_concurrency = 2;
        c.webhook.timeout_secs = Seconds::from_secs(60);
        c.webhook.breaker_threshold = 3;
        c.webhook.breaker_probe_secs = Seconds::from_secs(3600);
    })
    .await;
    let mut hanging = Receiver::holding().await;
    let mut healthy = Receiver::start().await;
    let refusing = refusing_url().await;
    let h = server.merchant("Toko Macet", Some(&hanging.url)).await;
    let r = server.merchant("Toko Tutup", Some(&refusing)).await;
    let g = server.merchant("Toko Sehat", Some(&healthy.url)).await;
    let mut operator = server.operator_socket().await;
    for n in 0..6 {
        pay(&server, &h, 20000 + n).await;
        pay(&server, &r, 21000 + n).await;
    }
    // The hanging endpoint holds its two slots, never more.
    hanging.next().await;
    hanging.next().await;
    let amounts: Vec<i64> = (0..10).map(|n| 30000 + n).collect();
    for amount in &amounts {
        pay(&server, &g, *amount).await;
    }
    let mut arrived = within(
        "every healthy webhook while the others hang or refuse",
        async {
            let mut arrived = Vec::new();
            while arrived.len() < amounts.len() {
                let hook = healthy.next().await;
                arrived.push(hook.json()["data"]["amount"].as_i64().expect("amount"));
            }
            arrived
        },
    )
    .await;
    arrived.sort_unstable();
    assert_eq!(arrived, amounts);
    assert!(
        hanging.try_next().is_none(),
        "no third attempt in flight to the hanging endpoint"
    );
    // The refusing endpoint's circuit opened after three refusals in a row (the probe is an hour away);
    // its other webhooks wait in the outbox.
    loop {
        let failure = operator.next_event("webhook_failed").await;
        if failure["data"]["merchant_name"] == "Toko Tutup"
            && endpoint_circuit(&server, r.id).await.map(|(c, _)| c) == Some(Circuit::Open)
        {
            break;
        }
    }
    let (circuit, failures) = endpoint_circuit(&server, r.id).await.expect("state");
    assert_eq!(circuit, Circuit::Open);
    // Two attempts may be in flight when the third refusal opens it.
    assert!((3..=4).contains(&failures), "{failures} refusals in a row");
    let (merchant, now) = (r.id, server.clock.now());
    let waiting = server
        .db
        .read(move |c| c.endpoint_status(merchant, now))
        .await
        .expect("status");
    assert_eq!(
        waiting.pending, 6,
        "nothing dropped: every refused webhook is still pending"
    );
    hanging.release();
    hanging.release();
}

#[tokio::test]
async fn the_breaker_opens_after_timeouts_survives_a_restart_and_closes_when_the_endpoint_answers()
{
    // One attempt at a time; two timeouts in a row open the circuit. Retries and probes are an hour
    // away, and the test moves the server's clock to reach them.
    let server = TestServer::start_with(|c| {
        c.webhook.endpoint_concurrency = 1;
        c.webhook.timeout_secs = Seconds::from_secs(2);
        c.webhook.breaker_threshold = 2;
        c.webhook.breaker_probe_secs = Seconds::from_secs(3600);
        c.webhook.retry_schedule = "3600,3600,3600".parse().expect("schedule");
    })
    .await;
    let mut receiver = Receiver::holding().await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let mut operator = server.operator_socket().await;
    let mut invoices = Vec::new();
    for n in 0..4 {
        invoices.push(pay(&server, &m, 25000 + n).await.0);
    }
    for _ in 0..2 {
        receiver.next().await;
        let failure = operator.next_event("webhook_failed").await;
        assert!(
            failure["data"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("timed out") || e.contains("timeout")),
            "{failure}"
        );
    }
    assert_eq!(
        endpoint_circuit(&server, m.id).await,
        Some((Circuit::Open, 2))
    );
    let dashboard_view = {
        let merchant = m.id;
        let now = server.clock.now();
        server
            .db
            .read(move |c| c.endpoint_status(merchant, now))
            .await
            .expect("status")
    };
    assert_eq!(dashboard_view.pending, 4);
    assert_eq!(dashboard_view.in_flight, 0, "no probe before its time");

    // The state is stored: after a restart the circuit is still open and every delivery still due.
    let server = server.restart().await;
    let mut operator = server.operator_socket().await;
    assert_eq!(
        endpoint_circuit(&server, m.id).await,
        Some((Circuit::Open, 2))
    );
    let mut attempts = Vec::new();
    for invoice in &invoices {
        let d = deliveries(&server, &m, invoice).await;
        assert_eq!(d[0].status, DeliveryStatus::Pending, "nothing dropped");
        attempts.push(d[0].attempts);
    }
    assert_eq!(attempts, [1, 1, 0, 0], "the waiting ones were never tried");

    // The endpoint answers again; once the probe is due, one goes out, succeeds and closes the circuit,
    // and the backlog follows one at a time.
    for _ in 0..100 {
        receiver.release();
    }
    server.clock.advance(Duration::from_secs(3601));
    let (fifth, _) = pay(&server, &m, 26000).await;
    invoices.push(fifth);
    within("the whole backlog after the circuit closed", async {
        for _ in 0..invoices.len() {
            operator.next_event("webhook_delivered").await;
        }
    })
    .await;
    assert_eq!(
        endpoint_circuit(&server, m.id).await,
        Some((Circuit::Closed, 0))
    );
    for invoice in &invoices {
        let d = deliveries(&server, &m, invoice).await;
        assert_eq!(d[0].status, DeliveryStatus::Delivered, "{invoice}");
    }
}

#[tokio::test]
async fn one_webhook_id_is_never_in_flight_twice_even_past_its_lease() {
    // The server's clock jumps ten minutes ahead while A's attempt runs, past its lease (30 s) and the
    // attempt timeout: what a commit stall longer than both looks like to the next claim. That claim is
    // the one B's finishing attempt makes for its slot, in the same write as its record: it must renew
    // this worker's other leases first and leave A alone. (Without that, the old one-shot lease let the
    // claim send A a second copy.)
    let server = TestServer::start_with(|c| {
        c.webhook.lease_secs = Seconds::from_secs(30);
        c.webhook.timeout_secs = Seconds::from_secs(60);
    })
    .await;
    let mut slow = Receiver::holding().await;
    let mut other = Receiver::holding().await;
    let a = server.merchant("Toko Lambat", Some(&slow.url)).await;
    let b = server.merchant("Toko Lain", Some(&other.url)).await;
    let mut operator = server.operator_socket().await;
    let (invoice, _) = pay(&server, &a, 25000).await;
    let first = slow.next().await;
    pay(&server, &b, 30000).await;
    other.next().await;
    server.clock.advance(Duration::from_secs(600));
    other.release();
    operator.next_event("webhook_delivered").await;
    let held = deliveries(&server, &a, &invoice).await;
    assert_eq!(held[0].attempts, 1, "not claimed a second time");
    assert!(
        held[0]
            .lease_until
            .is_some_and(|until| until.as_millis() > server.clock.now().as_millis()),
        "the lease was renewed past the jump: {:?}",
        held[0].lease_until
    );
    // A claim round of the worker itself (a new payment rings it) leaves it alone too.
    pay(&server, &b, 30001).await;
    other.next().await;
    other.release();
    operator.next_event("webhook_delivered").await;
    assert_eq!(deliveries(&server, &a, &invoice).await[0].attempts, 1);
    slow.release();
    let (delivery, attempts) = stop_and_read_log(server, &a, &invoice).await;
    assert!(
        slow.try_next().is_none(),
        "a single attempt of {} was in flight",
        first.header("webhook-id")
    );
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(attempts.len(), 1);
}
