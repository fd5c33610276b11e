//! Two `webqris serve` processes on one PostgreSQL database (run by scripts/test.d/10-postgres.sh; on a
//! SQLite-only run these tests return at once: one SQLite file is one node). Creates split across both
//! nodes get distinct totals; one notification sent to both nodes at once pays its invoice once, with
//! one webhook; each node's sockets see the other's events; a node killed with webhooks due leaves them
//! to the survivor, which delivers each once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use serde_json::{Value, json};
use webqris_server::config::DatabaseConfig;
use webqris_server::db::{Db, DbError, DeliveryStatus, MerchantId};

use crate::restart::{Serve, cli, post};
use crate::support::{Receiver, WsClient, dana, fresh_database, static_qris, within};

/// A merchant named `name` made with the CLI on `db`: (id, API token, callback secret).
pub fn merchant(db: &Path, name: &str, webhook_url: &str) -> (MerchantId, String, String) {
    let m = cli(
        db,
        &[
            "merchant",
            "create",
            "--name",
            name,
            "--qris",
            &static_qris(),
            "--webhook-url",
            webhook_url,
        ],
    );
    let id = m["merchant_id"].as_i64().expect("merchant id");
    let token = cli(db, &["token", "create", "--merchant", &id.to_string()]);
    (
        MerchantId(id),
        token["token"].as_str().expect("token").to_owned(),
        m["callback_secret"].as_str().expect("secret").to_owned(),
    )
}

/// The PostgreSQL database of this test, or `None` on a SQLite-only run.
pub fn shared_database(dir: &Path) -> Option<PathBuf> {
    std::env::var_os("WEBQRIS_TEST_POSTGRES").map(|_| fresh_database(dir))
}

