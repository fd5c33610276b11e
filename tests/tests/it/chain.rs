//! The chain a merchant relies on: an e-wallet notification on the phone pays the right invoice, the
//! merchant's backend receives one signed `payment.paid`, and both WebSockets see it.

use std::sync::Arc;

use serde_json::Value;
use webqris_android::{
    DeliveryState, Forwarder, ForwarderConfig, IncomingNotification, SubmitOutcome,
};

use webqris_server::db::NotificationOutcome;

use crate::support::{Receiver, TestMerchant, TestServer, rupiah};

/// The longest the forwarder is given to empty its outbox, milliseconds.
const DRAIN_MS: u64 = 15_000;

/// A shop: the server, the merchant's webhook receiver, the merchant, and the phone's storage.
struct Shop {
    server: TestServer,
    receiver: Receiver,
    merchant: TestMerchant,
    phone_dir: tempfile::TempDir,
}

impl Shop {
    async fn open(name: &str) -> Self {
        let server = TestServer::start().await;
        let receiver = Receiver::start().await;
        let merchant = server.merchant(name, Some(&receiver.url)).await;
        Self {
            server,
            receiver,
            merchant,
            phone_dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Creates an invoice through the API: `(invoice_id, total_amount)`.
    async fn invoice(&self, amount: i64) -> (String, i64) {
        let created: Value = self.server.create_payment(&self.merchant, amount).await;
        (
            created["invoice_id"]
                .as_str()
                .expect("invoice_id")
                .to_owned(),
            created["total_amount"].as_i64().expect("total_amount"),
        )
    }

    async fn status(&self, invoice: &str) -> String {
        self.server.status_of(&self.merchant, invoice).await
    }

    /// The phone's settings: every app read, millisecond retries so that tests never wait long.
    fn phone_config(&self) -> ForwarderConfig {
        ForwarderConfig {
            server_url: self.server.url(""),
            callback_secret: self.merchant.callback_secret.clone(),
            device_id: "kasir-01".into(),
            enabled_apps: None,
            database_path: self
                .phone_dir
                .path()
                .join("outbox.db")
                .display()
                .to_string(),
            app_version: "e2e".into(),
            retry_base_ms: 10,
            retry_cap_ms: 100,
            max_attempts: 10,
            parked_retry_ms: 3_600_000,
            request_timeout_ms: 5_000,
            heartbeat_interval_secs: 0,
        }
    }

    /// The forwarder on the merchant's phone (its outbox survives between calls).
    fn phone(&self) -> Arc<Forwarder> {
        Forwarder::new(self.phone_config()).expect("forwarder opens its outbox")
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
        category: Some("status".into()),
        template: None,
        channel_id: Some("transactions".into()),
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

#[tokio::test]
async fn a_dana_notification_on_the_phone_pays_the_invoice_and_the_merchant_gets_one_signed_webhook()
 {
    let mut shop = Shop::open("Toko ABC").await;
    let mut merchant_socket = shop.server.merchant_socket(&shop.merchant).await;
    let mut operator_socket = shop.server.operator_socket().await;
    let (invoice, total) = shop.invoice(25_000).await;

    let forwarder = shop.phone();
    let text = format!("Kamu berhasil menerima Rp{} dari JOHN DOE", rupiah(total));
    let notification = posted(
        "id.dana",
        "DANA",
        &text,
        "0|id.dana|7|null|10001",
        1_774_088_123_000,
    );
    let outcome = forwarder.submit(notification.clone()).expect("submit");
    assert!(
        matches!(outcome, SubmitOutcome::Queued { .. }),
        "{outcome:?}"
    );
    drained(&forwarder).await;

    assert_eq!(shop.status(&invoice).await, "paid");
    let webhook = shop.receiver.next().await;
    webhook.assert_signed_with(&shop.merchant.webhook_secret);
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
    let again = forwarder.submit(notification).expect("submit");
    assert!(
        matches!(again, SubmitOutcome::AlreadySeen { .. }),
        "{again:?}"
    );
    assert!(shop.receiver.try_next().is_none(), "no second webhook");
    forwarder.shutdown();
}

#[tokio::test]
async fn a_grouped_gobiz_notification_pays_each_of_its_invoices_once() {
    let mut shop = Shop::open("Warung GoFood").await;
    let mut invoices = Vec::new();
    for amount in [6_000, 1_000, 2_000] {
        invoices.push(shop.invoice(amount).await);
    }
    let forwarder = shop.phone();

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
    for (text, post_time_ms) in [(&first, 1_000), (&group, 2_000)] {
        forwarder
            .submit(posted(
                "com.gojek.resto",
                title,
                text,
                "gobiz|-1",
                post_time_ms,
            ))
            .expect("submit");
    }
    drained(&forwarder).await;

    for (invoice, _) in &invoices {
        assert_eq!(shop.status(invoice).await, "paid", "{invoice}");
    }
    let mut paid: Vec<String> = Vec::new();
    for _ in 0..invoices.len() {
        let body = shop.receiver.next().await.json();
        paid.push(body["data"]["invoice_id"].as_str().expect("id").to_owned());
    }
    paid.sort();
    let mut expected: Vec<String> = invoices.iter().map(|(i, _)| i.clone()).collect();
    expected.sort();
    assert_eq!(paid, expected, "one webhook per invoice, none twice");
    assert!(shop.receiver.try_next().is_none(), "no fourth webhook");
    forwarder.shutdown();
}

/// The phone forwards every notification of a watched app (the server decides, and stores it); an
/// outgoing transfer of an invoice's exact total pays nothing.
#[tokio::test]
async fn an_outgoing_transfer_is_forwarded_stored_and_pays_nothing() {
    let mut shop = Shop::open("Toko ABC").await;
    let (invoice, total) = shop.invoice(500_000).await;
    let forwarder = shop.phone();

    // Same amount as the invoice, but money going out.
    let text = format!("Rp{} udah dikirim ke BCA ALFONSUS.", rupiah(total));
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
        matches!(outcome, SubmitOutcome::Queued { .. }),
        "{outcome:?}"
    );
    drained(&forwarder).await;

    assert_eq!(shop.status(&invoice).await, "pending");
    let stored = shop.server.notifications(&shop.merchant).await;
    assert_eq!(stored.len(), 1, "the server stores what it was sent");
    assert_ne!(stored[0].outcome, NotificationOutcome::Paid);
    assert_eq!(stored[0].payment_id, None);
    assert!(shop.receiver.try_next().is_none());
    forwarder.shutdown();
}

#[tokio::test]
async fn a_queue_built_while_the_server_was_down_pays_when_it_comes_back() {
    let mut shop = Shop::open("Toko ABC").await;
    let (invoice, total) = shop.invoice(42_000).await;
    let text = format!("Kamu berhasil menerima Rp{} dari SITI", rupiah(total));

    // The phone cannot reach the server (a closed port): it queues on disk.
    let offline = Forwarder::new(ForwarderConfig {
        server_url: "http://127.0.0.1:9".into(),
        ..shop.phone_config()
    })
    .expect("forwarder");
    offline
        .submit(posted("id.dana", "DANA", &text, "k1", 10))
        .expect("submit");
    assert_eq!(offline.pending_count(), 1);
    offline.shutdown();
    drop(offline);

    // The app restarts with the right server: the item survives and is delivered.
    let forwarder = shop.phone();
    drained(&forwarder).await;
    assert_eq!(shop.status(&invoice).await, "paid");
    let body = shop.receiver.next().await.json();
    assert_eq!(body["data"]["invoice_id"], invoice.as_str());
    forwarder.shutdown();
}

#[tokio::test]
async fn scanning_the_dashboards_setup_qr_gives_a_phone_that_reaches_its_merchant() {
    let shop = Shop::open("Toko A&B").await;
    // What the dashboard's setup QR holds (server side) read by the app's parser (phone side).
    let link = webqris_server::dashboard::merchant::setup_link(
        &shop.server.url(""),
        &shop.merchant.callback_secret,
        &shop.merchant.name,
    );
    let setup =
        webqris_android::parse_setup_link(link).expect("the app reads the dashboard's link");
    assert_eq!(setup.merchant_name.as_deref(), Some("Toko A&B"));

    let forwarder = Forwarder::new(ForwarderConfig {
        server_url: setup.server_url,
        callback_secret: setup.callback_secret,
        ..shop.phone_config()
    })
    .expect("forwarder");
    let answer = tokio::task::spawn_blocking({
        let forwarder = Arc::clone(&forwarder);
        move || forwarder.test_connection()
    })
    .await
    .expect("test task")
    .expect("the connection test passes");
    assert_eq!(
        answer,
        "Koneksi berhasil! Auth valid ✓ (Merchant: Toko A&B)"
    );
    forwarder.shutdown();
}
