//! `POST /api/webhook/payment`: the contract's answers and the money rules on duplicates, re-used totals,
//! late payments and notifications that are not payments.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use webqris_server::config::Seconds;
use webqris_server::db::NotificationOutcome;

use crate::support::{TestMerchant, TestServer, dana, gobiz, gopay, rupiah, with};

async fn invoice(server: &TestServer, m: &TestMerchant, amount: i64) -> (String, i64) {
    let body = server.create_payment(m, amount).await;
    (
        body["invoice_id"].as_str().expect("id").to_owned(),
        body["total_amount"].as_i64().expect("total"),
    )
}

#[tokio::test]
async fn a_payment_notification_pays_the_invoice_with_that_total() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (id, total) = invoice(&server, &m, 25000).await;
    let (code, body) = server
        .notify(
            &m,
            &with(
                dana(total),
                json!({"notif_id": "1234567890", "event_hash": "e1"}),
            ),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body,
        json!({"success": true, "invoice_id": id, "parsed_amount": total, "sender_name": "JOHN DOE"})
    );
    assert_eq!(server.status_of(&m, &id).await, "paid");
    let stored = server.payment(&m, &id).await;
    assert_eq!(stored.sender_name.as_deref(), Some("JOHN DOE"));
}

#[tokio::test]
async fn the_connection_test_answers_with_the_merchant_name_and_processes_nothing() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (id, total) = invoice(&server, &m, 25000).await;
    let (code, body) = server
        .notify(&m, &with(dana(total), json!({"event_hash": "test"})))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        body,
        json!({"success": true, "message": "Koneksi berhasil! Auth valid ✓ (Merchant: Toko ABC)", "test": true})
    );
    assert_eq!(
        server.status_of(&m, &id).await,
        "pending",
        "a test never pays"
    );
    assert_eq!(
        server.notifications(&m).await[0].outcome,
        NotificationOutcome::Test
    );
}

#[tokio::test]
async fn a_bad_or_missing_callback_secret_is_401() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (code, body) = server
        .post("/api/webhook/payment", "wqcb_wrong", &dana(1000))
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"success": false, "message": "Invalid callback secret"})
    );
    let (code, _) = server
        .send(
            server
                .http
                .post(server.url("/api/webhook/payment"))
                .json(&dana(1000)),
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = server
        .post("/api/webhook/payment", &m.token, &dana(1000))
        .await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "an API token is not a callback secret"
    );
    assert!(
        server.notifications(&m).await.is_empty(),
        "unauthorized requests are not stored"
    );
}

#[tokio::test]
async fn a_redelivered_event_hash_is_a_duplicate_that_echoes_the_notif_id() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (_, total) = invoice(&server, &m, 25000).await;
    let first = with(
        dana(total),
        json!({"notif_id": "0|com.dana.id|7@1000", "event_hash": "h1"}),
    );
    assert_eq!(server.notify(&m, &first).await.0, StatusCode::OK);
    let (code, body) = server.notify(&m, &first).await;
    assert_eq!(
        code,
        StatusCode::OK,
        "the forwarder must not retry a duplicate"
    );
    assert_eq!(
        body,
        json!({"success": false, "message": "Duplicate notification", "notif_id": "0|com.dana.id|7@1000"})
    );
    // The same event hash marks a duplicate forever, even outside the content window.
    server.clock.advance(Duration::from_secs(7200));
    let (_, again) = server.notify(&m, &first).await;
    assert_eq!(again["message"], "Duplicate notification");
}

