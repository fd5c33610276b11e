//! The spoof suite (issue 8): every kind of source that can put a payment-like text on the merchant's
//! phone, replayed against the real server as a third-party forwarder would post it. Each one carries
//! the exact total of a pending invoice, so it would pay if it were trusted; each must be answered 422 in
//! the contract's shape, leave the invoice pending (no webhook, no `payment_paid`), and be stored with
//! its outcome, its reason and what it claimed.

use axum::http::StatusCode;
use serde_json::{Value, json};
use webqris_core::wire::{HELD_MESSAGE, UNTRUSTED_MESSAGE};
use webqris_server::db::{NotificationOutcome, StoredNotification, TrustOutcome};

use crate::support::{Receiver, TestMerchant, TestServer, rupiah, with};

const MESSAGING: &str = "android.app.Notification$MessagingStyle";

/// One hostile source: what it posts (the text is built for the invoice's total) and the reason the
/// server must give.
struct Attack {
    name: &'static str,
    body: fn(i64) -> Value,
    reason: &'static str,
}

fn dana_text(total: i64) -> String {
    format!("Kamu berhasil menerima Rp{} dari JOHN DOE", rupiah(total))
}

fn gobiz_text(total: i64) -> String {
    format!(
        "Rp{} berhasil diterima. ID transaksi: SPOOF{total}",
        rupiah(total)
    )
}

fn dana_bisnis_text(total: i64) -> String {
    format!("Rp{} diterima DANA Bisnis.", rupiah(total))
}

const ATTACKS: &[Attack] = &[
    Attack {
        name: "a browser's web push (Chrome) in GoBiz's words",
        body: |t| json!({"app": "com.android.chrome", "title": "Pembayaran QRIS diterima!", "message": gobiz_text(t)}),
        reason: "untrusted_source",
    },
    Attack {
        name: "a browser's web push (Firefox) in DANA's words",
        body: |t| json!({"app": "org.mozilla.firefox", "title": "DANA", "message": dana_text(t)}),
        reason: "untrusted_source",
    },
    Attack {
        name: "a caller-id app (Truecaller)",
        body: |t| json!({"app": "com.truecaller", "title": "DANA", "message": dana_text(t)}),
        reason: "untrusted_source",
    },
    Attack {
        name: "a notes app (Google Keep) reminder",
        body: |t| json!({"app": "com.google.android.keep", "title": "Pembayaran Masuk", "message": dana_bisnis_text(t)}),
        reason: "untrusted_source",
    },
    Attack {
        name: "a notes app (Samsung Notes)",
        body: |t| json!({"app": "com.samsung.android.app.notes", "title": "Pembayaran Masuk", "message": dana_bisnis_text(t)}),
        reason: "untrusted_source",
    },
    Attack {
        name: "a WhatsApp message",
        body: |t| json!({"app": "com.whatsapp", "title": "Budi", "message": dana_text(t), "category": "msg", "template": MESSAGING}),
        reason: "untrusted_source",
    },
    Attack {
        name: "a Telegram message without Android facts",
        body: |t| json!({"app": "org.telegram.messenger", "title": "DANA", "message": dana_text(t)}),
        reason: "untrusted_source",
    },
    Attack {
        name: "an SMS in BRImo's words",
        body: |t| {
            json!({"app": "com.google.android.apps.messaging", "title": "BRI",
                   "message": format!("Sobat BRI! Dana Rp{} masuk ke rekening 790001009621533", rupiah(t))})
        },
        reason: "untrusted_source",
    },
    Attack {
        name: "an e-mail (Gmail)",
        body: |t| json!({"app": "com.google.android.gm", "title": "DANA", "message": dana_text(t), "category": "email"}),
        reason: "untrusted_source",
    },
    Attack {
        name: "a customer's chat message inside GoBiz (title: the customer's name)",
        body: |t| json!({"app": "com.gojek.resto", "title": "Budi Santoso", "message": gobiz_text(t)}),
        reason: "unknown_title",
    },
    Attack {
        name: "a GoBiz chat whose sender named themselves like the payment title",
        body: |t| {
            json!({"app": "com.gojek.resto", "title": "Pembayaran QRIS diterima!", "message": gobiz_text(t),
                   "category": "msg", "template": MESSAGING, "channel_id": "chat"})
        },
        reason: "conversation",
    },
    Attack {
        name: "a chat message inside Shopee",
        body: |t| {
            json!({"app": "com.shopee.id", "title": "tokobudi", "category": "msg",
                   "message": format!("Rp{} telah diterima dari BUDI. Klik untuk cek rinciannya", rupiah(t))})
        },
        reason: "conversation",
    },
    Attack {
        name: "a Shopee chat sender named like the payment title (messaging template only)",
        body: |t| {
            json!({"app": "com.shopee.id", "title": "Saldo ShopeePay Diterima", "template": MESSAGING,
                   "message": format!("Rp{} telah diterima dari BUDI. Klik untuk cek rinciannya", rupiah(t))})
        },
        reason: "conversation",
    },
    Attack {
        name: "an amount only in the title",
        body: |t| {
            json!({"app": "com.shopeepay.merchant.id", "title": format!("Pembayaran sebesar Rp{} diterima", rupiah(t)),
                   "message": "Ketuk untuk melihat detail"})
        },
        reason: "amount_in_title",
    },
    Attack {
        name: "a body with no app at all",
        body: |t| json!({"title": "DANA", "message": dana_text(t)}),
        reason: "no_app",
    },
    Attack {
        name: "an empty app",
        body: |t| json!({"app": "  ", "title": "DANA", "message": dana_text(t)}),
        reason: "no_app",
    },
    Attack {
        name: "the forwarder's own status notification",
        body: |t| {
            json!({"app": "id.webqris.forwarder", "title": "webqris",
                   "message": format!("Terakhir diteruskan: Rp{} diterima DANA Bisnis.", rupiah(t))})
        },
        reason: "untrusted_source",
    },
    Attack {
        name: "an unknown package with received wording",
        body: |t| {
            json!({"app": "com.example.wallet", "title": "Dana masuk",
                   "message": format!("Dana masuk Rp{} dari rekening lain.", rupiah(t))})
        },
        reason: "untrusted_source",
    },
    Attack {
        name: "a look-alike package (com.dana)",
        body: |t| json!({"app": "com.dana", "title": "DANA", "message": dana_text(t)}),
        reason: "untrusted_source",
    },
    Attack {
        name: "a payment app's wording that only the generic rule reads (LinkAja)",
        body: |t| {
            json!({"app": "com.telkom.mwallet", "title": "LinkAja",
                   "message": format!("Kamu menerima Rp{} dari 0812345678", rupiah(t))})
        },
        reason: "unverified_wording",
    },
    Attack {
        name: "a call notification of a payment app",
        body: |t| json!({"app": "id.dana", "title": "DANA", "message": dana_text(t), "category": "call"}),
        reason: "conversation",
    },
    Attack {
        name: "the adb shell (`cmd notification post`)",
        body: |t| json!({"app": "com.android.shell", "title": "Pembayaran QRIS diterima!", "message": gobiz_text(t)}),
        reason: "untrusted_source",
    },
];

