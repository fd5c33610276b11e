//! The events feed (issue 12 item 3): `GET /api/events?after=&limit=` and `/ws/merchant?since=` read a
//! merchant's event log after a cursor, with the real server, receiver and WebSocket clients.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use webqris_server::config::Seconds;

use crate::support::{Receiver, TestMerchant, TestServer, WsClient, dana, within};

/// `GET /api/events` with `m`'s token and `query`.
async fn feed(server: &TestServer, m: &TestMerchant, query: &str) -> (StatusCode, Value) {
    server
        .send(
            server
                .http
                .get(server.url(&format!("/api/events{query}")))
                .bearer_auth(&m.token),
        )
        .await
}

/// Every event of `m` after `after`, read page by page with `limit`.
async fn all_events(server: &TestServer, m: &TestMerchant, after: i64, limit: usize) -> Vec<Value> {
    let (mut events, mut after) = (Vec::new(), after);
    loop {
        let (code, page) = feed(server, m, &format!("?after={after}&limit={limit}")).await;
        assert_eq!(code, StatusCode::OK, "{page}");
        let batch = page["events"].as_array().expect("events").clone();
        assert!(batch.len() <= limit);
        after = page["next_after"].as_i64().expect("next_after");
        events.extend(batch);
        if page["has_more"] == false {
            return events;
        }
    }
}

fn ids(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect()
}

fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect()
}

#[tokio::test]
async fn the_feed_gives_one_merchants_events_oldest_first_with_gapless_ids() {
    let server = TestServer::start_with(|c| {
        c.invoice.expiry_sweep_secs = Seconds::from_duration(Duration::from_millis(20));
    })
    .await;
    let mut receiver = Receiver::start().await;
    let shop = server.merchant("Toko A", Some(&receiver.url)).await;
    let other = server.merchant("Toko B", None).await;
    let mut socket = server.merchant_socket(&shop).await;

    let paid = server.create_payment(&shop, 25000).await;
    let total = paid["total_amount"].as_i64().expect("total");
    server.create_payment(&other, 25000).await;
    let (code, _) = server.notify(&shop, &dana(total)).await;
    assert_eq!(code, StatusCode::OK);
    receiver.next().await;
    socket.next_event("webhook_delivered").await;
    let expiring = server.create_payment(&shop, 30000).await;
    server.clock.advance(Duration::from_secs(1801));
    socket.next_event("payments_expired").await;

    let events = all_events(&server, &shop, 0, 2).await;
    assert_eq!(ids(&events), [1, 2, 3, 4, 5], "{events:?}");
    assert_eq!(
        names(&events),
        [
            "new_payment",
            "payment_paid",
            "webhook_delivered",
            "new_payment",
            "payments_expired"
        ]
    );
    assert_eq!(events[0]["data"]["invoice_id"], paid["invoice_id"]);
    assert_eq!(events[1]["data"]["status"], "paid");
    assert_eq!(events[2]["data"]["invoice_id"], paid["invoice_id"]);
    assert_eq!(
        events[4]["data"]["payments"][0]["invoice_id"],
        expiring["invoice_id"]
    );
    for e in &events {
        let keys: Vec<&str> = e
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["id", "event", "data", "ts"], "{e}");
        assert!(e["ts"].as_i64().expect("ts") > 0);
        assert_ne!(
            e["data"]["merchant_name"], "Toko B",
            "another merchant's event"
        );
    }
    // The other merchant has its own cursor and only its own events (its invoice expired in the same
    // sweep).
    let theirs = all_events(&server, &other, 0, 100).await;
    assert_eq!(ids(&theirs), [1, 2]);
    assert_eq!(names(&theirs), ["new_payment", "payments_expired"]);
    assert_eq!(theirs[0]["data"]["merchant_name"], "Toko B");
    assert_eq!(
        theirs[1]["data"]["count"], 1,
        "only its own invoice: {theirs:?}"
    );

    // A page: up to `limit` after the cursor, and where to continue.
    let (code, page) = feed(&server, &shop, "?after=1&limit=2").await;
    assert_eq!(code, StatusCode::OK, "{page}");
    assert_eq!(ids(page["events"].as_array().expect("events")), [2, 3]);
    assert_eq!(page["next_after"], 3);
    assert_eq!(page["has_more"], true);
    let (_, last) = feed(&server, &shop, "?after=5").await;
    assert_eq!(last["events"], json!([]));
    assert_eq!(last["next_after"], 5);
    assert_eq!(last["has_more"], false);
}

#[tokio::test]
async fn bad_cursors_limits_and_credentials_get_the_contract_error() {
    let server = TestServer::start().await;
    let shop = server.merchant("Toko A", None).await;
    server.create_payment(&shop, 25000).await;
    for query in [
        "?after=-1",
        "?after=abc",
        "?after=",
        "?after=1.5",
        "?after=2",
        "?limit=0",
        "?limit=1001",
        "?limit=lots",
        "?after=99999999999999999999",
    ] {
        let (code, body) = feed(&server, &shop, query).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["success"], false, "{query}");
        assert!(body["message"].is_string(), "{query}: {body}");
    }
    let (code, body) = feed(&server, &shop, "?limit=1000&after=1").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, body) = server
        .send(server.http.get(server.url("/api/events")))
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");
    let callback_secret_as_token = TestMerchant {
        token: shop.callback_secret.clone(),
        ..shop.clone()
    };
    let (code, _) = feed(&server, &callback_secret_as_token, "").await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    // A socket with a bad cursor is refused before the upgrade.
    for since in ["2", "-1", "x"] {
        let (code, body) = server
            .send(
                server
                    .http
                    .get(server.url(&format!("/ws/merchant?token={}&since={since}", shop.token))),
            )
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "since={since}: {body}");
        assert_eq!(body["success"], false);
    }
}

