//! `POST /api/payments/qris/create` and `GET /api/payments/{invoiceId}/status`.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use webqris_core::Timestamp;
use webqris_core::qris::{self, PointOfInitiation};
use webqris_server::config::Seconds;
use webqris_server::merchant;

use crate::support::{TestServer, dana};

#[tokio::test]
async fn create_answers_201_with_a_dynamic_qris_for_the_unique_total() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let before = server.clock.now();
    let body = server.create_payment(&m, 25000).await;

    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "success",
            "invoice_id",
            "qris_payload",
            "amount",
            "unique_code",
            "total_amount",
            "expired_at",
            "payment_url"
        ],
        "exactly the documented fields in their documented order, plus the hosted page's payment_url"
    );
    assert_eq!(body["success"], true);
    assert_eq!(body["amount"], 25000);
    let code = body["unique_code"].as_i64().expect("code");
    assert!((1..=999).contains(&code), "unique code {code}");
    let total = body["total_amount"].as_i64().expect("total");
    assert_eq!(total, 25000 + code);

    let invoice = body["invoice_id"].as_str().expect("id");
    let parts: Vec<&str> = invoice.split('-').collect();
    assert_eq!(parts.len(), 3, "{invoice}");
    assert_eq!(parts[0], "INV");
    let seconds: i64 = parts[1].parse().expect("unix seconds");
    assert!(
        (seconds - before.as_millis() / 1000).abs() <= 5,
        "{invoice}"
    );
    assert!(
        parts[2].len() == 6
            && parts[2]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{invoice}"
    );

    let payload = body["qris_payload"].as_str().expect("payload");
    let summary = qris::parse(payload).expect("a valid QRIS").summary();
    assert_eq!(summary.point_of_initiation, PointOfInitiation::Dynamic);
    assert_eq!(
        summary.amount.map(|a| a.to_string()),
        Some(total.to_string()),
        "tag 54 carries the total"
    );

    let expired_at =
        Timestamp::parse(body["expired_at"].as_str().expect("expired_at")).expect("ISO");
    assert!(body["expired_at"].as_str().expect("text").ends_with('Z'));
    let lifetime = expired_at.as_millis() - before.as_millis();
    assert!(
        (1_799_000..=1_805_000).contains(&lifetime),
        "30 minutes by default, got {lifetime} ms"
    );
}

#[tokio::test]
async fn status_is_pending_then_paid_with_the_forwarding_app_as_method() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let created = server.create_payment(&m, 25000).await;
    let invoice = created["invoice_id"].as_str().expect("id");

    let (code, pending) = server.status(&m, invoice).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        pending,
        json!({
            "success": true,
            "data": {
                "invoice_id": invoice,
                "merchant_order_id": "ORDER-001",
                "qris_payload": created["qris_payload"],
                "amount": 25000,
                "unique_code": created["unique_code"],
                "total_amount": created["total_amount"],
                "status": "pending",
                "payment_method": null,
                "paid_at": null,
                "expired_at": created["expired_at"],
            }
        })
    );

    let total = created["total_amount"].as_i64().expect("total");
    let (code, _) = server.notify(&m, &dana(total)).await;
    assert_eq!(code, StatusCode::OK);
    let (_, paid) = server.status(&m, invoice).await;
    assert_eq!(paid["data"]["status"], "paid");
    assert_eq!(paid["data"]["payment_method"], "com.dana.id");
    let paid_at =
        Timestamp::parse(paid["data"]["paid_at"].as_str().expect("paid_at")).expect("ISO");
    assert!(paid_at <= server.clock.now());
}

