//! The per-endpoint cap across nodes: two `webqris serve` processes on one PostgreSQL database (run by
//! scripts/test.d/10-postgres.sh; on a SQLite-only run these tests return at once: one SQLite file is one
//! node) share one endpoint's allowance, because the leases they count are in the database. A receiver
//! that holds every request open counts the requests open at once: never more than the cap, whichever
//! node sent them, and once released every delivery arrives exactly once. The circuit breaker is shared
//! the same way: a circuit one node opened holds the other node's attempts back.

use std::collections::HashSet;
use std::path::Path;

use axum::http::StatusCode;
use serde_json::json;
use webqris_server::db::{Circuit, Db, DeliveryStatus, MerchantId};

use crate::multinode::{delivery_rows, http, merchant, open, shared_database};
use crate::restart::{Serve, cli, post};
use crate::support::{Receiver, WsClient, dana, within};

/// A merchant's credentials, and the amounts of its invoices so far (each invoice a new amount).
struct Shop {
    id: MerchantId,
    token: String,
    secret: String,
    invoices: i64,
}

impl Shop {
    fn new(db: &Path, name: &str, webhook_url: &str) -> Self {
        let (id, token, secret) = merchant(db, name, webhook_url);
        Self {
            id,
            token,
            secret,
            invoices: 0,
        }
    }

    /// Creates an invoice on `node` and pays it there (its webhook is queued and that node's worker is
    /// rung); returns the invoice id.
    async fn pay(&mut self, http: &reqwest::Client, node: &Serve) -> String {
        self.invoices += 1;
        let (code, created) = post(
            http,
            format!("{}/api/payments/qris/create", node.base),
            &self.token,
            &json!({"amount": 20000 + 1000 * self.invoices}),
        )
        .await;
        assert_eq!(code, StatusCode::CREATED, "{created}");
        let total = created["total_amount"].as_i64().expect("total");
        let (code, paid) = post(
            http,
            format!("{}/api/webhook/payment", node.base),
            &self.secret,
            &dana(total),
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{paid}");
        assert_eq!(paid["success"], true, "{paid}");
        created["invoice_id"].as_str().expect("invoice").to_owned()
    }
}

/// Attempts in flight to `merchant`'s endpoint now, counted from the leases in the database (what
/// every node's claim counts).
async fn leased(store: &Db, merchant: MerchantId) -> i64 {
    within(
        "the endpoint's leases",
        store.read(move |c| {
            let now = webqris_core::Timestamp::from_millis(
                i64::try_from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .expect("after 1970")
                        .as_millis(),
                )
                .expect("millis fit"),
            );
            c.endpoint_status(merchant, now)
        }),
    )
    .await
    .expect("read")
    .in_flight
}

/// Pays one webhook of the sentinel shop on `node` and waits for it to arrive: that node's worker has
/// then committed a claim round that came after everything paid before, with every due delivery of
/// every endpoint before it.
async fn round_on(
    node: &Serve,
    sentinel: &mut Shop,
    receiver: &mut Receiver,
    http: &reqwest::Client,
) {
    let invoice = sentinel.pay(http, node).await;
    loop {
        let hook = receiver.next().await;
        if hook.json()["data"]["invoice_id"] == invoice.as_str() {
            return;
        }
    }
}

/// The `webhook_delivered` frames of `shop` on `socket` until `count` distinct webhook ids came.
async fn delivered(socket: &mut WsClient, count: usize) -> HashSet<String> {
    let mut ids = HashSet::new();
    while ids.len() < count {
        let frame = socket.next_event("webhook_delivered").await;
        ids.insert(
            frame["data"]["webhook_id"]
                .as_str()
                .expect("webhook id")
                .to_owned(),
        );
    }
    ids
}

