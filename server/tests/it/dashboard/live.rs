//! The dashboard's live feed: `/ws` with the session cookie carries the events of the viewer's own
//! merchants (the operator: all of them), so the page updates without reloading.

use serde_json::Value;
use webqris_server::db::MerchantId;

use super::Dashboard;
use crate::support::{Receiver, TestMerchant, TestServer, WsClient, dana, within};

async fn merchant(tab: &Dashboard, name: &str, webhook: Option<&str>) -> TestMerchant {
    let (id, token, secret) = tab.ready_merchant(name, webhook).await;
    TestMerchant {
        id: MerchantId(id),
        name: name.to_owned(),
        token,
        callback_secret: secret,
        webhook_secret: String::new(),
    }
}

fn invoices(frames: &[Value]) -> Vec<(String, String)> {
    frames
        .iter()
        .map(|f| {
            (
                f["event"].as_str().unwrap_or_default().to_owned(),
                f["data"]["invoice_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_account_sees_its_own_merchants_live_and_the_operator_sees_all() {
    let server = TestServer::start().await;
    let operator = Dashboard::register(&server, "operator@example.com").await;
    let alice = Dashboard::register(&server, "alice@example.com").await;
    let bob = Dashboard::register(&server, "bob@example.com").await;
    let mut receiver = Receiver::start().await;
    let a = merchant(&alice, "Toko Alice", Some(&receiver.url)).await;
    let b = merchant(&bob, "Toko Bob", None).await;
    let mut operator_feed = operator.live_socket().await;
    let mut alice_feed = alice.live_socket().await;
    let mut bob_feed = bob.live_socket().await;

    let for_alice = server.create_payment(&a, 25000).await;
    let for_bob = server.create_payment(&b, 1000).await;
    let alice_invoice = for_alice["invoice_id"].as_str().expect("id").to_owned();
    let bob_invoice = for_bob["invoice_id"].as_str().expect("id").to_owned();
    server
        .notify(
            &a,
            &dana(for_alice["total_amount"].as_i64().expect("total")),
        )
        .await;
    receiver.next().await;
    alice_feed.next_event("webhook_delivered").await;

    let new = |i: &str| ("new_payment".to_owned(), i.to_owned());
    let paid = |i: &str| ("payment_paid".to_owned(), i.to_owned());
    let delivered = |i: &str| ("webhook_delivered".to_owned(), i.to_owned());
    let seen_by_alice = alice_feed.drain().await;
    assert!(
        !invoices(&seen_by_alice).contains(&new(&bob_invoice)),
        "Alice never sees Bob's invoice: {seen_by_alice:?}"
    );
    assert_eq!(invoices(&bob_feed.drain().await), [new(&bob_invoice)]);
    let all = invoices(&operator_feed.drain().await);
    for expected in [
        new(&alice_invoice),
        new(&bob_invoice),
        paid(&alice_invoice),
        delivered(&alice_invoice),
    ] {
        assert!(
            all.contains(&expected),
            "the operator sees {expected:?}: {all:?}"
        );
    }

    // A merchant made after the socket opened is followed at once.
    let later = merchant(&bob, "Toko Bob 2", None).await;
    let created = server.create_payment(&later, 5000).await;
    let frame = bob_feed.next_event("new_payment").await;
    assert_eq!(frame["data"]["invoice_id"], created["invoice_id"]);
    assert_eq!(frame["data"]["merchant_name"], "Toko Bob 2");
    let frames = alice_feed.drain().await;
    assert!(frames.is_empty(), "{frames:?}");
}

/// Whether the socket ends (closed, reset or finished) within the wait.
async fn ends(socket: &mut WsClient) -> bool {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match within("the socket to end", socket.stream.next()).await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn logging_out_ends_the_live_feed_opened_with_that_session() {
    let server = TestServer::start().await;
    let phone = Dashboard::register(&server, "owner@example.com").await;
    let laptop = Dashboard::login(&server, "owner@example.com").await;
    let tablet = Dashboard::login(&server, "owner@example.com").await;
    let mut phone_feed = phone.live_socket().await;
    let mut laptop_feed = laptop.live_socket().await;

    // The tablet logs out: only its own session ends; the others' feeds go on.
    let (status, _) = tablet
        .post("/dashboard/api/logout", &serde_json::json!({}))
        .await;
    assert_eq!(status, axum::http::StatusCode::OK);
    assert!(
        phone_feed.drain().await.is_empty(),
        "the phone's feed still answers"
    );

    // The laptop logs out: its feed ends at once, the phone's does not.
    laptop
        .post("/dashboard/api/logout", &serde_json::json!({}))
        .await;
    assert!(ends(&mut laptop_feed).await);
    assert!(
        phone_feed.drain().await.is_empty(),
        "the phone's feed still answers"
    );

    // Log out everywhere (from a fresh login): the phone's feed ends too.
    let desk = Dashboard::login(&server, "owner@example.com").await;
    desk.post("/dashboard/api/logout-all", &serde_json::json!({}))
        .await;
    assert!(ends(&mut phone_feed).await);
}
