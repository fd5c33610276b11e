//! `GET /metrics`: the operator token guards it (or `metrics.public` opens it), a payment moves exactly
//! the counters it should, the stored gauges follow the outbox and the devices, and no label ever holds
//! a merchant's name, a secret, an invoice id, an amount or a raw path.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use webqris_server::config::{RetrySchedule, Seconds};

use super::{operator_token, scrape};
use crate::outage::replay;
use crate::support::{Receiver, TestServer, dana, within};

const PAID_BY_DANA: &str = r#"webqris_payments_paid_total{method="app",family="dana"}"#;
const DANA_NOTIFICATION_PAID: &str =
    r#"webqris_notifications_total{source="forwarder",outcome="paid",family="dana"}"#;
const CREATED: &str = "webqris_payments_created_total";
const DELIVERED: &str = r#"webqris_webhook_attempts_total{result="delivered"}"#;
const REJECTED: &str = r#"webqris_webhook_attempts_total{result="rejected"}"#;
const FAILING: &str = "webqris_webhook_endpoints_failing";
const DELIVERED_TIMED: &str =
    r#"webqris_webhook_attempt_duration_seconds_count{result="delivered"}"#;
const CREATE_201: &str =
    r#"webqris_http_requests_total{method="POST",route="/api/payments/qris/create",status="201"}"#;
const STATUS_200: &str = r#"webqris_http_requests_total{method="GET",route="/api/payments/{invoice_id}/status",status="200"}"#;
const COMMITS: &str = "webqris_db_commit_duration_seconds_count";

#[tokio::test]
async fn metrics_need_the_operator_token_in_the_header_and_nothing_else_opens_them() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let operator = operator_token(&server).await;
    let url = server.url("/metrics");
    for (what, request) in [
        ("no credential", server.http.get(&url)),
        (
            "a merchant's API token",
            server.http.get(&url).bearer_auth(&m.token),
        ),
        (
            "a callback secret",
            server.http.get(&url).bearer_auth(&m.callback_secret),
        ),
        (
            "a made-up token",
            server.http.get(&url).bearer_auth("wqadm_guess"),
        ),
        (
            "the operator token in the query",
            server.http.get(format!("{url}?token={operator}")),
        ),
    ] {
        let response = within("an answer", request.send()).await.expect("answers");
        assert_eq!(response.status().as_u16(), 401, "{what}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["success"], false, "{what}");
        assert!(body["message"].as_str().is_some(), "{what}");
    }
    let scraped = scrape(&server, &operator).await;
    assert!(
        scraped
            .text
            .contains("# TYPE webqris_payments_created_total counter")
    );
}

