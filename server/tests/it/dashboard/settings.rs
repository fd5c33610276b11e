//! A merchant's settings through the dashboard: create, rename, delete; QRIS pasted or uploaded as an
//! image; API tokens; webhook URL, secret, test and the endpoint's health; callback secret and the
//! forwarder setup QR; devices.

use std::time::Duration;

use axum::http::StatusCode;
use reqwest::Method;
use serde_json::json;
use webqris_server::config::Seconds;
use webqris_server::db::MerchantId;

use super::Dashboard;
use crate::support::{
    Receiver, TestMerchant, TestServer, corpus_qris, dana, refusing_url, static_qris,
};

#[tokio::test]
async fn a_new_merchant_comes_with_its_secrets_once_and_a_setup_link_the_app_parses() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let created = tab.create_merchant("  Toko A&B  ").await;
    let merchant = &created["merchant"];
    assert_eq!(merchant["name"], "Toko A&B");
    assert_eq!(merchant["owner_email"], "owner@example.com");
    let secret = created["callback_secret"].as_str().expect("secret");
    assert!(
        secret.starts_with("wqcb_") && secret.len() >= 5 + 32,
        "{secret}"
    );
    assert!(
        merchant["webhook_secret"]
            .as_str()
            .expect("whsec")
            .starts_with("whsec_")
    );
    let link = created["setup_link"].as_str().expect("link");
    let parsed = reqwest::Url::parse(link).expect("a URL");
    assert_eq!(
        (parsed.scheme(), parsed.host_str()),
        ("webqris", Some("setup"))
    );
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("server".to_owned(), server.url("")),
            ("secret".to_owned(), secret.to_owned()),
            ("merchant".to_owned(), "Toko A&B".to_owned()),
        ]
    );
    let qr = created["setup_qr"].as_str().expect("qr");
    let png = base64_decode(
        qr.strip_prefix("data:image/png;base64,")
            .expect("a PNG data URL"),
    );
    assert_eq!(webqris_server::qr::scan(&png).expect("the QR scans"), link);
    // The callback secret is never shown again.
    let id = merchant["id"].as_i64().expect("id");
    let (_, detail) = tab.get(&format!("/dashboard/api/merchants/{id}")).await;
    assert!(!detail.to_string().contains(secret));
    assert!(
        secret.starts_with(
            detail["merchant"]["callback_secret_prefix"]
                .as_str()
                .expect("prefix")
        )
    );

    for bad in [
        json!({"name": "   "}),
        json!({"name": "x".repeat(101)}),
        json!({"name": 5}),
    ] {
        let (status, body) = tab.post("/dashboard/api/merchants", &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, body) = tab
        .send(
            Method::PATCH,
            &format!("/dashboard/api/merchants/{id}"),
            Some(&json!({"name": "Toko Baru"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, detail) = tab.get(&format!("/dashboard/api/merchants/{id}")).await;
    assert_eq!(detail["merchant"]["name"], "Toko Baru");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

#[tokio::test]
async fn a_static_qris_is_read_from_text_or_an_image_shown_and_only_then_saved() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let id = tab.create_merchant("Toko ABC").await["merchant"]["id"]
        .as_i64()
        .expect("id");

    let (status, read) = tab
        .post(
            "/dashboard/api/qris/decode",
            &json!({"payload": format!("  {}\n", static_qris())}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["usable"], true);
    assert_eq!(read["summary"]["merchant_name"], "Warung Sayur Bu Sugeng");
    assert_eq!(read["summary"]["merchant_city"], "Kab. Demak");
    assert_eq!(read["summary"]["nmid"], "ID1020017611473");
    assert_eq!(read["summary"]["acquirers"], json!(["ID.DANA.WWW"]));

    // An already dynamic payload is read (so the person sees which code it is) but refused, precisely.
    let dynamic = corpus_qris("spring-qris-DOKU-dyn");
    let (_, read) = tab
        .post("/dashboard/api/qris/decode", &json!({"payload": dynamic}))
        .await;
    assert_eq!(read["usable"], false);
    assert_eq!(read["summary"]["point_of_initiation"], "dynamic");
    assert_eq!(
        read["error"],
        "this QRIS is already dynamic (tag 01 is \"12\"); use the merchant's static QRIS"
    );
    let broken = static_qris().replace("Warung", "Warunk");
    let (_, read) = tab
        .post("/dashboard/api/qris/decode", &json!({"payload": broken}))
        .await;
    assert_eq!(read["usable"], false);
    assert!(
        read["error"]
            .as_str()
            .expect("error")
            .starts_with("CRC mismatch: tag 63 holds 58C7"),
        "{read}"
    );
    let (status, body) = tab
        .send(
            Method::PUT,
            &format!("/dashboard/api/merchants/{id}/qris"),
            Some(&json!({"payload": broken})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("CRC mismatch"),
        "{body}"
    );

    // A screenshot of the sticker: the server reads the QR itself.
    let png = webqris_server::qr::png(&static_qris()).expect("png");
    let raw = tab
        .http_upload("/dashboard/api/qris/scan", png.clone(), "image/png")
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.text);
    assert_eq!(raw.json()["payload"], static_qris());
    assert_eq!(raw.json()["usable"], true);
    let raw = tab
        .http_upload(
            "/dashboard/api/qris/scan",
            b"GIF89a not really".to_vec(),
            "image/gif",
        )
        .await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        raw.json()["message"],
        "Cannot read a QR code: the file is not a PNG or JPEG image"
    );
    let too_big = vec![0u8; server.config.dashboard.max_upload_bytes + 1];
    let raw = tab
        .http_upload("/dashboard/api/qris/scan", too_big, "image/png")
        .await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    assert!(
        raw.json()["message"]
            .as_str()
            .expect("message")
            .contains("too large"),
        "{}",
        raw.text
    );

    // Nothing was saved by reading; saving is its own step.
    let (_, detail) = tab.get(&format!("/dashboard/api/merchants/{id}")).await;
    assert_eq!(detail["merchant"]["qris"], json!(null));
    let (status, saved) = tab
        .send(
            Method::PUT,
            &format!("/dashboard/api/merchants/{id}/qris"),
            Some(&json!({"payload": static_qris()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, detail) = tab.get(&format!("/dashboard/api/merchants/{id}")).await;
    assert_eq!(detail["merchant"]["qris"]["payload"], static_qris());
    assert_eq!(
        detail["merchant"]["qris"]["summary"]["nmid"],
        "ID1020017611473"
    );
}

#[tokio::test]
async fn api_tokens_are_shown_once_listed_with_their_last_use_and_revoked() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let (id, token, secret) = tab.ready_merchant("Toko ABC", None).await;
    let path = format!("/dashboard/api/merchants/{id}/tokens");
    let (_, listed) = tab.get(&path).await;
    let row = &listed["tokens"][0];
    assert!(token.starts_with(row["prefix"].as_str().expect("prefix")));
    assert!(!listed.to_string().contains(&token), "never shown again");
    assert_eq!(row["last_used_at"], json!(null));

    let m = TestMerchant {
        id: MerchantId(id),
        name: "Toko ABC".into(),
        token: token.clone(),
        callback_secret: secret,
        webhook_secret: String::new(),
    };
    let created = server.create_payment(&m, 1000).await;
    // The last use is written off the request path; wait for it without sleeping blindly.
    let used = crate::support::within("the token's last use to be recorded", async {
        loop {
            let (_, listed) = tab.get(&path).await;
            if !listed["tokens"][0]["last_used_at"].is_null() {
                return listed["tokens"][0]["last_used_at"].clone();
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(used.as_str().expect("instant").ends_with('Z'));

    let token_id = row["id"].as_i64().expect("id");
    let (status, _) = tab
        .send(Method::DELETE, &format!("{path}/{token_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (code, body) = server
        .status(&m, created["invoice_id"].as_str().expect("id"))
        .await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "a revoked token is refused at once: {body}"
    );
    let (status, _) = tab
        .send(Method::DELETE, &format!("{path}/{token_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already revoked");
    let (_, listed) = tab.get(&path).await;
    assert!(!listed["tokens"][0]["revoked_at"].is_null());
}

#[tokio::test]
async fn the_webhook_url_is_policed_and_a_signed_test_webhook_reports_the_answer() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let mut receiver = Receiver::scripted(&[418]).await;
    let (id, ..) = tab.ready_merchant("Toko ABC", Some(&receiver.url)).await;
    let base = format!("/dashboard/api/merchants/{id}");

    let (status, result) = tab.post(&format!("{base}/webhook/test"), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    let request = receiver.next().await;
    let (_, detail) = tab.get(&base).await;
    let secret = detail["merchant"]["webhook_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    request.assert_signed_with(&secret);
    assert_eq!(request.json()["event"], "webhook.test");
    assert_eq!(request.header("webhook-id"), result["webhook_id"]);
    assert_eq!(result["status_code"], 418);
    assert_eq!(result["ok"], false);
    assert!(result["duration_ms"].is_u64());

    // Switched at once (the overlap of a rotation is tested in `outage`).
    let (status, rotated) = tab
        .post(
            &format!("{base}/webhook/secret"),
            &json!({"overlap_secs": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_secret = rotated["webhook_secret"].as_str().expect("secret");
    assert_ne!(new_secret, secret);
    let (_, result) = tab.post(&format!("{base}/webhook/test"), &json!({})).await;
    assert_eq!(result["ok"], true);
    assert_eq!(result["status_code"], 200);
    receiver.next().await.assert_signed_with(new_secret);

    // Internal targets are refused unless the operator allows them (here they are not).
    let strict = TestServer::start_with(|c| c.webhook.allow_private_targets = false).await;
    let tab = Dashboard::register(&strict, "owner@example.com").await;
    let id = tab.create_merchant("Toko ABC").await["merchant"]["id"]
        .as_i64()
        .expect("id");
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest",
        "ftp://example.com/x",
    ] {
        let (status, body) = tab
            .send(
                Method::PUT,
                &format!("/dashboard/api/merchants/{id}/webhook"),
                Some(&json!({"url": url})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
    }
    let (status, body) = tab
        .post(
            &format!("/dashboard/api/merchants/{id}/webhook/test"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no URL yet: {body}");
}

#[tokio::test]
async fn rotating_the_callback_secret_retires_the_old_one_at_once() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let (id, token, old) = tab.ready_merchant("Toko ABC", None).await;
    let (status, rotated) = tab
        .post(
            &format!("/dashboard/api/merchants/{id}/callback-secret"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["callback_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert!(
        rotated["setup_link"]
            .as_str()
            .expect("link")
            .contains(&format!("secret={new}"))
    );
    let mut m = TestMerchant {
        id: MerchantId(id),
        name: "Toko ABC".into(),
        token,
        callback_secret: old,
        webhook_secret: String::new(),
    };
    let test = json!({"message": "x", "event_hash": "test"});
    assert_eq!(server.notify(&m, &test).await.0, StatusCode::UNAUTHORIZED);
    m.callback_secret = new;
    assert_eq!(server.notify(&m, &test).await.0, StatusCode::OK);
}

#[tokio::test]
async fn devices_show_their_last_heartbeat_and_go_silent_after_the_threshold() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let (id, token, secret) = tab.ready_merchant("Toko ABC", None).await;
    let m = TestMerchant {
        id: MerchantId(id),
        name: "Toko ABC".into(),
        token,
        callback_secret: secret,
        webhook_secret: String::new(),
    };
    let (status, _) = server
        .post(
            "/api/forwarder/heartbeat",
            &m.callback_secret,
            &json!({"device_id": "pixel-7", "app_version": "0.1.0", "listener_connected": true, "outbox_pending": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, devices) = tab
        .get(&format!("/dashboard/api/merchants/{id}/devices"))
        .await;
    assert_eq!(devices["devices"][0]["device_id"], "pixel-7");
    assert_eq!(devices["devices"][0]["silent"], false);
    assert_eq!(devices["silence_alert_secs"], 900);
    server.clock.advance(Duration::from_secs(901));
    let (_, all) = tab.get("/dashboard/api/devices").await;
    assert_eq!(all["devices"][0]["silent"], true, "{all}");
    assert_eq!(all["devices"][0]["merchant_name"], "Toko ABC");
    let (_, list) = tab.get("/dashboard/api/merchants").await;
    assert_eq!(list["merchants"][0]["device_silent"], true);
    // A notification from the device counts as hearing from it.
    server.notify(&m, &dana(5)).await;
    let (_, devices) = tab
        .get(&format!("/dashboard/api/merchants/{id}/devices"))
        .await;
    let device = devices["devices"]
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["device_id"] == "device-01")
        .cloned()
        .expect("the notification's device");
    assert_eq!(device["silent"], false);
}

#[tokio::test]
async fn a_merchant_is_deleted_only_when_nothing_is_pending() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let (id, token, secret) = tab.ready_merchant("Toko ABC", None).await;
    let m = TestMerchant {
        id: MerchantId(id),
        name: "Toko ABC".into(),
        token,
        callback_secret: secret,
        webhook_secret: String::new(),
    };
    server.create_payment(&m, 25000).await;
    let path = format!("/dashboard/api/merchants/{id}");
    let (status, body) = tab.send(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("1 pending payment"),
        "{body}"
    );
    server.clock.advance(Duration::from_secs(1801));
    let (status, body) = tab.send(Method::DELETE, &path, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an expired invoice does not hold the merchant: {body}"
    );
    assert_eq!(tab.get(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        server.notify(&m, &dana(1)).await.0,
        StatusCode::UNAUTHORIZED,
        "its secrets died with it"
    );
}

#[tokio::test]
async fn the_merchant_page_shows_its_endpoints_circuit_and_the_webhooks_waiting() {
    let server = TestServer::start_with(|c| {
        c.webhook.endpoint_concurrency = 1;
        c.webhook.breaker_threshold = 1;
        c.webhook.breaker_probe_secs = Seconds::from_secs(3600);
    })
    .await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let url = refusing_url().await;
    let (id, token, callback) = tab.ready_merchant("Toko Tutup", Some(&url)).await;
    let base = format!("/dashboard/api/merchants/{id}");
    let (_, detail) = tab.get(&base).await;
    assert_eq!(
        detail["merchant"]["webhook_health"],
        json!({"circuit": "closed", "consecutive_failures": 0, "since": null, "next_probe_at": null,
               "last_error": null, "pending": 0, "in_flight": 0, "last_success_at": null,
               "failing_since": null, "failed_attempts": 0, "next_attempt_at": null, "alert": false})
    );
    let mut operator = server.operator_socket().await;
    for amount in [25000, 26000] {
        let (status, created) = server
            .post(
                "/api/payments/qris/create",
                &token,
                &json!({"amount": amount}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let total = created["total_amount"].as_i64().expect("total");
        let (status, body) = server
            .post("/api/webhook/payment", &callback, &dana(total))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // One refusal opens the circuit here; the probe is an hour away, so both webhooks wait.
    operator.next_event("webhook_failed").await;
    let (_, detail) = tab.get(&base).await;
    let health = &detail["merchant"]["webhook_health"];
    assert_eq!(health["circuit"], "open", "{health}");
    assert_eq!(health["consecutive_failures"], 1);
    assert_eq!(health["pending"], 2, "nothing dropped");
    assert_eq!(health["in_flight"], 0);
    assert!(
        health["since"].is_string() && health["next_probe_at"].is_string(),
        "{health}"
    );
    assert!(
        health["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{health}"
    );
}

/// Issue 10: the heartbeat's delivery health is shown in the device view, and the alert reaches the live
/// feed when the phone is alive but cannot deliver, has no notification access, recovers, or goes
/// silent (found by the sweep).
#[tokio::test]
async fn the_heartbeats_delivery_health_is_shown_and_each_alert_change_reaches_the_live_feed() {
    let server = TestServer::start_with(|c| {
        c.forwarder.alert_sweep_secs = Seconds::from_duration(Duration::from_millis(20));
    })
    .await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let (id, token, secret) = tab.ready_merchant("Toko ABC", None).await;
    let m = TestMerchant {
        id: MerchantId(id),
        name: "Toko ABC".into(),
        token,
        callback_secret: secret,
        webhook_secret: String::new(),
    };
    let mut feed = server.operator_socket().await;
    let beat = |body: serde_json::Value| {
        let (server, secret) = (&server, m.callback_secret.clone());
        async move {
            let (status, answer) = server
                .post("/api/forwarder/heartbeat", &secret, &body)
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
    };
    let before = server.clock.now();
    beat(
        json!({"device_id": "pixel-7", "listener_connected": true, "notification_access": true,
                "outbox_pending": 3, "oldest_pending_age_secs": 420, "parked_count": 1,
                "last_delivery_error": "server answered HTTP 500: Internal error"}),
    )
    .await;
    let after = server.clock.now();
    let stuck = feed.next_event("device_alert").await;
    assert_eq!(stuck["data"]["alert"], "cannot_deliver", "{stuck}");
    assert_eq!(stuck["data"]["device_id"], "pixel-7");
    assert_eq!(stuck["data"]["merchant_name"], "Toko ABC");
    assert_eq!(stuck["data"]["parked_count"], 1);

    let (_, devices) = tab
        .get(&format!("/dashboard/api/merchants/{id}/devices"))
        .await;
    let device = &devices["devices"][0];
    assert_eq!(device["alert"], "cannot_deliver", "{device}");
    assert_eq!(device["silent"], false);
    assert_eq!(device["outbox_pending"], 3);
    assert_eq!(device["parked_count"], 1);
    assert_eq!(device["notification_access"], true);
    assert_eq!(
        device["last_delivery_error"],
        "server answered HTTP 500: Internal error"
    );
    let since =
        webqris_core::Timestamp::parse(device["oldest_pending_since"].as_str().expect("since"))
            .expect("an instant");
    assert!(
        since.as_millis() >= before.plus_secs(-420).as_millis()
            && since.as_millis() <= after.plus_secs(-420).as_millis(),
        "the phone's age becomes a time on the server's clock: {since:?}"
    );
    let (_, all) = tab.get("/dashboard/api/devices").await;
    assert_eq!(all["devices"][0]["alert"], "cannot_deliver");

    // Delivered: recovered, announced once.
    beat(json!({"device_id": "pixel-7", "notification_access": true, "outbox_pending": 0, "parked_count": 0})).await;
    let ok = feed.next_event("device_alert").await;
    assert_eq!(ok["data"]["alert"], serde_json::Value::Null, "{ok}");
    beat(json!({"device_id": "pixel-7", "notification_access": true, "outbox_pending": 0})).await;

    // Access revoked.
    beat(json!({"device_id": "pixel-7", "notification_access": false, "outbox_pending": 0})).await;
    let no_access = feed.next_event("device_alert").await;
    assert_eq!(no_access["data"]["alert"], "no_notification_access");

    // Then silence: the sweep notices.
    server.clock.advance(Duration::from_secs(901));
    let silent = feed.next_event("device_alert").await;
    assert_eq!(silent["data"]["alert"], "silent", "{silent}");
    let (_, all) = tab.get("/dashboard/api/devices").await;
    assert_eq!(
        (&all["devices"][0]["alert"], &all["devices"][0]["silent"]),
        (&json!("silent"), &json!(true))
    );
    let others: Vec<_> = feed
        .drain()
        .await
        .into_iter()
        .filter(|f| f["event"] == "device_alert")
        .collect();
    assert!(others.is_empty(), "each change announced once: {others:?}");
}

#[tokio::test]
async fn a_heartbeat_with_a_negative_count_is_refused_and_a_huge_error_is_cut() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (status, body) = server
        .post(
            "/api/forwarder/heartbeat",
            &m.callback_secret,
            &json!({"device_id": "pixel-7", "parked_count": -1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["success"], false);
    assert_eq!(body["message"], "parked_count must not be negative");
    let (status, _) = server
        .post(
            "/api/forwarder/heartbeat",
            &m.callback_secret,
            &json!({"device_id": "pixel-7", "outbox_pending": 1, "last_delivery_error": "x".repeat(10_000)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let merchant = m.id;
    let devices = server
        .db
        .read(move |c| c.devices(merchant))
        .await
        .expect("devices");
    assert_eq!(
        devices[0].last_delivery_error.as_deref().map(str::len),
        Some(500)
    );
}