#[tokio::test]
async fn identical_content_is_a_duplicate_within_the_window_and_a_new_payment_outside_it() {
    // One possible total, so that once the cooldown is over the same text matches the next invoice.
    let server = TestServer::start_with(|c| {
        c.invoice.unique_code_min = 7;
        c.invoice.unique_code_max = 7;
        c.invoice.total_cooldown_secs = Seconds::from_secs(600);
        c.notification.duplicate_window_secs = Seconds::from_secs(600);
    })
    .await;
    let m = server.merchant("Toko ABC", None).await;
    let (first, total) = invoice(&server, &m, 25000).await;
    assert_eq!(total, 25007);
    let text = dana(total);
    assert_eq!(
        server
            .notify(&m, &with(text.clone(), json!({"notif_id": "a"})))
            .await
            .0,
        StatusCode::OK
    );

    // A re-post of the same text (new post time, new notif_id) inside the window: duplicate.
    let (code, body) = server
        .notify(&m, &with(text.clone(), json!({"notif_id": "b"})))
        .await;
    assert_eq!(
        (code, body["notif_id"].clone()),
        (StatusCode::OK, json!("b"))
    );
    assert_eq!(body["message"], "Duplicate notification");

    // Outside the window the same text is a new payment: it pays the next invoice with that total.
    server.clock.advance(Duration::from_secs(601));
    let (second, second_total) = invoice(&server, &m, 25000).await;
    assert_eq!(
        second_total, total,
        "the total came back after the cooldown"
    );
    let (code, body) = server
        .notify(&m, &with(text, json!({"notif_id": "c"})))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["invoice_id"], second.as_str());
    assert_eq!(server.status_of(&m, &first).await, "paid");
    assert_eq!(server.status_of(&m, &second).await, "paid");
}

#[tokio::test]
async fn a_second_identical_payment_outside_the_window_is_kept_unmatched_never_dropped() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (id, total) = invoice(&server, &m, 25000).await;
    assert_eq!(server.notify(&m, &dana(total)).await.0, StatusCode::OK);
    server.clock.advance(Duration::from_secs(601));
    let (code, body) = server.notify(&m, &dana(total)).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        body,
        json!({"success": false, "message": "No matching pending payment", "parsed_amount": total, "merchant": "Toko ABC"})
    );
    let stored = &server.notifications(&m).await[0];
    assert_eq!(stored.outcome, NotificationOutcome::NoMatch);
    let paid = server.payment(&m, &id).await;
    assert_eq!(
        stored.payment_id,
        Some(paid.id),
        "linked to the invoice it repeats"
    );
}

#[tokio::test]
async fn three_gopay_notifications_with_notif_id_minus_one_pay_three_invoices() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let mut invoices = Vec::new();
    for amount in [10000, 15000, 20000] {
        invoices.push(invoice(&server, &m, amount).await);
    }
    for (id, total) in &invoices {
        let (code, body) = server.notify(&m, &gopay(*total)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["invoice_id"], id.as_str());
        assert_eq!(body["sender_name"], Value::Null);
    }
    for (id, _) in &invoices {
        assert_eq!(server.status_of(&m, id).await, "paid");
        assert_eq!(
            server.payment(&m, id).await.payment_method.as_deref(),
            Some("com.gojek.gopaymerchant")
        );
    }
}

#[tokio::test]
async fn a_late_payment_for_an_expired_invoice_never_pays_a_newer_invoice() {
    // Two possible totals: after the first invoice expires, the newer one must get the other total.
    let server = TestServer::start_with(|c| {
        c.invoice.ttl_secs = Seconds::from_secs(60);
        c.invoice.unique_code_min = 1;
        c.invoice.unique_code_max = 2;
    })
    .await;
    let m = server.merchant("Toko ABC", None).await;
    let (expired, late_total) = invoice(&server, &m, 25000).await;
    server.clock.advance(Duration::from_secs(61));
    let (newer, newer_total) = invoice(&server, &m, 25000).await;
    assert_ne!(
        newer_total, late_total,
        "the expired invoice's total is in cooldown"
    );
    let (code, body) = server
        .post(
            "/api/payments/qris/create",
            &m.token,
            &json!({"amount": 25000}),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::SERVICE_UNAVAILABLE,
        "one total pending, one cooling down: {body}"
    );

    let (code, body) = server.notify(&m, &dana(late_total)).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["parsed_amount"], late_total);
    assert_eq!(
        server.status_of(&m, &newer).await,
        "pending",
        "the newer invoice is untouched"
    );
    assert_eq!(server.status_of(&m, &expired).await, "expired");
    let stored = &server.notifications(&m).await[0];
    assert_eq!(stored.outcome, NotificationOutcome::Late);
    assert_eq!(
        stored.payment_id,
        Some(server.payment(&m, &expired).await.id),
        "linked to the expired invoice"
    );
}

