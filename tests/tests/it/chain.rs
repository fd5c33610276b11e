//! The chain a merchant relies on: an e-wallet notification on the phone pays the right invoice, the
//! merchant's backend receives one signed `payment.paid`, and both WebSockets see it.

use std::sync::Arc;

use serde_json::Value;
use webqris_android::{
    DeliveryState, Forwarder, ForwarderConfig, IncomingNotification, SubmitOutcome,
};

use crate::support::{Receiver, TestMerchant, TestServer, rupiah, within};

/// The longest the forwarder is given to empty its outbox, milliseconds.
const DRAIN_MS: u64 = 15_000;

/// A forwarder on "the merchant's phone", its outbox in `dir`, reading every app.
fn phone(server: &TestServer, merchant: &TestMerchant, dir: &tempfile::TempDir) -> Arc<Forwarder> {
    Forwarder::new(phone_config(server, merchant, dir)).expect("forwarder opens its outbox")
}

/// The phone's settings: millisecond retries so that tests never wait long.
fn phone_config(
    server: &TestServer,
    merchant: &TestMerchant,
    dir: &tempfile::TempDir,
) -> ForwarderConfig {
    ForwarderConfig {
        server_url: server.url(""),
        callback_secret: merchant.callback_secret.clone(),
        device_id: "kasir-01".into(),
        enabled_apps: None,
        send_all: false,
        database_path: dir.path().join("outbox.db").display().to_string(),
        app_version: "e2e".into(),
        retry_base_ms: 10,
        retry_cap_ms: 100,
        request_timeout_ms: 5_000,
        heartbeat_interval_secs: 0,
    }
}

/// A notification as the listener service hands it over.
fn posted(
    app: &str,
    title: &str,
    text: &str,
    key: &str,
    post_time_ms: i64,
) -> IncomingNotification {
    IncomingNotification {
        app: app.into(),
        title: title.into(),
        text: text.into(),
        big_text: None,
        key: key.into(),
        post_time_ms,
    }
}

/// Waits (off the async executor: the forwarder's API is blocking) until the outbox is empty.
async fn drained(forwarder: &Arc<Forwarder>) {
    let forwarder = Arc::clone(forwarder);
    let result = tokio::task::spawn_blocking(move || forwarder.wait_until_drained(DRAIN_MS))
        .await
        .expect("drain task");
    assert!(result.drained, "outbox drained: {result:?}");
}

fn total_of(created: &Value) -> i64 {
    created["total_amount"].as_i64().expect("total_amount")
}

fn invoice_of(created: &Value) -> String {
    created["invoice_id"]
        .as_str()
        .expect("invoice_id")
        .to_owned()
}

#[tokio::test]
async fn a_dana_notification_on_the_phone_pays_the_invoice_and_the_merchant_gets_one_signed_webhook()
 {
    let server = TestServer::start().await;
    let mut receiver = Receiver::start().await;
    let merchant = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let mut merchant_socket = server.merchant_socket(&merchant).await;
    let mut operator_socket = server.operator_socket().await;
    let created = server.create_payment(&merchant, 25_000).await;
    let (invoice, total) = (invoice_of(&created), total_of(&created));

    let dir = tempfile::tempdir().expect("tempdir");
    let forwarder = phone(&server, &merchant, &dir);
    let text = format!("Kamu berhasil menerima Rp{} dari JOHN DOE", rupiah(total));
    let outcome = forwarder
        .submit(posted(
            "id.dana",
            "DANA",
            &text,
            "0|id.dana|7|null|10001",
            1_774_088_123_000,
        ))
        .expect("submit");
    assert!(
        matches!(outcome, SubmitOutcome::Queued { .. }),
        "{outcome:?}"
    );
    drained(&forwarder).await;

    assert_eq!(server.status_of(&merchant, &invoice).await, "paid");
    let webhook = receiver.next().await;
    webhook.assert_signed_with(&merchant.webhook_secret);
    let body = webhook.json();
    assert_eq!(body["event"], "payment.paid");
    assert_eq!(body["data"]["invoice_id"], invoice.as_str());
    assert_eq!(body["data"]["total_amount"], total);
    assert_eq!(body["data"]["payment_method"], "id.dana");
    for socket in [&mut merchant_socket, &mut operator_socket] {
        let event = socket.next_event("payment_paid").await;
        assert_eq!(event["data"]["invoice_id"], invoice.as_str());
        assert_eq!(event["data"]["sender_name"], "JOHN DOE");
    }

    // The phone's log shows what the server concluded.
    let log = forwarder.recent_log(10).expect("log");
    let entry = log.first().expect("one entry");
    assert_eq!(entry.state, DeliveryState::Sent);
    assert_eq!(entry.http_status, Some(200));
    assert_eq!(entry.invoice_id.as_deref(), Some(invoice.as_str()));

    // Android re-delivers the notification when the listener reconnects: absorbed on the phone.
    let again = forwarder
        .submit(posted(
            "id.dana",
            "DANA",
            &text,
            "0|id.dana|7|null|10001",
            1_774_088_123_000,
        ))
        .expect("submit");
    assert!(
        matches!(again, SubmitOutcome::AlreadySeen { .. }),
        "{again:?}"
    );
    assert!(receiver.try_next().is_none(), "no second webhook");
    forwarder.shutdown();
}

