//! `POST /api/callback/notify` (the simple notifier) and the manual confirmation path the dashboard will
//! use: the same paid transition and outbox as notifications.

use axum::http::StatusCode;
use serde_json::json;
use webqris_server::db::{NotificationOutcome, PaymentMethod};

use crate::support::{Receiver, TestServer};

#[tokio::test]
async fn a_callback_with_a_pending_total_pays_it_with_method_callback() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let created = server.create_payment(&m, 25000).await;
    let (invoice, total) = (
        created["invoice_id"].as_str().expect("id"),
        created["total_amount"].clone(),
    );
    let (code, body) = server
        .callback(
            &m,
            &json!({"amount": total, "sender_name": "JOHN DOE", "reference": "optional-reference"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body, json!({"success": true, "invoice_id": invoice}));
    let (_, status) = server.status(&m, invoice).await;
    assert_eq!(status["data"]["status"], "paid");
    assert_eq!(status["data"]["payment_method"], "callback");
}

#[tokio::test]
async fn a_callback_is_404_without_a_match_400_for_a_bad_amount_401_for_a_bad_key() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (code, body) = server.callback(&m, &json!({"amount": 25042})).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"success": false, "message": "No matching pending payment", "parsed_amount": 25042, "merchant": "Toko ABC"})
    );
    for bad in [
        json!({"amount": 0}),
        json!({"amount": -1}),
        json!({"amount": "25042"}),
        json!({}),
    ] {
        let (code, answer) = server.callback(&m, &bad).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{bad} -> {answer}");
        assert_eq!(answer["success"], false);
    }
    let (code, _) = server
        .send(
            server
                .http
                .post(server.url("/api/callback/notify"))
                .header("X-Callback-Key", "nope")
                .json(&json!({"amount": 1})),
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let created = server.create_payment(&m, 1000).await;
    let (code, _) = server
        .post(
            "/api/callback/notify",
            &m.callback_secret,
            &json!({"amount": created["total_amount"]}),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::OK,
        "the bearer form of the callback secret works too"
    );
}

#[tokio::test]
async fn a_callback_reference_seen_before_is_a_duplicate_and_without_one_nothing_is_dropped() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let created = server.create_payment(&m, 25000).await;
    let total = created["total_amount"].clone();
    let body = json!({"amount": total, "reference": "TRX-1"});
    assert_eq!(server.callback(&m, &body).await.0, StatusCode::OK);
    let (code, again) = server.callback(&m, &body).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        again,
        json!({"success": false, "message": "Duplicate notification", "reference": "TRX-1"})
    );

    // The same amount again without a reference is another payment: kept, unmatched, visible.
    let (code, _) = server.callback(&m, &json!({"amount": total})).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let outcomes: Vec<_> = server
        .notifications(&m)
        .await
        .iter()
        .map(|n| n.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            NotificationOutcome::NoMatch,
            NotificationOutcome::Duplicate,
            NotificationOutcome::Paid
        ]
    );
}

#[tokio::test]
async fn manual_confirmation_uses_the_same_transition_and_outbox() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let created = server.create_payment(&m, 25000).await;
    let payment = server
        .payment(&m, created["invoice_id"].as_str().expect("id"))
        .await;
    let now = server.clock.now();
    let paid = server
        .db
        .write(move |tx| tx.mark_paid(payment.id, &PaymentMethod::Manual, None, now))
        .await
        .expect("write")
        .expect("pending, so payable");
    assert_eq!(paid.payment.payment_method.as_deref(), Some("manual"));
    let delivery = paid
        .delivery
        .expect("an outbox row in the same transaction");
    let stored = server
        .db
        .read(move |c| c.delivery(delivery))
        .await
        .expect("read")
        .expect("row");
    let body: serde_json::Value = serde_json::from_slice(&stored.body).expect("JSON");
    assert_eq!(body["data"]["payment_method"], "manual");
    let again = server
        .db
        .write(move |tx| tx.mark_paid(payment.id, &PaymentMethod::Manual, None, now))
        .await
        .expect("write");
    assert!(again.is_none(), "a paid invoice is not paid twice");
}
