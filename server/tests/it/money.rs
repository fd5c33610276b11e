//! The money invariants under concurrency, over HTTP: distinct totals among pending invoices, one paid
//! transition per payment, duplicates answered as duplicates.

use std::collections::HashSet;

use axum::http::StatusCode;
use futures_util::future::join_all;
use serde_json::json;
use webqris_core::wire::PaymentStatus;
use webqris_server::db::NotificationOutcome;

use crate::support::{TestServer, dana, gopay, with};

#[tokio::test]
async fn three_hundred_concurrent_creates_for_one_amount_get_distinct_totals() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let body = json!({"amount": 25000});
    let answers =
        join_all((0..300).map(|_| server.post("/api/payments/qris/create", &m.token, &body))).await;
    let mut totals = HashSet::new();
    for (code, answer) in &answers {
        assert_eq!(*code, StatusCode::CREATED, "{answer}");
        assert!(
            totals.insert(answer["total_amount"].as_i64().expect("total")),
            "duplicate total {answer}"
        );
    }
    assert_eq!(totals.len(), 300);
    let merchant = m.id;
    assert_eq!(
        server
            .db
            .read(move |c| c.pending_count(merchant))
            .await
            .expect("count"),
        300
    );
}

#[tokio::test]
async fn the_thousandth_pending_invoice_for_one_amount_gets_503() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let body = json!({"amount": 50000});
    let mut totals = HashSet::new();
    for chunk in 0..(999 / 111) {
        let answers =
            join_all((0..111).map(|_| server.post("/api/payments/qris/create", &m.token, &body)))
                .await;
        for (code, answer) in answers {
            assert_eq!(code, StatusCode::CREATED, "chunk {chunk}: {answer}");
            totals.insert(answer["total_amount"].as_i64().expect("total"));
        }
    }
    assert_eq!(totals.len(), 999, "every code from 1 to 999 used once");
    let (code, answer) = server
        .post("/api/payments/qris/create", &m.token, &body)
        .await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer["success"], false);
    let (code, _) = server
        .post(
            "/api/payments/qris/create",
            &m.token,
            &json!({"amount": 60000}),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::CREATED,
        "another amount still has free codes"
    );
}

#[tokio::test]
async fn two_different_notifications_of_one_total_racing_pay_exactly_one_invoice() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    for round in 0..20 {
        let created = server.create_payment(&m, 20000 + round).await;
        let total = created["total_amount"].as_i64().expect("total");
        let invoice = created["invoice_id"].as_str().expect("id");
        let (from_dana, from_gopay) = (dana(total), gopay(total));
        let (a, b) = tokio::join!(
            server.notify(&m, &from_dana),
            server.notify(&m, &from_gopay)
        );
        let successes: Vec<_> = [&a, &b]
            .into_iter()
            .filter(|(_, body)| body["success"] == true)
            .collect();
        assert_eq!(
            successes.len(),
            1,
            "round {round}: exactly one paid: {a:?} {b:?}"
        );
        assert_eq!(successes[0].1["invoice_id"], invoice);
        let other = if a.1["success"] == true { &b } else { &a };
        assert!(
            other.0 == StatusCode::NOT_FOUND || other.1["message"] == "Duplicate notification",
            "round {round}: the other is 404 or duplicate, never a second paid: {other:?}"
        );
        assert_eq!(
            server.payment(&m, invoice).await.status,
            PaymentStatus::Paid
        );
    }
}

#[tokio::test]
async fn the_same_notification_sent_ten_times_at_once_pays_once_and_nine_are_duplicates() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let created = server.create_payment(&m, 25000).await;
    let total = created["total_amount"].as_i64().expect("total");
    let body = with(
        dana(total),
        json!({"notif_id": "key@1774088123000", "event_hash": "same-event"}),
    );
    let answers = join_all((0..10).map(|_| server.notify(&m, &body))).await;
    let paid = answers.iter().filter(|(_, a)| a["success"] == true).count();
    let duplicates = answers
        .iter()
        .filter(|(code, a)| *code == StatusCode::OK && a["message"] == "Duplicate notification")
        .count();
    assert_eq!((paid, duplicates), (1, 9), "{answers:?}");
    let outcomes: Vec<_> = server
        .notifications(&m)
        .await
        .iter()
        .map(|n| n.outcome)
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == NotificationOutcome::Paid)
            .count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == NotificationOutcome::Duplicate)
            .count(),
        9
    );
}