#[tokio::test]
async fn another_merchants_invoice_answers_exactly_like_a_missing_one() {
    let server = TestServer::start().await;
    let a = server.merchant("Toko A", None).await;
    let b = server.merchant("Toko B", None).await;
    let invoice = server.create_payment(&a, 25000).await["invoice_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let foreign = server.status(&b, &invoice).await;
    let missing = server.status(&b, "INV-1700000000-zzzzzz").await;
    assert_eq!(foreign.0, StatusCode::NOT_FOUND);
    assert_eq!(foreign, missing, "no hint that the invoice exists");
    assert_eq!(
        foreign.1,
        json!({"success": false, "message": "Payment not found"})
    );
}

#[tokio::test]
async fn missing_wrong_and_revoked_tokens_are_401() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let body = json!({"amount": 25000});
    let url = server.url("/api/payments/qris/create");

    let (code, missing) = server.send(server.http.post(&url).json(&body)).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(missing["success"], false);
    let (code, _) = server
        .post("/api/payments/qris/create", "wqk_not-a-real-token", &body)
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = server
        .post("/api/payments/qris/create", &m.callback_secret, &body)
        .await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "a callback secret is not an API token"
    );

    let second = merchant::issue_api_token(&server.db, m.id, false, server.clock.now())
        .await
        .expect("second token");
    let (code, _) = server
        .post("/api/payments/qris/create", second.token.expose(), &body)
        .await;
    assert_eq!(
        code,
        StatusCode::CREATED,
        "a merchant may hold several tokens"
    );
    let revoked =
        merchant::revoke_api_token(&server.db, m.id, second.prefix.clone(), server.clock.now())
            .await
            .expect("revoke");
    assert_eq!(revoked, 1);
    let (code, body) = server
        .post("/api/payments/qris/create", second.token.expose(), &body)
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");
    let (code, _) = server
        .post(
            "/api/payments/qris/create",
            &m.token,
            &json!({"amount": 1000}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "the other token still works");
}

#[tokio::test]
async fn amount_must_be_a_positive_integer_within_the_bounds() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    for body in [
        json!({"amount": 0}),
        json!({"amount": -5}),
        json!({"amount": 10_000_001}),
        json!({"amount": "25000"}),
        json!({"amount": 250.5}),
        json!({"amount": null}),
        json!({"merchant_order_id": "x"}),
        json!([25000]),
    ] {
        let (code, answer) = server
            .post("/api/payments/qris/create", &m.token, &body)
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        assert_eq!(answer["success"], false);
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains("amount") || m.contains("object")),
            "{answer}"
        );
    }
    let (code, _) = server
        .post(
            "/api/payments/qris/create",
            &m.token,
            &json!({"amount": 10_000_000}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "the maximum itself is accepted");
}

#[tokio::test]
async fn a_merchant_without_qris_gets_503() {
    let server = TestServer::start().await;
    let m = server.merchant_with("Toko Kosong", None, None).await;
    let (code, body) = server
        .post(
            "/api/payments/qris/create",
            &m.token,
            &json!({"amount": 25000}),
        )
        .await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        json!({"success": false, "message": "QRIS is not configured for this merchant"})
    );
}

#[tokio::test]
async fn an_overdue_invoice_is_expired_before_the_sweep_runs() {
    let server = TestServer::start_with(|c| c.invoice.ttl_secs = Seconds::from_secs(60)).await;
    let m = server.merchant("Toko ABC", None).await;
    let invoice = server.create_payment(&m, 25000).await["invoice_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(server.status_of(&m, &invoice).await, "pending");
    server.clock.advance(Duration::from_secs(61));
    assert_eq!(server.status_of(&m, &invoice).await, "expired");
    let stored = server.payment(&m, &invoice).await;
    assert_eq!(
        stored.status.as_str(),
        "pending",
        "the sweep has not run; status is computed"
    );
}

#[tokio::test]
async fn return_url_is_stored_payment_url_points_at_the_public_page_and_text_fields_are_bounded() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (code, body) = server
        .post(
            "/api/payments/qris/create",
            &m.token,
            &json!({"amount": 1000, "return_url": "https://shop.example.com/thanks"}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED);
    let page = body["payment_url"].as_str().expect("payment_url");
    let token = page
        .strip_prefix(&server.url("/pay/"))
        .expect("on this server's public URL");
    assert_eq!(token.len(), 43, "256 random bits, not guessable: {page}");
    assert!(!page.contains(body["invoice_id"].as_str().expect("id")));
    let stored = server
        .payment(&m, body["invoice_id"].as_str().expect("id"))
        .await;
    assert_eq!(
        stored.return_url.as_deref(),
        Some("https://shop.example.com/thanks")
    );

    for bad in [
        json!({"amount": 1000, "return_url": "javascript:alert(1)"}),
        json!({"amount": 1000, "merchant_order_id": "x".repeat(256)}),
        json!({"amount": 1000, "customer_name": "y".repeat(256)}),
    ] {
        let (code, answer) = server
            .post("/api/payments/qris/create", &m.token, &bad)
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{answer}");
    }
}