async fn busy(server: &TestServer, m: &TestMerchant) -> StatusCode {
    server
        .post(
            "/api/payments/qris/create",
            &m.token,
            &json!({"amount": 25000}),
        )
        .await
        .0
}

#[tokio::test]
async fn a_total_is_reassigned_only_after_the_cooldown_counted_from_paid_or_expired() {
    let server = TestServer::start_with(|c| {
        c.invoice.ttl_secs = Seconds::from_secs(60);
        c.invoice.unique_code_min = 5;
        c.invoice.unique_code_max = 5;
        c.invoice.total_cooldown_secs = Seconds::from_secs(3600);
        c.invoice.expiry_sweep_secs = Seconds::from_duration(Duration::from_millis(50));
    })
    .await;
    let m = server.merchant("Toko ABC", None).await;
    let mut operator = server.operator_socket().await;
    // Paid: reserved for the cooldown after paid_at.
    let (_, total) = invoice(&server, &m, 25000).await;
    assert_eq!(server.notify(&m, &dana(total)).await.0, StatusCode::OK);
    assert_eq!(busy(&server, &m).await, StatusCode::SERVICE_UNAVAILABLE);
    server.clock.advance(Duration::from_secs(3599));
    assert_eq!(
        busy(&server, &m).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "still cooling down"
    );
    server.clock.advance(Duration::from_secs(2));
    let (_, again) = invoice(&server, &m, 25000).await;
    assert_eq!(again, total);
    // Expired: reserved for the cooldown after its deadline.
    server.clock.advance(Duration::from_secs(61));
    assert_eq!(busy(&server, &m).await, StatusCode::SERVICE_UNAVAILABLE);
    operator.next_event("payments_expired").await;
    server.clock.advance(Duration::from_secs(3600));
    assert_eq!(invoice(&server, &m, 25000).await.1, total);
}

#[tokio::test]
async fn a_gobiz_grouped_notification_pays_each_payment_and_lists_the_outcomes() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let a = invoice(&server, &m, 6000).await;
    let b = invoice(&server, &m, 1000).await;
    let c = invoice(&server, &m, 2000).await;
    let (code, body) = server
        .notify(
            &m,
            &gobiz(&[(a.1, "plk0FZID"), (b.1, "XQdGyuID"), (c.1, "rVWbDXID")]),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(
        body["invoice_id"],
        a.0.as_str(),
        "the first paid one's fields"
    );
    assert_eq!(body["parsed_amount"], a.1);
    assert_eq!(
        body["payments"],
        json!([
            {"amount": a.1, "sender_name": null, "reference": "plk0FZID", "outcome": "paid", "invoice_id": a.0},
            {"amount": b.1, "sender_name": null, "reference": "XQdGyuID", "outcome": "paid", "invoice_id": b.0},
            {"amount": c.1, "sender_name": null, "reference": "rVWbDXID", "outcome": "paid", "invoice_id": c.0},
        ])
    );
    for (id, _) in [&a, &b, &c] {
        assert_eq!(server.status_of(&m, id).await, "paid");
    }
}

#[tokio::test]
async fn an_updated_gobiz_notification_pays_only_its_new_reference() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let a = invoice(&server, &m, 6000).await;
    let b = invoice(&server, &m, 1000).await;
    assert_eq!(
        server.notify(&m, &gobiz(&[(a.1, "ref-a")])).await.0,
        StatusCode::OK
    );
    let (code, body) = server
        .notify(&m, &gobiz(&[(a.1, "ref-a"), (b.1, "ref-b")]))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["invoice_id"], b.0.as_str());
    assert_eq!(body["payments"][0]["outcome"], "duplicate");
    assert_eq!(body["payments"][1]["outcome"], "paid");
    // The same reference in other words (a re-post outside the window) is still that payment.
    server.clock.advance(Duration::from_secs(601));
    let (code, body) = server.notify(&m, &gobiz(&[(b.1, "ref-b")])).await;
    assert_eq!(
        (code, body["message"].clone()),
        (StatusCode::OK, json!("Duplicate notification"))
    );
}