#[tokio::test]
async fn metrics_public_serves_them_without_a_credential() {
    let server = TestServer::start_with(|c| c.metrics.public = true).await;
    let (status, _) = server.send(server.http.get(server.url("/metrics"))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_payment_moves_its_counters_and_the_scrape_names_no_merchant_secret_invoice_or_amount() {
    let receiver = Receiver::start().await;
    let server = TestServer::start().await;
    let m = server
        .merchant("Toko Rahasia Bu Sri", Some(&receiver.url))
        .await;
    let operator = operator_token(&server).await;
    let before = scrape(&server, &operator).await;

    let mut socket = server.merchant_socket(&m).await;
    let invoice = server.create_payment(&m, 25_000).await;
    let invoice_id = invoice["invoice_id"].as_str().expect("id").to_owned();
    let total = invoice["total_amount"].as_i64().expect("total");
    let (status, body) = server.notify(&m, &dana(total)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    socket.next_event("webhook_delivered").await;
    assert_eq!(server.status_of(&m, &invoice_id).await, "paid");
    let after = scrape(&server, &operator).await;

    for (series, increase) in [
        (CREATED, 1.0),
        (PAID_BY_DANA, 1.0),
        (DANA_NOTIFICATION_PAID, 1.0),
        (DELIVERED, 1.0),
        (DELIVERED_TIMED, 1.0),
        (CREATE_201, 1.0),
        (STATUS_200, 1.0),
    ] {
        assert_eq!(
            after.get(series) - before.get(series),
            increase,
            "{series}\n{}",
            after.text
        );
    }
    assert!(
        after.get(COMMITS) > before.get(COMMITS),
        "commits are timed"
    );
    assert!(
        after.get("webqris_db_write_batch_size_sum")
            >= after.get("webqris_db_write_batch_size_count")
    );
    assert_eq!(
        after.get(r#"webqris_websockets_open{kind="merchant"}"#),
        1.0
    );
    assert_eq!(after.get("webqris_webhook_outbox_pending"), 0.0);

    for secret in [
        m.name.as_str(),
        &m.token,
        &m.callback_secret,
        &m.webhook_secret,
        &operator,
        &invoice_id,
        "JOHN DOE",
    ] {
        assert!(!after.text.contains(secret), "the scrape shows {secret:?}");
    }
    let amounts = [total.to_string(), "25000".to_owned(), "25.042".to_owned()];
    for (name, values) in after.label_values() {
        for value in values {
            assert!(
                !amounts.iter().any(|a| value.contains(a.as_str())),
                "{name} has the label value {value:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_outbox_gauges_show_a_delivery_in_flight_until_it_is_delivered() {
    let mut receiver = Receiver::holding().await;
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let operator = operator_token(&server).await;
    let invoice = server.create_payment(&m, 10_000).await;
    let total = invoice["total_amount"].as_i64().expect("total");
    let mut socket = server.merchant_socket(&m).await;
    server.notify(&m, &dana(total)).await;
    receiver.next().await;
    let held = scrape(&server, &operator).await;
    assert_eq!(
        held.get("webqris_webhook_outbox_pending"),
        1.0,
        "{}",
        held.text
    );
    assert_eq!(held.get("webqris_webhook_outbox_in_flight"), 1.0);
    assert_eq!(
        held.get("webqris_webhook_outbox_due"),
        0.0,
        "in flight, not waiting"
    );
    assert_eq!(
        held.get("webqris_webhook_outbox_oldest_due_age_seconds"),
        0.0,
        "in flight, not waiting"
    );
    receiver.release();
    socket.next_event("webhook_delivered").await;
    let done = scrape(&server, &operator).await;
    assert_eq!(done.get("webqris_webhook_outbox_pending"), 0.0);
    assert_eq!(done.get("webqris_webhook_outbox_in_flight"), 0.0);
    assert_eq!(
        done.get("webqris_webhook_outbox_oldest_due_age_seconds"),
        0.0
    );
}

#[tokio::test]
async fn an_endpoint_failing_for_an_hour_is_counted_until_a_replayed_attempt_is_delivered() {
    let server = TestServer::start_with(|c| {
        c.webhook.retry_schedule = RetrySchedule(Vec::new());
        c.webhook.alert_sweep_secs = Seconds::from_duration(Duration::from_millis(20));
        c.webhook.poll_secs = Seconds::from_duration(Duration::from_millis(50));
    })
    .await;
    let receiver = Receiver::failing_with(503).await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let operator = operator_token(&server).await;
    let mut socket = server.operator_socket().await;
    let since = server.clock.now().to_iso();
    let invoice = server.create_payment(&m, 25_000).await;
    let total = invoice["total_amount"].as_i64().expect("total");
    server.notify(&m, &dana(total)).await;
    socket.next_event("webhook_failed").await;
    let failed = scrape(&server, &operator).await;
    assert_eq!(failed.get(REJECTED), 1.0, "{}", failed.text);
    assert_eq!(failed.get(FAILING), 0.0, "not for an hour yet");

    server.clock.advance(Duration::from_secs(3601));
    socket.next_event("webhook_alert").await;
    let alerting = scrape(&server, &operator).await;
    assert_eq!(alerting.get(FAILING), 1.0, "{}", alerting.text);

    // The receiver is back; the operator replays the webhook with the command line (another process).
    receiver.respond_with(200);
    let (ok, answer) = replay(&server, m.id, &["--since", &since]);
    assert!(ok, "{answer}");
    let recovered = socket.next_event("webhook_alert").await;
    assert_eq!(recovered["data"]["failing"], false, "{recovered}");
    let after = scrape(&server, &operator).await;
    assert_eq!(after.get(DELIVERED), 1.0, "the replayed attempt is counted");
    assert_eq!(after.get(REJECTED), 1.0);
    assert_eq!(after.get(FAILING), 0.0, "{}", after.text);
}

#[tokio::test]
async fn a_forwarder_not_heard_from_for_the_silence_window_counts_as_silent() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let operator = operator_token(&server).await;
    let (status, _) = server
        .post(
            "/api/forwarder/heartbeat",
            &m.callback_secret,
            &json!({"device_id": "kasir-01", "outbox_pending": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = scrape(&server, &operator).await;
    assert_eq!(fresh.get("webqris_forwarder_devices"), 1.0);
    assert_eq!(fresh.get("webqris_forwarder_devices_silent"), 0.0);
    server
        .clock
        .advance(server.config.forwarder.silence_alert_secs.duration() + Duration::from_secs(1));
    let later = scrape(&server, &operator).await;
    assert_eq!(
        later.get("webqris_forwarder_devices_silent"),
        1.0,
        "{}",
        later.text
    );
}

#[tokio::test]
async fn raw_paths_and_odd_methods_never_become_labels_so_the_scrape_stays_bounded() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let operator = operator_token(&server).await;
    for n in 0..200 {
        server
            .send(
                server
                    .http
                    .get(server.url(&format!("/no/such/path/{n}?token=secret-{n}"))),
            )
            .await;
        server.status(&m, &format!("INV-0-guess{n}")).await;
    }
    let odd = reqwest::Method::from_bytes(b"BREW").expect("a method token");
    server
        .send(server.http.request(odd, server.url("/healthz")))
        .await;
    let scraped = scrape(&server, &operator).await;
    assert_eq!(
        scraped.get(r#"webqris_http_requests_total{method="GET",route="unmatched",status="404"}"#),
        200.0
    );
    assert_eq!(
        scraped.get(r#"webqris_http_requests_total{method="GET",route="/api/payments/{invoice_id}/status",status="404"}"#),
        200.0
    );
    assert!(
        scraped.text.contains(
            r#"webqris_http_requests_total{method="other",route="/healthz",status="405"}"#
        ),
        "{}",
        scraped.text
    );
    for leaked in ["/no/such/path", "secret-", "guess", "BREW"] {
        assert!(
            !scraped.text.contains(leaked),
            "the scrape shows {leaked:?}"
        );
    }
    let series = scraped
        .text
        .lines()
        .filter(|l| l.starts_with("webqris_http_requests_total"))
        .count();
    assert!(
        series <= 6,
        "{series} request series after 401 requests:\n{}",
        scraped.text
    );
}