#[tokio::test]
async fn two_nodes_never_hold_more_than_the_endpoint_cap_open_and_deliver_each_once() {
    const CAP: usize = 2;
    const WEBHOOKS: usize = 8;
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(db) = shared_database(dir.path()) else {
        return;
    };
    // Every request to the capped shop is held open until the test releases it.
    let mut capped_receiver = Receiver::holding().await;
    let mut sentinel_receiver = Receiver::start().await;
    let mut capped = Shop::new(&db, "Toko Tertahan", &capped_receiver.url);
    let mut sentinel = Shop::new(&db, "Toko Penjaga", &sentinel_receiver.url);
    let cap = CAP.to_string();
    let env = [
        ("WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ("WEBQRIS_WEBHOOK_ENDPOINT_CONCURRENCY", cap.as_str()),
        // Held requests are released long before they could time out (a timeout would be a retry).
        ("WEBQRIS_WEBHOOK_TIMEOUT_SECS", "120"),
    ];
    let (a, b) = (Serve::start(&db, &env).await, Serve::start(&db, &env).await);
    let http = http();
    let store = open(&db).await;
    let ws = a.base.replacen("http://", "ws://", 1);
    let mut frames = WsClient::connect(&format!("{ws}/ws/merchant?token={}", capped.token)).await;

    // Node A takes the endpoint's whole allowance.
    let mut invoices = HashSet::new();
    for _ in 0..CAP {
        invoices.insert(capped.pay(&http, &a).await);
    }
    let mut arrived = HashSet::new();
    for _ in 0..CAP {
        arrived.insert(capped_receiver.next().await.header("webhook-id").to_owned());
    }
    // The rest are paid on node B, whose worker is rung each time: its claims must count A's leases.
    while invoices.len() < WEBHOOKS {
        invoices.insert(capped.pay(&http, &b).await);
    }
    round_on(&b, &mut sentinel, &mut sentinel_receiver, &http).await;
    assert_eq!(
        leased(&store, capped.id).await,
        i64::try_from(CAP).expect("small"),
        "B claimed none of the capped endpoint's due webhooks while A held its allowance"
    );
    assert!(
        capped_receiver.try_next().is_none(),
        "no request beyond the cap reached the receiver"
    );

    // One at a time, a held request answers: the endpoint has a free place, which either node may take
    // (both are rung after every release); the requests open never exceed the cap.
    let mut released = 0;
    let mut nodes = [&a, &b].into_iter().cycle();
    while arrived.len() < WEBHOOKS {
        capped_receiver.release();
        released += 1;
        let hook = capped_receiver.next().await;
        assert!(
            arrived.insert(hook.header("webhook-id").to_owned()),
            "a webhook arrived twice: {}",
            hook.header("webhook-id")
        );
        let open_now = arrived.len() - released;
        assert!(
            open_now <= CAP,
            "{open_now} requests open at once, cap {CAP}"
        );
        if open_now == CAP {
            // Both nodes have had a claim round since; neither went past the cap.
            for node in [nodes.next().expect("cycle"), nodes.next().expect("cycle")] {
                round_on(node, &mut sentinel, &mut sentinel_receiver, &http).await;
            }
            let leased = leased(&store, capped.id).await;
            assert!(
                leased <= i64::try_from(CAP).expect("small"),
                "{leased} leases alive on the capped endpoint, cap {CAP}"
            );
            assert!(
                capped_receiver.try_next().is_none(),
                "no request beyond the cap reached the receiver"
            );
        }
    }
    for _ in released..WEBHOOKS {
        capped_receiver.release();
    }
    // Every delivery is recorded once: one attempt each, delivered, and no request came twice.
    assert_eq!(delivered(&mut frames, WEBHOOKS).await, arrived);
    let rows = delivery_rows(&store, capped.id, invoices).await;
    assert_eq!(rows.len(), WEBHOOKS, "{rows:?}");
    for (id, status, attempts) in rows {
        assert!(arrived.contains(&id), "{id} never arrived");
        assert_eq!(status, DeliveryStatus::Delivered, "{id}");
        assert_eq!(attempts, vec![(1, Some(200))], "{id}: one attempt");
    }
    assert!(
        capped_receiver.try_next().is_none(),
        "no webhook arrived twice"
    );
}

#[tokio::test]
async fn a_circuit_one_node_opened_holds_the_other_nodes_attempts_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(db) = shared_database(dir.path()) else {
        return;
    };
    // The endpoint accepts connections and never answers: every attempt times out.
    let mut receiver = Receiver::holding().await;
    let mut sentinel_receiver = Receiver::start().await;
    let mut shop = Shop::new(&db, "Toko Macet", &receiver.url);
    let mut sentinel = Shop::new(&db, "Toko Penjaga", &sentinel_receiver.url);
    let env = [
        ("WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ("WEBQRIS_WEBHOOK_TIMEOUT_SECS", "0.5"),
        ("WEBQRIS_WEBHOOK_CONNECT_TIMEOUT_SECS", "0.5"),
        ("WEBQRIS_WEBHOOK_BREAKER_THRESHOLD", "2"),
        // No probe within the test.
        ("WEBQRIS_WEBHOOK_BREAKER_PROBE_SECS", "3600"),
    ];
    let (a, b) = (Serve::start(&db, &env).await, Serve::start(&db, &env).await);
    let http = http();
    let store = open(&db).await;
    // The operator's socket: it sees failed attempts too.
    let admin = cli(&db, &["admin", "token", "create"]);
    let ws = a.base.replacen("http://", "ws://", 1);
    let mut frames = WsClient::connect(&format!(
        "{ws}/ws?token={}",
        admin["token"].as_str().expect("admin token")
    ))
    .await;

    // Two attempts from node A time out; the second one's record opens the circuit.
    for _ in 0..2 {
        shop.pay(&http, &a).await;
        receiver.next().await;
    }
    for _ in 0..2 {
        frames.next_event("webhook_failed").await;
    }
    let merchant = shop.id;
    let opened = within(
        "the endpoint's health",
        store.read(move |c| c.endpoint_health(merchant)),
    )
    .await
    .expect("read")
    .expect("a stored state");
    assert_eq!((opened.circuit, opened.failures), (Circuit::Open, 2));

    // Node B has a new webhook of the shop due and runs a claim round (the sentinel's): the circuit A
    // opened holds it back, no probe before its time.
    let held_back = shop.pay(&http, &b).await;
    round_on(&b, &mut sentinel, &mut sentinel_receiver, &http).await;
    let waiting = within(
        "the held-back delivery",
        store.read(move |c| {
            let payment = c
                .payment_by_invoice(merchant, &held_back)?
                .expect("the invoice");
            c.deliveries_for_payment(payment.id)
        }),
    )
    .await
    .expect("read");
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].status, waiting[0].attempts),
        (DeliveryStatus::Pending, 0),
        "waiting its turn, its retry schedule untouched"
    );
    assert!(
        receiver.try_next().is_none(),
        "no attempt while the circuit is open"
    );
}