#[tokio::test]
async fn a_notification_that_is_not_an_incoming_payment_never_pays_anything() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (id, total) = invoice(&server, &m, 25000).await;
    let cases = [
        (
            "outgoing",
            json!({"app": "com.gojek.gopay", "title": "Transfer berhasil",
                   "message": format!("Rp{} udah dikirim ke BCA ALFONSUS ENRICO SOEBIJAN.", rupiah(total))}),
        ),
        (
            "promo",
            json!({"app": "id.dana", "title": "DANA",
                   "message": format!("Promo cashback Rp{} sekarang", rupiah(total))}),
        ),
    ];
    for (reason, body) in cases {
        let (code, answer) = server.notify(&m, &body).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(
            answer,
            json!({"success": false, "message": "Notifikasi bukan pembayaran masuk", "reason": reason,
                   "raw_message": body["message"]})
        );
    }
    assert_eq!(server.status_of(&m, &id).await, "pending");
    let outcomes: Vec<_> = server
        .notifications(&m)
        .await
        .iter()
        .map(|n| n.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            NotificationOutcome::NotIncoming,
            NotificationOutcome::NotIncoming
        ]
    );
}

#[tokio::test]
async fn a_notification_without_an_amount_is_422_with_the_raw_message() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (code, body) = server
        .notify(
            &m,
            &json!({"app": "com.dana.id", "title": "DANA", "message": "halo"}),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"success": false, "message": "Tidak dapat mendeteksi nominal dari notifikasi", "raw_message": "halo"})
    );
}

#[tokio::test]
async fn an_amount_with_no_pending_invoice_is_404_with_parsed_amount_and_merchant() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (code, body) = server.notify(&m, &dana(25042)).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"success": false, "message": "No matching pending payment", "parsed_amount": 25042, "merchant": "Toko ABC"})
    );
}

#[tokio::test]
async fn every_notification_is_stored_with_its_outcome() {
    let server = TestServer::start_with(|c| c.invoice.ttl_secs = Seconds::from_secs(60)).await;
    let m = server.merchant("Toko ABC", None).await;
    let (_, total) = invoice(&server, &m, 25000).await;
    let (_, late) = invoice(&server, &m, 30000).await;
    server
        .notify(&m, &with(dana(1), json!({"event_hash": "test"})))
        .await;
    server.notify(&m, &dana(total)).await;
    server.notify(&m, &dana(total)).await;
    server
        .notify(
            &m,
            &json!({"app": "id.dana", "title": "DANA", "message": "halo"}),
        )
        .await;
    server.notify(&m, &json!({"app": "id.dana", "title": "DANA", "message": "Promo cashback Rp50.000 sekarang"})).await;
    server.notify(&m, &dana(99)).await;
    server
        .notify(
            &m,
            &json!({"message": format!("Kamu berhasil menerima Rp{} dari JOHN DOE", rupiah(late))}),
        )
        .await;
    server.clock.advance(Duration::from_secs(61));
    server.notify(&m, &dana(late)).await;
    let mut outcomes: Vec<_> = server
        .notifications(&m)
        .await
        .iter()
        .map(|n| n.outcome)
        .collect();
    outcomes.reverse();
    use NotificationOutcome::*;
    assert_eq!(
        outcomes,
        [
            Test,
            Paid,
            Duplicate,
            NoAmount,
            NotIncoming,
            NoMatch,
            Untrusted,
            Late
        ]
    );
    let stored = server.notifications(&m).await;
    assert!(
        stored.iter().all(|n| n.message.is_some()),
        "the text is kept for reconciliation"
    );
}

#[tokio::test]
async fn numeric_ids_from_third_party_forwarders_are_accepted_and_the_device_is_remembered() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (_, total) = invoice(&server, &m, 25000).await;
    let body = with(
        dana(total),
        json!({"notif_id": 1234567890_i64, "timestamp": 1774088123000_i64, "device_id": "device-07"}),
    );
    let (code, answer) = server.notify(&m, &body).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    let merchant = m.id;
    let devices = server
        .db
        .read(move |c| c.devices(merchant))
        .await
        .expect("devices");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].device_id, "device-07");
}

