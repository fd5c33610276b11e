//! Trust through the dashboard: the inbox shows untrusted and held notifications with their reasons and
//! Android facts; a trusted source is added only after the warning and pays only under its exact titles;
//! a held channel is confirmed by a person; and after a parser upgrade the stored notifications are read
//! again and offered as matches, paid only when a person assigns them.

use axum::http::StatusCode;
use reqwest::Method;
use serde_json::{Value, json};
use webqris_core::Timestamp;
use webqris_server::db::{NewNotification, NotificationOutcome, NotificationSource};

use super::{Dashboard, merchant};
use crate::support::{TestServer, rupiah};

fn livin(total: i64, title: &str) -> Value {
    json!({"app": "id.bmri.livinmerchant", "title": title,
           "message": format!("Dana masuk Rp{} dari BUDI SANTOSO", rupiah(total))})
}

fn gobiz(total: i64, channel: &str) -> Value {
    json!({"app": "com.gojek.resto", "title": "Pembayaran QRIS diterima!", "channel_id": channel,
           "message": format!("Rp{} berhasil diterima. ID transaksi: T{total}", rupiah(total))})
}

fn find<'a>(inbox: &'a Value, outcome: &str) -> &'a Value {
    inbox["notifications"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|n| n["outcome"] == outcome)
        .unwrap_or_else(|| panic!("a {outcome} notification in {inbox}"))
}

#[tokio::test]
async fn the_inbox_shows_untrusted_and_held_notifications_with_their_reasons() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let m = merchant(&tab, "Toko ABC", None).await;
    let total = server.create_payment(&m, 25_000).await["total_amount"]
        .as_i64()
        .expect("total");
    server
        .notify(
            &m,
            &json!({"app": "com.whatsapp", "title": "Budi", "category": "msg",
                    "template": "android.app.Notification$MessagingStyle", "channel_id": "chat",
                    "message": format!("Rp{} diterima DANA Bisnis.", rupiah(total))}),
        )
        .await;
    server
        .notify(
            &m,
            &json!({"app": "com.whatsapp", "title": "Budi", "message": "halo"}),
        )
        .await;
    let (_, inbox) = tab.get("/dashboard/api/notifications").await;
    let chat = inbox["notifications"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|n| n["parsed_amount"] == total)
        .expect("the chat message claiming the total");
    assert_eq!(chat["outcome"], "untrusted");
    assert_eq!(chat["trust"], "untrusted");
    assert_eq!(chat["trust_reason"], "untrusted_source");
    assert_eq!(chat["category"], "msg");
    assert_eq!(chat["template"], "android.app.Notification$MessagingStyle");
    assert_eq!(chat["channel_id"], "chat");
    assert_eq!(chat["unmatched"], true, "a claimed amount needs a person");
    assert_eq!(chat["assignable"], true);
    let (_, flagged) = tab.get("/dashboard/api/notifications?unmatched=1").await;
    let flagged = flagged["notifications"].as_array().expect("rows");
    assert_eq!(
        flagged.len(),
        1,
        "a chat that names no amount is not flagged: {flagged:?}"
    );
}