#[tokio::test]
async fn a_socket_with_a_cursor_replays_then_goes_live_with_no_gap_and_no_duplicate() {
    let server = TestServer::start_with(|c| {
        c.invoice.create_burst_per_token = 10_000;
    })
    .await;
    let shop = server.merchant("Toko A", None).await;
    for n in 0..20 {
        server.create_payment(&shop, 10_000 + n).await;
    }
    // Invoices keep being created while the socket connects and replays: the seam is crossed live.
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let writer = {
        let (http, url, token) = (
            server.http.clone(),
            server.url("/api/payments/qris/create"),
            shop.token.clone(),
        );
        tokio::spawn(async move {
            let mut started_tx = Some(started_tx);
            for n in 0..60 {
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"amount": 20_000 + n}))
                    .send()
                    .await
                    .expect("create");
                assert_eq!(response.status().as_u16(), 201);
                if n == 5
                    && let Some(tx) = started_tx.take()
                {
                    let _ = tx.send(());
                }
            }
        })
    };
    within("the writer to be under way", started)
        .await
        .expect("writer");
    let mut socket =
        WsClient::connect(&server.ws_url(&format!("/ws/merchant?token={}&since=5", shop.token)))
            .await;
    let mut seen = Vec::new();
    while seen.last() != Some(&80) {
        let frame: Value = serde_json::from_str(&socket.next_text().await).expect("JSON frame");
        assert_eq!(frame["event"], "new_payment", "{frame}");
        seen.push(frame["id"].as_i64().expect("every frame has its cursor"));
    }
    within("the writer", writer).await.expect("writer task");
    assert_eq!(
        seen,
        (6..=80).collect::<Vec<_>>(),
        "every event once, in order"
    );
    // Live from here on, still with cursors, and nothing more was pending.
    server.create_payment(&shop, 99_000).await;
    let next: Value = serde_json::from_str(&socket.next_text().await).expect("JSON");
    assert_eq!(next["id"], 81);
    assert_eq!(socket.drain().await, Vec::<Value>::new());

    // A socket without a cursor keeps the contract's frame: no id.
    let mut plain = server.merchant_socket(&shop).await;
    server.create_payment(&shop, 99_001).await;
    let frame = plain.next_event("new_payment").await;
    assert_eq!(frame.get("id"), None, "{frame}");
    // A socket already caught up gets only what comes next.
    let mut caught_up =
        WsClient::connect(&server.ws_url(&format!("/ws/merchant?token={}&since=82", shop.token)))
            .await;
    server.create_payment(&shop, 99_002).await;
    let frame: Value = serde_json::from_str(&caught_up.next_text().await).expect("JSON");
    assert_eq!(frame["id"], 83, "{frame}");
}

#[tokio::test]
async fn events_past_retention_are_pruned_and_a_stale_cursor_is_told_so() {
    let server = TestServer::start_with(|c| {
        c.retention.events_days = 1;
        c.retention.prune_every_secs = Seconds::from_duration(Duration::from_millis(20));
    })
    .await;
    let shop = server.merchant("Toko A", None).await;
    for n in 0..3 {
        server.create_payment(&shop, 10_000 + n).await;
    }
    server.clock.advance(Duration::from_secs(2 * 24 * 3600));
    server.create_payment(&shop, 20_000).await;
    within("the old events to be pruned", async {
        loop {
            let (_, page) = feed(&server, &shop, "?after=3").await;
            if page["events"].as_array().is_some_and(|e| e.len() == 1) {
                let (code, _) = feed(&server, &shop, "?after=0").await;
                if code == StatusCode::BAD_REQUEST {
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    let (code, body) = feed(&server, &shop, "?after=1").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("continue from 3"),
        "{body}"
    );
    let (code, page) = feed(&server, &shop, "?after=3").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(ids(page["events"].as_array().expect("events")), [4]);
}

#[tokio::test]
async fn sandbox_events_are_in_the_feed_marked_test() {
    let server = TestServer::start().await;
    let shop = server.merchant("Toko A", None).await;
    let issued =
        webqris_server::merchant::issue_api_token(&server.db, shop.id, true, server.clock.now())
            .await
            .expect("test token");
    let test = TestMerchant {
        token: issued.token.expose().to_owned(),
        ..shop.clone()
    };
    let invoice = server.create_payment(&test, 25000).await;
    let (code, _) = server
        .post(
            &format!(
                "/api/payments/{}/simulate",
                invoice["invoice_id"].as_str().expect("id")
            ),
            &test.token,
            &json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let events = all_events(&server, &shop, 0, 10).await;
    assert_eq!(names(&events), ["new_payment", "payment_paid"]);
    assert!(
        events.iter().all(|e| e["data"]["test"] == true),
        "{events:?}"
    );
}