#[tokio::test]
async fn a_grouped_gobiz_notification_pays_each_of_its_invoices_once() {
    let server = TestServer::start().await;
    let mut receiver = Receiver::start().await;
    let merchant = server.merchant("Warung GoFood", Some(&receiver.url)).await;
    let mut invoices = Vec::new();
    for amount in [6_000, 1_000, 2_000] {
        let created = server.create_payment(&merchant, amount).await;
        invoices.push((invoice_of(&created), total_of(&created)));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let forwarder = phone(&server, &merchant, &dir);

    // GoBiz first posts one payment, then updates the same notification with the whole group.
    let line = |(_, total): &(String, i64), reference: &str| {
        format!(
            "Rp{} berhasil diterima. ID transaksi: {reference}",
            rupiah(*total)
        )
    };
    let first = line(&invoices[0], "plk0FZID");
    let group = [
        first.clone(),
        line(&invoices[1], "XQdGyuID"),
        line(&invoices[2], "rVWbDXID"),
    ]
    .join("\n");
    let title = "Pembayaran QRIS diterima!";
    forwarder
        .submit(posted("com.gojek.resto", title, &first, "gobiz|-1", 1_000))
        .expect("submit");
    forwarder
        .submit(posted("com.gojek.resto", title, &group, "gobiz|-1", 2_000))
        .expect("submit");
    drained(&forwarder).await;

    for (invoice, _) in &invoices {
        assert_eq!(
            server.status_of(&merchant, invoice).await,
            "paid",
            "{invoice}"
        );
    }
    let mut paid: Vec<String> = Vec::new();
    for _ in 0..invoices.len() {
        let body = receiver.next().await.json();
        paid.push(body["data"]["invoice_id"].as_str().expect("id").to_owned());
    }
    paid.sort();
    let mut expected: Vec<String> = invoices.iter().map(|(i, _)| i.clone()).collect();
    expected.sort();
    assert_eq!(paid, expected, "one webhook per invoice, none twice");
    assert!(receiver.try_next().is_none(), "no fourth webhook");
    forwarder.shutdown();
}

#[tokio::test]
async fn an_outgoing_transfer_never_leaves_the_phone_and_nothing_is_paid() {
    let server = TestServer::start().await;
    let mut receiver = Receiver::start().await;
    let merchant = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let created = server.create_payment(&merchant, 500_000).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let forwarder = phone(&server, &merchant, &dir);

    // Same amount as the invoice, but money going out.
    let text = format!(
        "Rp{} udah dikirim ke BCA ALFONSUS.",
        rupiah(total_of(&created))
    );
    let outcome = forwarder
        .submit(posted(
            "com.gojek.gopay",
            "Transfer berhasil",
            &text,
            "k",
            5,
        ))
        .expect("submit");
    assert!(
        matches!(outcome, SubmitOutcome::Ignored { .. }),
        "{outcome:?}"
    );
    drained(&forwarder).await;

    assert_eq!(
        server.status_of(&merchant, &invoice_of(&created)).await,
        "pending"
    );
    assert!(
        server.notifications(&merchant).await.is_empty(),
        "the server never heard of it"
    );
    assert!(receiver.try_next().is_none());
    forwarder.shutdown();
}

#[tokio::test]
async fn a_queue_built_while_the_server_was_down_pays_when_it_comes_back() {
    let server = TestServer::start().await;
    let mut receiver = Receiver::start().await;
    let merchant = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let created = server.create_payment(&merchant, 42_000).await;
    let invoice = invoice_of(&created);
    let text = format!(
        "Kamu berhasil menerima Rp{} dari SITI",
        rupiah(total_of(&created))
    );

    // The phone has no connection to the server: it queues on disk.
    let dir = tempfile::tempdir().expect("tempdir");
    let offline = Forwarder::new(ForwarderConfig {
        server_url: "http://127.0.0.1:9".into(),
        ..phone_config(&server, &merchant, &dir)
    })
    .expect("forwarder");
    offline
        .submit(posted("id.dana", "DANA", &text, "k1", 10))
        .expect("submit");
    assert_eq!(offline.pending_count().expect("count"), 1);
    offline.shutdown();
    drop(offline);

    // The app restarts with the right server: the item survives and is delivered.
    let forwarder = phone(&server, &merchant, &dir);
    drained(&forwarder).await;
    assert_eq!(server.status_of(&merchant, &invoice).await, "paid");
    let body = within("the webhook", async { receiver.next().await.json() }).await;
    assert_eq!(body["data"]["invoice_id"], invoice.as_str());
    forwarder.shutdown();
}