#[tokio::test]
async fn a_huge_device_name_still_pays_and_is_remembered_cut_to_the_heartbeat_bound() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (invoice_id, total) = invoice(&server, &m, 25000).await;
    let body = with(dana(total), json!({"device_id": "é".repeat(20_000)}));
    let (code, answer) = server.notify(&m, &body).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(server.status_of(&m, &invoice_id).await, "paid");
    let merchant = m.id;
    let devices = server
        .db
        .read(move |c| c.devices(merchant))
        .await
        .expect("devices");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].device_id, "é".repeat(128));
}

#[tokio::test]
async fn the_heartbeat_records_the_device_and_answers_with_the_server_time() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (code, body) = server
        .post(
            "/api/forwarder/heartbeat",
            &m.callback_secret,
            &json!({"device_id": "device-01", "app_version": "0.1.0", "listener_connected": true,
                    "outbox_pending": 3, "last_notification_at": "2026-03-21T10:15:23.000Z"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["merchant"], "Toko ABC");
    assert_eq!(body["heartbeat_interval_secs"], 300);
    assert!(webqris_core::Timestamp::parse(body["server_time"].as_str().expect("time")).is_ok());
    let merchant = m.id;
    let devices = server
        .db
        .read(move |c| c.devices(merchant))
        .await
        .expect("devices");
    assert_eq!(devices[0].device_id, "device-01");
    assert_eq!(devices[0].app_version.as_deref(), Some("0.1.0"));
    assert_eq!(devices[0].listener_connected, Some(true));
    assert_eq!(devices[0].outbox_pending, Some(3));
    assert!(devices[0].last_heartbeat_at.is_some());

    let (code, _) = server
        .post(
            "/api/forwarder/heartbeat",
            "wqcb_nope",
            &json!({"device_id": "d"}),
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    for bad in [
        json!({}),
        json!({"device_id": ""}),
        json!({"device_id": "d", "last_notification_at": "yesterday"}),
    ] {
        let (code, answer) = server
            .post("/api/forwarder/heartbeat", &m.callback_secret, &bad)
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{bad} -> {answer}");
    }
}

#[tokio::test]
async fn hostile_fields_get_the_contract_shape_and_stored_texts_are_capped() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (id, total) = invoice(&server, &m, 25000).await;
    // Wrong types and missing fields: 400 in the contract's shape, nothing stored.
    for bad in [
        json!({"app": "id.dana", "title": "DANA"}),
        json!({"app": "id.dana", "message": 42}),
        json!({"app": ["id.dana"], "message": "x"}),
        json!({"message": "x", "category": {"a": 1}}),
        json!({"message": "x", "channel_id": [1]}),
        json!({"message": "x", "template": true}),
    ] {
        let (code, answer) = server.notify(&m, &bad).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{bad} -> {answer}");
        assert_eq!(answer["success"], false);
        assert!(answer["message"].is_string());
    }
    assert!(server.notifications(&m).await.is_empty());
    // Huge texts and fields: stored cut, never read as a payment.
    let huge_text = format!(
        "{} {}",
        dana(total)["message"].as_str().expect("text"),
        "x".repeat(30_000)
    );
    let (code, answer) = server
        .notify(
            &m,
            &json!({"app": "id.dana", "title": "D".repeat(10_000), "message": huge_text,
                    "category": 7, "channel_id": "c".repeat(5_000), "template": "t".repeat(5_000)}),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let row = &server.notifications(&m).await[0];
    let message = row.message.as_deref().expect("stored");
    assert!(
        message.len() <= 4096 && message.ends_with('…'),
        "{}",
        message.len()
    );
    let title = row.title.as_deref().expect("stored");
    assert!(title.len() <= 4096 && title.ends_with('…'));
    assert_eq!(
        row.category.as_deref(),
        Some("7"),
        "numbers are read as text"
    );
    assert_eq!(
        row.channel_id.as_deref().map(|c| c.chars().count()),
        Some(256)
    );
    assert_eq!(
        row.template.as_deref().map(|c| c.chars().count()),
        Some(256)
    );
    assert_eq!(row.outcome, NotificationOutcome::NoAmount);
    assert_eq!(server.status_of(&m, &id).await, "pending");
}