/// The stored notification answering `raw_message`, newest first.
async fn stored(server: &TestServer, m: &TestMerchant, raw_message: &str) -> StoredNotification {
    server
        .notifications(m)
        .await
        .into_iter()
        .find(|n| n.message.as_deref() == Some(raw_message))
        .unwrap_or_else(|| panic!("{raw_message:?} is stored"))
}

#[tokio::test]
async fn no_hostile_source_pays_and_each_is_stored_with_its_reason() {
    let mut receiver = Receiver::start().await;
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let mut operator = server.operator_socket().await;
    assert!(
        ATTACKS.len() >= 15,
        "the issue asks for at least 15 sources"
    );
    let mut invoices = Vec::new();
    for (i, attack) in ATTACKS.iter().enumerate() {
        let created = server.create_payment(&m, 10_000 + 1_000 * i as i64).await;
        let invoice = created["invoice_id"].as_str().expect("id").to_owned();
        let total = created["total_amount"].as_i64().expect("total");
        let body = (attack.body)(total);
        let (code, answer) = server.notify(&m, &body).await;
        assert_eq!(
            code,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}: {answer}",
            attack.name
        );
        assert_eq!(
            answer,
            json!({"success": false, "message": UNTRUSTED_MESSAGE, "reason": attack.reason,
                   "raw_message": body["message"]}),
            "{}",
            attack.name
        );
        assert_eq!(
            server.status_of(&m, &invoice).await,
            "pending",
            "{}",
            attack.name
        );
        let row = stored(&server, &m, body["message"].as_str().expect("text")).await;
        assert_eq!(
            row.outcome,
            NotificationOutcome::Untrusted,
            "{}",
            attack.name
        );
        assert_eq!(row.trust, Some(TrustOutcome::Untrusted), "{}", attack.name);
        assert_eq!(
            row.trust_reason.as_deref(),
            Some(attack.reason),
            "{}",
            attack.name
        );
        assert_eq!(row.payment_id, None, "{}", attack.name);
        assert_eq!(
            row.category.as_deref(),
            body["category"].as_str(),
            "{}: the Android facts are stored",
            attack.name
        );
        assert_eq!(row.template.as_deref(), body["template"].as_str());
        invoices.push((invoice, total, row));
    }
    // What each claimed is kept for a person to judge: the amount.
    let claimed = invoices
        .iter()
        .filter(|(_, total, row)| row.parsed_amount == Some(*total))
        .count();
    assert_eq!(claimed, ATTACKS.len(), "every claimed amount is stored");
    // Nothing was paid: no payment_paid frame, and the first webhook is the genuine payment's.
    let frames = operator.drain().await;
    assert!(
        frames.iter().all(|f| f["event"] != "payment_paid"),
        "{frames:?}"
    );
    let genuine = server.create_payment(&m, 99_000).await;
    let total = genuine["total_amount"].as_i64().expect("total");
    let (code, answer) = server
        .notify(
            &m,
            &json!({"app": "com.gojek.resto", "title": "Pembayaran QRIS diterima!", "message": gobiz_text(total)}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    let webhook = receiver.next().await.json();
    assert_eq!(webhook["data"]["invoice_id"], genuine["invoice_id"]);
    for (invoice, _, _) in &invoices {
        assert_eq!(server.status_of(&m, invoice).await, "pending");
    }
}

#[tokio::test]
async fn a_payment_on_a_channel_never_seen_paying_is_held_until_the_merchant_confirms_it() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let gobiz = |total: i64, channel: &str| {
        json!({"app": "com.gojek.resto", "title": "Pembayaran QRIS diterima!",
               "message": gobiz_text(total), "channel_id": channel, "category": "status"})
    };
    let first = server.create_payment(&m, 10_000).await;
    let (code, answer) = server
        .notify(
            &m,
            &gobiz(first["total_amount"].as_i64().expect("total"), "payments"),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::OK,
        "the first payment teaches the channel: {answer}"
    );

    let second = server.create_payment(&m, 20_000).await;
    let total = second["total_amount"].as_i64().expect("total");
    let body = gobiz(total, "marketing");
    let (code, answer) = server.notify(&m, &body).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer,
        json!({"success": false, "message": HELD_MESSAGE, "reason": "new_channel", "raw_message": body["message"]})
    );
    let invoice = second["invoice_id"].as_str().expect("id");
    assert_eq!(server.status_of(&m, invoice).await, "pending");
    let row = stored(&server, &m, body["message"].as_str().expect("text")).await;
    assert_eq!(row.outcome, NotificationOutcome::Held);
    assert_eq!(row.trust, Some(TrustOutcome::Held));
    assert_eq!(row.trust_reason.as_deref(), Some("new_channel"));
    assert_eq!(row.channel_id.as_deref(), Some("marketing"));
    assert_eq!(row.parsed_amount, Some(total));

    // Without a channel at all, once one is known: held too.
    let third = server.create_payment(&m, 30_000).await;
    let third_total = third["total_amount"].as_i64().expect("total");
    let (code, answer) = server
        .notify(
            &m,
            &json!({"app": "com.gojek.resto", "title": "Pembayaran QRIS diterima!", "message": gobiz_text(third_total)}),
        )
        .await;
    assert_eq!(
        (code, answer["reason"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("new_channel"))
    );

    // The known channel still pays, and so does a new channel once a person has confirmed it.
    let merchant = m.id;
    server
        .db
        .write(move |tx| {
            tx.learn_channel(
                merchant,
                "com.gojek.resto",
                "marketing",
                webqris_server::db::LearnedBy::Person,
                webqris_core::Timestamp::from_millis(0),
            )
        })
        .await
        .expect("confirm");
    let fourth = server.create_payment(&m, 40_000).await;
    let (code, answer) = server
        .notify(
            &m,
            &gobiz(fourth["total_amount"].as_i64().expect("total"), "marketing"),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn a_merchant_trusted_source_pays_only_under_its_exact_titles() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let merchant = m.id;
    server
        .db
        .write(move |tx| {
            tx.add_trusted_title(
                merchant,
                "com.example.pos",
                "Pembayaran diterima",
                webqris_core::Timestamp::from_millis(0),
            )
        })
        .await
        .expect("trust");
    let body = |total: i64, title: &str| {
        json!({"app": "com.example.pos", "title": title,
               "message": format!("Dana masuk Rp{} dari BUDI", rupiah(total))})
    };
    let first = server.create_payment(&m, 10_000).await;
    let total = first["total_amount"].as_i64().expect("total");
    let (code, answer) = server.notify(&m, &body(total, "Budi")).await;
    assert_eq!(
        (code, answer["reason"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("unknown_title"))
    );
    let (code, answer) = server
        .notify(
            &m,
            &with(
                body(total, "pembayaran  DITERIMA"),
                json!({"notif_id": "2"}),
            ),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(answer["invoice_id"], first["invoice_id"]);
    assert_eq!(
        server
            .payment(&m, first["invoice_id"].as_str().expect("id"))
            .await
            .payment_method
            .as_deref(),
        Some("com.example.pos")
    );
}