/// A client for the nodes (no proxy).
pub fn http() -> reqwest::Client {
    webqris_server::delivery::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

async fn socket(node: &Serve, token: &str) -> WsClient {
    let ws = node.base.replacen("http://", "ws://", 1);
    WsClient::connect(&format!("{ws}/ws/merchant?token={token}")).await
}

/// The next `event` frame about `invoice`, skipping the others.
async fn frame_about(socket: &mut WsClient, event: &str, invoice: &str) -> Value {
    loop {
        let frame = socket.next_event(event).await;
        if frame["data"]["invoice_id"] == invoice {
            return frame;
        }
    }
}

/// The shared database, opened by the test itself to read what the nodes stored.
pub async fn open(db: &Path) -> Db {
    let db = db.to_owned();
    // The PostgreSQL client starts a runtime of its own: not on this test's runtime thread.
    tokio::task::spawn_blocking(move || Db::open(&db, &DatabaseConfig::default()))
        .await
        .expect("open")
        .expect("the test database")
}

/// Each delivery of `merchant`'s `invoices`: its webhook id, status and recorded attempts (number,
/// HTTP status).
pub async fn delivery_rows(
    store: &Db,
    merchant: MerchantId,
    invoices: HashSet<String>,
) -> Vec<(String, DeliveryStatus, Vec<(i64, Option<u16>)>)> {
    within(
        "the delivery rows",
        store.read(move |c| {
            let mut rows = Vec::new();
            for invoice in &invoices {
                let payment = c
                    .payment_by_invoice(merchant, invoice)?
                    .expect("the invoice");
                for d in c.deliveries_for_payment(payment.id)? {
                    let attempts = c
                        .delivery_attempts(d.id)?
                        .into_iter()
                        .map(|a| (a.attempt, a.status_code))
                        .collect();
                    rows.push((d.message_id, d.status, attempts));
                }
            }
            Ok::<_, DbError>(rows)
        }),
    )
    .await
    .expect("read")
}

#[tokio::test]
async fn two_nodes_allocate_distinct_totals_pay_once_and_see_each_others_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(db) = shared_database(dir.path()) else {
        return;
    };
    let mut receiver = Receiver::start().await;
    let (merchant_id, token, secret) = merchant(&db, "Toko Dua Node", &receiver.url);
    let env = [("WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")];
    let (a, b) = (Serve::start(&db, &env).await, Serve::start(&db, &env).await);
    let (mut on_a, mut on_b) = (socket(&a, &token).await, socket(&b, &token).await);
    let http = http();

    // 60 creates for one amount at once, alternating between the nodes: 60 distinct totals.
    let creates = (0..60).map(|i| {
        let (http, token) = (http.clone(), token.clone());
        let base = if i % 2 == 0 { &a.base } else { &b.base }.clone();
        tokio::spawn(async move {
            post(
                &http,
                format!("{base}/api/payments/qris/create"),
                &token,
                &json!({"amount": 25000}),
            )
            .await
        })
    });
    let mut totals = HashSet::new();
    for create in creates {
        let (code, created) = create.await.expect("task");
        assert_eq!(code, StatusCode::CREATED, "{created}");
        assert!(
            totals.insert(created["total_amount"].as_i64().expect("total")),
            "a total handed out twice: {created}"
        );
    }
    assert_eq!(totals.len(), 60);

    // An invoice made on A reaches B's socket.
    let (code, created) = post(
        &http,
        format!("{}/api/payments/qris/create", a.base),
        &token,
        &json!({"amount": 31000}),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    let invoice = created["invoice_id"].as_str().expect("invoice").to_owned();
    let total = created["total_amount"].as_i64().expect("total");
    let relayed = frame_about(&mut on_b, "new_payment", &invoice).await;
    assert_eq!(relayed["data"]["total_amount"], total);

    // The same notification reaches both nodes at once (two forwarders, or a retry through the load
    // balancer): it pays once.
    let notify = |base: String| {
        let (http, secret) = (http.clone(), secret.clone());
        tokio::spawn(async move {
            post(
                &http,
                format!("{base}/api/webhook/payment"),
                &secret,
                &dana(total),
            )
            .await
        })
    };
    let (to_a, to_b) = (notify(a.base.clone()), notify(b.base.clone()));
    let answers = [to_a.await.expect("task"), to_b.await.expect("task")];
    let paid: Vec<&Value> = answers
        .iter()
        .filter(|(code, body)| *code == StatusCode::OK && body["success"] == true)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(paid.len(), 1, "exactly one node paid it: {answers:?}");
    assert_eq!(paid[0]["invoice_id"], invoice.as_str());

    // Both nodes' sockets see the payment, whichever node made it.
    for socket in [&mut on_a, &mut on_b] {
        let frame = frame_about(socket, "payment_paid", &invoice).await;
        assert_eq!(frame["data"]["status"], "paid");
    }
    // One webhook, delivered once.
    let hook = loop {
        let hook = receiver.next().await;
        if hook.json()["data"]["invoice_id"] == invoice.as_str() {
            break hook;
        }
    };
    assert_eq!(hook.status, 200);
    let store = open(&db).await;
    let inv = invoice.clone();
    let deliveries = within(
        "the delivery rows",
        store.read(move |c| {
            let payment = c
                .payment_by_invoice(merchant_id, &inv)?
                .expect("the invoice");
            c.deliveries_for_payment(payment.id)
        }),
    )
    .await
    .expect("read");
    assert_eq!(deliveries.len(), 1, "one outbox row for one payment");
    assert_eq!(deliveries[0].message_id, hook.header("webhook-id"));
}

#[tokio::test]
async fn a_node_killed_with_webhooks_in_flight_leaves_them_to_the_other_which_delivers_each_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(db) = shared_database(dir.path()) else {
        return;
    };
    // The receiver holds every request open: node A's attempts are in flight when it is killed.
    let mut receiver = Receiver::holding().await;
    let (merchant_id, token, secret) = merchant(&db, "Toko Dua Node", &receiver.url);
    let env = [
        ("WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ("WEBQRIS_WEBHOOK_TIMEOUT_SECS", "10"),
        ("WEBQRIS_WEBHOOK_LEASE_SECS", "2"),
    ];
    let mut a = Serve::start(&db, &env).await;
    let http = http();
    let mut invoices = HashSet::new();
    for amount in [21000, 22000, 23000, 24000, 25000] {
        let (code, created) = post(
            &http,
            format!("{}/api/payments/qris/create", a.base),
            &token,
            &json!({"amount": amount}),
        )
        .await;
        assert_eq!(code, StatusCode::CREATED, "{created}");
        let total = created["total_amount"].as_i64().expect("total");
        let (code, paid) = post(
            &http,
            format!("{}/api/webhook/payment", a.base),
            &secret,
            &dana(total),
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{paid}");
        invoices.insert(created["invoice_id"].as_str().expect("id").to_owned());
    }
    let mut in_flight = HashSet::new();
    while in_flight.len() < invoices.len() {
        in_flight.insert(receiver.next().await.header("webhook-id").to_owned());
    }
    // Node B joins; node A dies with all five attempts open and its leases still running.
    let b = Serve::start(&db, &env).await;
    let mut on_b = socket(&b, &token).await;
    a.child.kill().await.expect("SIGKILL node A");
    for _ in 0..100 {
        receiver.release();
    }
    // B takes each over once A's lease has run out and it is recorded there (its socket says so).
    let mut recorded = HashSet::new();
    while recorded.len() < in_flight.len() {
        let frame = on_b.next_event("webhook_delivered").await;
        assert!(
            recorded.insert(frame["data"]["webhook_id"].as_str().expect("id").to_owned()),
            "delivered twice: {frame}"
        );
    }
    assert_eq!(recorded, in_flight);
    let store = open(&db).await;
    let rows = delivery_rows(&store, merchant_id, invoices).await;
    assert_eq!(rows.len(), 5, "{rows:?}");
    for (id, status, attempts) in rows {
        assert_eq!(status, DeliveryStatus::Delivered, "{id}");
        // A's attempt 1 died with it (never recorded); B's attempt 2 got the 200.
        assert_eq!(attempts, vec![(2, Some(200))], "{id}");
    }
}
