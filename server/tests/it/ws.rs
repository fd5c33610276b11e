//! WebSockets end to end, including the whole flow: create → notification as the forwarder sends it →
//! status paid → signed webhook verified both ways → `payment_paid` on both sockets.

use std::time::Duration;

use axum::http::StatusCode;
use futures_util::future::join_all;
use serde_json::json;
use tokio_tungstenite::tungstenite;
use webqris_core::event;
use webqris_server::config::Seconds;

use crate::support::{Receiver, TestServer, WsClient, dana, within};

async fn refused(url: &str) -> u16 {
    match within(
        "a WebSocket handshake",
        tokio_tungstenite::connect_async(url),
    )
    .await
    {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("{url} must be refused"),
    }
}

#[tokio::test]
async fn the_whole_flow_from_create_to_webhook_and_both_sockets() {
    let server = TestServer::start().await;
    let mut receiver = Receiver::start().await;
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let mut operator = server.operator_socket().await;
    let mut merchant_socket = server.merchant_socket(&m).await;

    let created = server.create_payment(&m, 25000).await;
    let invoice = created["invoice_id"].as_str().expect("id");
    let total = created["total_amount"].as_i64().expect("total");
    for socket in [&mut operator, &mut merchant_socket] {
        let frame = socket.next_event("new_payment").await;
        assert_eq!(frame["data"]["invoice_id"], invoice);
        assert_eq!(frame["data"]["status"], "pending");
    }

    // The notification exactly as our forwarder sends it.
    let message = format!(
        "Kamu berhasil menerima Rp{} dari JOHN DOE",
        crate::support::rupiah(total)
    );
    let post_time = 1_774_088_123_000_i64;
    let key = "0|com.dana.id|-1|null|10123";
    let hash = event::event_hash(&event::NotificationEvent {
        app: "com.dana.id",
        key,
        post_time_ms: post_time,
        title: "DANA",
        text: &message,
    });
    let body = json!({
        "app": "com.dana.id",
        "title": "DANA",
        "message": message,
        "timestamp": "2026-03-21T10:15:23.000Z",
        "device_id": "device-01",
        "notif_id": event::forwarder_notif_id(key, post_time),
        "event_hash": hash,
    });
    let (code, answer) = server.notify(&m, &body).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        answer,
        json!({"success": true, "invoice_id": invoice, "parsed_amount": total, "sender_name": "JOHN DOE"})
    );
    assert_eq!(server.status_of(&m, invoice).await, "paid");

    let hook = receiver.next().await;
    hook.assert_signed_with(&m.webhook_secret);
    assert_eq!(hook.json()["data"]["invoice_id"], invoice);

    let payment_id = server.payment(&m, invoice).await.id.0;
    for socket in [&mut operator, &mut merchant_socket] {
        let frame = socket.next_event("payment_paid").await;
        assert_eq!(
            frame["data"],
            json!({"id": payment_id, "invoice_id": invoice, "amount": 25000, "total_amount": total,
                   "unique_code": total - 25000, "merchant_name": "Toko ABC", "sender_name": "JOHN DOE",
                   "status": "paid"})
        );
        assert!(
            frame["ts"]
                .as_i64()
                .is_some_and(|ts| ts > 1_700_000_000_000)
        );
        let delivered = socket.next_event("webhook_delivered").await;
        assert_eq!(delivered["data"]["invoice_id"], invoice);
        assert_eq!(delivered["data"]["webhook_id"], hook.header("webhook-id"));
        assert_eq!(delivered["data"]["status_code"], 200);
    }

    // The forwarder retrying the same event gets the duplicate answer.
    let (code, again) = server.notify(&m, &body).await;
    assert_eq!(
        (code, again["message"].clone()),
        (StatusCode::OK, json!("Duplicate notification"))
    );
}

#[tokio::test]
async fn bad_tokens_are_refused_with_401_before_the_upgrade() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    assert_eq!(
        refused(&server.ws_url("/ws/merchant?token=wqk_nope")).await,
        401
    );
    assert_eq!(refused(&server.ws_url("/ws/merchant")).await, 401);
    assert_eq!(
        refused(&server.ws_url(&format!("/ws/merchant?token={}", m.callback_secret))).await,
        401
    );
    assert_eq!(refused(&server.ws_url("/ws?token=wqadm_nope")).await, 401);
    assert_eq!(refused(&server.ws_url("/ws")).await, 401);
    assert_eq!(
        refused(&server.ws_url(&format!("/ws?token={}", m.token))).await,
        401,
        "an API token is not an operator credential"
    );
    // A plain GET with a good token but no upgrade is a 400 in the contract's shape.
    let (code, body) = server
        .send(
            server
                .http
                .get(server.url(&format!("/ws/merchant?token={}", m.token))),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["success"], false);
}