#[tokio::test]
async fn a_trusted_source_is_added_after_the_warning_and_pays_under_its_exact_title() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let m = merchant(&tab, "Toko ABC", None).await;
    let path = format!("/dashboard/api/merchants/{}/trusted-titles", m.id.0);

    let first = server.create_payment(&m, 25_000).await;
    let total = first["total_amount"].as_i64().expect("total");
    let (code, answer) = server.notify(&m, &livin(total, "Transaksi Berhasil")).await;
    assert_eq!(
        (code, answer["reason"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("unverified_wording")
        ),
        "no verified wording: the generic rule never pays by itself"
    );

    for (body, needle) in [
        (
            json!({"package": "id.bmri.livinmerchant", "title": "Transaksi Berhasil"}),
            "acknowledged",
        ),
        (
            json!({"package": "com.whatsapp", "title": "Budi", "acknowledged": true}),
            "can never pay",
        ),
        (
            json!({"package": "not a package", "title": "x", "acknowledged": true}),
            "package",
        ),
        (
            json!({"package": "id.bmri.livinmerchant", "title": "  ", "acknowledged": true}),
            "title",
        ),
        (
            json!({"package": "id.bmri.livinmerchant", "title": "x".repeat(201), "acknowledged": true}),
            "title",
        ),
    ] {
        let (code, answer) = tab.post(&path, &body).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        assert_eq!(answer["success"], false);
        assert!(
            answer["message"]
                .as_str()
                .expect("message")
                .contains(needle),
            "{answer}"
        );
    }
    let (code, answer) = tab
        .post(
            &path,
            &json!({"package": "id.bmri.livinmerchant", "title": "Transaksi Berhasil", "acknowledged": true}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{answer}");
    let (code, answer) = tab
        .post(
            &path,
            &json!({"package": "ID.BMRI.livinmerchant", "title": "transaksi  berhasil", "acknowledged": true}),
        )
        .await;
    assert_eq!(
        (code, answer["changed"].clone()),
        (StatusCode::OK, json!(false))
    );
    let (_, overview) = tab
        .get(&format!("/dashboard/api/merchants/{}/trust", m.id.0))
        .await;
    assert_eq!(
        overview["trusted_titles"],
        json!([{"package": "id.bmri.livinmerchant", "title": "Transaksi Berhasil",
                "created_at": overview["trusted_titles"][0]["created_at"]}])
    );
    assert!(
        overview["warning"]
            .as_str()
            .expect("warning")
            .contains("fake a payment")
    );

    // Under another title it still does not pay; under the trusted one it does.
    let second = server.create_payment(&m, 30_000).await;
    let second_total = second["total_amount"].as_i64().expect("total");
    let (code, answer) = server.notify(&m, &livin(second_total, "Budi")).await;
    assert_eq!(
        (code, answer["reason"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("unverified_wording")
        )
    );
    let (code, answer) = server
        .notify(&m, &livin(second_total, "Transaksi Berhasil"))
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(answer["invoice_id"], second["invoice_id"]);

    // Removed, it stops paying.
    let (code, _) = tab
        .send(
            Method::DELETE,
            &path,
            Some(&json!({"package": "id.bmri.livinmerchant", "title": "TRANSAKSI BERHASIL"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let third = server.create_payment(&m, 35_000).await;
    let (code, _) = server
        .notify(
            &m,
            &livin(
                third["total_amount"].as_i64().expect("total"),
                "Transaksi Berhasil",
            ),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);

    // Another account cannot see nor change this merchant's trust.
    let other = Dashboard::register(&server, "other@example.com").await;
    let (code, _) = other
        .post(
            &path,
            &json!({"package": "com.example.pos", "title": "x", "acknowledged": true}),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = other
        .get(&format!("/dashboard/api/merchants/{}/trust", m.id.0))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_held_channel_is_listed_confirmed_by_a_person_and_then_pays() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let m = merchant(&tab, "Toko ABC", None).await;
    let first = server.create_payment(&m, 10_000).await;
    let (code, _) = server
        .notify(
            &m,
            &gobiz(first["total_amount"].as_i64().expect("total"), "payments"),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let second = server.create_payment(&m, 20_000).await;
    let second_total = second["total_amount"].as_i64().expect("total");
    let (code, answer) = server.notify(&m, &gobiz(second_total, "orders")).await;
    assert_eq!(
        (code, answer["reason"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("new_channel"))
    );
    let trust_path = format!("/dashboard/api/merchants/{}/trust", m.id.0);
    let (_, overview) = tab.get(&trust_path).await;
    assert_eq!(overview["channels"][0]["channel_id"], "payments");
    assert_eq!(overview["channels"][0]["learned_by"], "payment");
    assert_eq!(overview["held_channels"][0]["app"], "com.gojek.resto");
    assert_eq!(overview["held_channels"][0]["channel_id"], "orders");
    assert_eq!(overview["held_channels"][0]["held"], 1);

    let (_, inbox) = tab.get("/dashboard/api/notifications").await;
    let held = find(&inbox, "held");
    assert_eq!(held["trust_reason"], "new_channel");
    assert_eq!(held["assignable"], true);

    let channels = format!("/dashboard/api/merchants/{}/channels", m.id.0);
    let (code, answer) = tab
        .post(
            &channels,
            &json!({"app": "com.gojek.resto", "channel_id": "orders"}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{answer}");
    let (_, overview) = tab.get(&trust_path).await;
    assert_eq!(
        overview["held_channels"],
        json!([]),
        "confirmed: nothing awaits review"
    );
    // The held notification itself is assigned by a person; later ones on that channel pay.
    let held_id = held["id"].as_i64().expect("id");
    let (code, answer) = tab
        .post(
            &format!("/dashboard/api/notifications/{held_id}/assign"),
            &json!({"invoice_id": second["invoice_id"]}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    let third = server.create_payment(&m, 30_000).await;
    let (code, answer) = server
        .notify(
            &m,
            &gobiz(third["total_amount"].as_i64().expect("total"), "orders"),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");

    let (code, _) = tab
        .send(
            Method::DELETE,
            &channels,
            Some(&json!({"app": "com.gojek.resto", "channel_id": "orders"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = tab
        .send(
            Method::DELETE,
            &channels,
            Some(&json!({"app": "com.gojek.resto", "channel_id": "orders"})),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn after_a_parser_upgrade_stored_notifications_are_offered_as_matches_and_paid_only_by_a_person()
 {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let m = merchant(&tab, "Toko ABC", None).await;
    let created = server.create_payment(&m, 25_000).await;
    let invoice = created["invoice_id"].as_str().expect("id").to_owned();
    let total = created["total_amount"].as_i64().expect("total");
    // What an older parser stored: a payment from "TOKO PROMO JAYA" refused as a promotion.
    let text = format!(
        "Rp{} dari TOKO PROMO JAYA berhasil diterima DANA Bisnis.",
        rupiah(total)
    );
    let merchant_id = m.id;
    let stored_text = text.clone();
    server
        .db
        .write(move |tx| {
            tx.insert_notification(&NewNotification {
                merchant_id,
                source: NotificationSource::Forwarder,
                received_at: Timestamp::from_millis(1),
                app: Some("id.dana".into()),
                title: Some("Pembayaran Masuk".into()),
                message: Some(stored_text),
                device_id: None,
                notif_id: None,
                event_hash: None,
                client_timestamp: None,
                reference: None,
                outcome: NotificationOutcome::NotIncoming,
                reason: Some("promo".into()),
                parsed_amount: None,
                sender_name: None,
                payment_id: None,
                category: None,
                template: None,
                channel_id: None,
                trust: None,
                trust_reason: None,
                test: false,
            })
        })
        .await
        .expect("an old row");
    // And a chat message claiming the same total: offered too, but marked untrusted.
    server
        .notify(
            &m,
            &json!({"app": "com.whatsapp", "title": "Budi",
                    "message": format!("Rp{} diterima DANA Bisnis.", rupiah(total))}),
        )
        .await;

    let (code, answer) = tab
        .get(&format!(
            "/dashboard/api/notifications/offers?merchant={}",
            m.id.0
        ))
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(answer["reread"], 2);
    let offers = answer["offers"].as_array().expect("offers");
    assert_eq!(offers.len(), 2, "{answer}");
    let upgraded = offers
        .iter()
        .find(|o| o["notification"]["message"] == text.as_str())
        .expect("the promo-named shop's payment");
    assert_eq!(upgraded["trust"], "trusted");
    assert_eq!(upgraded["verdict"]["incoming"], true);
    assert_eq!(
        upgraded["matches"],
        json!([{"amount": total, "sender_name": "TOKO PROMO JAYA", "invoice_id": invoice,
                "expired_at": created["expired_at"]}])
    );
    let chat = offers
        .iter()
        .find(|o| o["notification"]["app"] == "com.whatsapp")
        .expect("the chat message");
    assert_eq!(
        (chat["trust"].clone(), chat["trust_reason"].clone()),
        (json!("untrusted"), json!("untrusted_source"))
    );
    assert_eq!(
        server.status_of(&m, &invoice).await,
        "pending",
        "reading again never pays"
    );

    let id = upgraded["notification"]["id"].as_i64().expect("id");
    let (code, answer) = tab
        .post(
            &format!("/dashboard/api/notifications/{id}/assign"),
            &json!({"invoice_id": invoice, "reason": "offer after the parser upgrade"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(server.status_of(&m, &invoice).await, "paid");
    let (_, answer) = tab
        .get(&format!(
            "/dashboard/api/notifications/offers?merchant={}",
            m.id.0
        ))
        .await;
    assert_eq!(
        answer["offers"],
        json!([]),
        "assigned, and nothing pending any more"
    );

    let other = Dashboard::register(&server, "other@example.com").await;
    let (_, theirs) = other
        .get(&format!(
            "/dashboard/api/notifications/offers?merchant={}",
            m.id.0
        ))
        .await;
    assert_eq!(theirs["reread"], 0, "another account sees nothing of it");
}