#[tokio::test]
async fn ping_is_answered_with_pong() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let mut socket = server.merchant_socket(&m).await;
    socket.send_text("ping").await;
    assert_eq!(socket.next_text().await, "pong");
    let mut operator = server.operator_socket().await;
    operator.send_text("ping").await;
    assert_eq!(operator.next_text().await, "pong");
}

#[tokio::test]
async fn a_merchant_socket_sees_only_its_own_merchants_events_and_the_operator_sees_all() {
    let server = TestServer::start().await;
    let a = server.merchant("Toko A", None).await;
    let b = server.merchant("Toko B", None).await;
    let mut socket_a = server.merchant_socket(&a).await;
    let mut socket_b = server.merchant_socket(&b).await;
    let mut operator = server.operator_socket().await;
    let from_a = server.create_payment(&a, 10000).await;
    let from_b = server.create_payment(&b, 20000).await;
    let total_b = from_b["total_amount"].as_i64().expect("total");
    assert_eq!(server.notify(&b, &dana(total_b)).await.0, StatusCode::OK);

    let seen_a = socket_a.drain().await;
    assert_eq!(seen_a.len(), 1, "{seen_a:?}");
    assert_eq!(seen_a[0]["data"]["invoice_id"], from_a["invoice_id"]);
    let seen_b: Vec<_> = socket_b
        .drain()
        .await
        .into_iter()
        .map(|f| f["event"].clone())
        .collect();
    assert_eq!(seen_b, [json!("new_payment"), json!("payment_paid")]);
    let seen_all = operator.drain().await;
    assert_eq!(seen_all.len(), 3, "{seen_all:?}");
    assert_eq!(seen_all[0]["data"]["merchant_name"], "Toko A");
    assert_eq!(seen_all[1]["data"]["merchant_name"], "Toko B");
}

#[tokio::test]
async fn one_payments_expired_event_per_sweep_split_by_merchant() {
    let server = TestServer::start_with(|c| {
        c.invoice.ttl_secs = Seconds::from_secs(60);
        c.invoice.expiry_sweep_secs = Seconds::from_duration(Duration::from_millis(20));
    })
    .await;
    let a = server.merchant("Toko A", None).await;
    let b = server.merchant("Toko B", None).await;
    let mut socket_a = server.merchant_socket(&a).await;
    let mut operator = server.operator_socket().await;
    let mut invoices = Vec::new();
    for (m, amount) in [(&a, 1000), (&a, 2000), (&b, 3000)] {
        invoices.push(server.create_payment(m, amount).await["invoice_id"].clone());
    }
    server.clock.advance(Duration::from_secs(61));
    let all = operator.next_event("payments_expired").await;
    assert_eq!(
        all["data"]["count"], 3,
        "one event for the whole sweep: {all}"
    );
    let ids: Vec<_> = all["data"]["payments"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["invoice_id"].clone())
        .collect();
    assert_eq!(ids, invoices);
    assert!(
        all["data"]["payments"]
            .as_array()
            .expect("list")
            .iter()
            .all(|p| p["status"] == "expired")
    );
    let own = socket_a.next_event("payments_expired").await;
    assert_eq!(
        own["data"]["count"], 2,
        "a merchant sees only its own: {own}"
    );
    let stored = server.payment(&b, invoices[2].as_str().expect("id")).await;
    assert_eq!(stored.status.as_str(), "expired", "the sweep stored it");
    assert!(
        operator
            .drain()
            .await
            .iter()
            .all(|f| f["event"] != "payments_expired"),
        "nothing left to expire"
    );
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_slow_the_server_or_other_clients() {
    let server = TestServer::start_with(|c| c.websocket.queue = 16).await;
    let m = server.merchant("Toko ABC", None).await;
    let _silent: WsClient = server.merchant_socket(&m).await;
    let mut reader = server.operator_socket().await;
    let mut created = 0;
    for chunk in 0..10 {
        let bodies: Vec<_> = (0..10)
            .map(|i| json!({"amount": 1000 + chunk * 10 + i}))
            .collect();
        let answers = join_all(
            bodies
                .iter()
                .map(|body| server.post("/api/payments/qris/create", &m.token, body)),
        )
        .await;
        assert!(answers.iter().all(|(code, _)| *code == StatusCode::CREATED));
        created += answers.len();
        let frames = reader.drain().await;
        assert_eq!(frames.len(), 10, "the reading client keeps up");
    }
    assert_eq!(created, 100);
}

#[tokio::test]
async fn sockets_are_closed_when_the_server_shuts_down() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let mut socket = server.merchant_socket(&m).await;
    server.stop().await;
    use futures_util::StreamExt;
    loop {
        match within("the close frame", socket.stream.next()).await {
            Some(Ok(tungstenite::Message::Close(frame))) => {
                let frame = frame.expect("a close frame with a code");
                assert_eq!(u16::from(frame.code), 1001, "going away");
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}
