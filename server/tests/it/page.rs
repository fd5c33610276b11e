//! The hosted payment page and the invoice QR images: the page shows one invoice's public facts and its
//! status live; the QR endpoints give the merchant's own invoices only, as images e-wallets scan.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, WsClient, dana, within};

fn path_of<'a>(server: &TestServer, url: &'a str) -> &'a str {
    url.strip_prefix(&server.url(""))
        .expect("a URL on this server")
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    within("a response", server.http.get(server.url(path)).send())
        .await
        .expect("the server answers")
}

#[tokio::test]
async fn the_payment_page_shows_the_exact_total_and_only_public_facts() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko <ABC> & Co", None).await;
    let (_, created) = server
        .post(
            "/api/payments/qris/create",
            &m.token,
            &json!({"amount": 25000, "merchant_order_id": "ORDER-SECRET-9", "customer_name": "Siti Private"}),
        )
        .await;
    let page_url = created["payment_url"].as_str().expect("payment_url");
    let code = created["unique_code"].as_i64().expect("code");
    let response = get(&server, path_of(&server, page_url)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["referrer-policy"],
        "no-referrer",
        "the token in the URL never leaks to the shop"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.expect("html");
    assert!(html.contains("<html lang=\"id\""), "Indonesian by default");
    assert!(html.contains("Toko &lt;ABC&gt; &amp; Co"));
    assert!(
        html.contains(&format!("Rp25.<strong>{code:03}</strong>")),
        "the unique code is emphasised"
    );
    assert!(html.contains(created["invoice_id"].as_str().expect("id")));
    for private in [
        "ORDER-SECRET-9",
        "Siti Private",
        &m.token,
        &m.callback_secret,
    ] {
        assert!(
            !html.contains(private),
            "the page does not reveal {private}"
        );
    }
    let token = page_url.rsplit('/').next().expect("token");
    let status: Value = get(&server, &format!("/pay/{token}/status"))
        .await
        .json()
        .await
        .expect("json");
    let mut keys: Vec<&str> = status
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "expired_at",
            "paid_at",
            "return_url",
            "server_time",
            "status",
            "success"
        ]
    );
    assert_eq!(status["status"], "pending");

    let svg = get(&server, &format!("/pay/{token}/qr.svg")).await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");

    for unknown in [
        "/pay/not-a-token".to_owned(),
        format!("/pay/{}", "A".repeat(43)),
        format!("/pay/{}", &token[..42]),
    ] {
        let response = get(&server, &unknown).await;
        assert_eq!(response.status(), 404, "{unknown}");
        let html = response.text().await.expect("html");
        assert!(html.contains("data-state=\"missing\""), "{unknown}");
    }
    assert_eq!(
        get(&server, &format!("/pay/{}/status", "A".repeat(43)))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn the_page_socket_follows_its_invoice_until_paid_and_gives_the_return_url_then() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let (_, created) = server
        .post(
            "/api/payments/qris/create",
            &m.token,
            &json!({"amount": 25000, "return_url": "https://shop.example.com/thanks?order=1"}),
        )
        .await;
    let other = server.create_payment(&m, 1000).await;
    let token = created["payment_url"]
        .as_str()
        .expect("url")
        .rsplit('/')
        .next()
        .expect("token")
        .to_owned();
    let mut socket = WsClient::connect(&server.ws_url(&format!("/pay/{token}/ws"))).await;
    let first: Value = serde_json::from_str(&socket.next_text().await).expect("json");
    assert_eq!(first["event"], "status");
    assert_eq!(first["data"]["status"], "pending");
    assert_eq!(first["data"]["return_url"], Value::Null, "only once paid");
    socket.send_text("ping").await;
    assert_eq!(socket.next_text().await, "pong");

    // Another invoice being paid says nothing on this page.
    server
        .notify(&m, &dana(other["total_amount"].as_i64().expect("total")))
        .await;
    server
        .notify(&m, &dana(created["total_amount"].as_i64().expect("total")))
        .await;
    let paid: Value = serde_json::from_str(&socket.next_text().await).expect("json");
    assert_eq!(paid["data"]["status"], "paid");
    assert_eq!(
        paid["data"]["return_url"],
        "https://shop.example.com/thanks?order=1"
    );
    assert!(
        !paid.to_string().contains("JOHN DOE"),
        "the payer's name stays private"
    );

    let html = get(&server, &format!("/pay/{token}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("data-state=\"paid\""));
    assert!(html.contains("data-return-url=\"https://shop.example.com/thanks?order=1\""));
}

#[tokio::test]
async fn the_page_says_expired_when_the_deadline_passes() {
    let server = TestServer::start_with(|c| {
        c.invoice.ttl_secs = webqris_server::config::Seconds::from_secs(60)
    })
    .await;
    let m = server.merchant("Toko ABC", None).await;
    let created = server.create_payment(&m, 25000).await;
    let token = created["payment_url"]
        .as_str()
        .expect("url")
        .rsplit('/')
        .next()
        .expect("token")
        .to_owned();
    server.clock.advance(Duration::from_secs(61));
    let status: Value = get(&server, &format!("/pay/{token}/status"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(status["status"], "expired");
    let html = get(&server, &format!("/pay/{token}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("data-state=\"expired\""));
    let mut socket = WsClient::connect(&server.ws_url(&format!("/pay/{token}/ws"))).await;
    let frame: Value = serde_json::from_str(&socket.next_text().await).expect("json");
    assert_eq!(frame["data"]["status"], "expired");
}

#[tokio::test]
async fn invoice_qr_images_scan_back_to_the_payload_and_stay_with_their_merchant() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let other = server.merchant("Toko XYZ", None).await;
    let created = server.create_payment(&m, 25000).await;
    let invoice = created["invoice_id"].as_str().expect("id");
    let png = within(
        "the PNG",
        server
            .http
            .get(server.url(&format!("/api/payments/{invoice}/qr.png")))
            .bearer_auth(&m.token)
            .send(),
    )
    .await
    .expect("answer");
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.expect("bytes");
    assert_eq!(
        webqris_server::qr::scan(&bytes).expect("it scans"),
        created["qris_payload"].as_str().expect("payload")
    );
    let svg = within(
        "the SVG",
        server
            .http
            .get(server.url(&format!("/api/payments/{invoice}/qr.svg")))
            .bearer_auth(&m.token)
            .send(),
    )
    .await
    .expect("answer");
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.expect("text").starts_with("<svg"));

    for (token, expected) in [
        (other.token.as_str(), StatusCode::NOT_FOUND),
        ("wqk_nope", StatusCode::UNAUTHORIZED),
    ] {
        let (status, body) = server
            .send(
                server
                    .http
                    .get(server.url(&format!("/api/payments/{invoice}/qr.png")))
                    .bearer_auth(token),
            )
            .await;
        assert_eq!(status, expected, "{body}");
        assert_eq!(body["success"], false);
    }
    let (status, missing) = server
        .send(
            server
                .http
                .get(server.url("/api/payments/INV-1-nosuch/qr.png"))
                .bearer_auth(&other.token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, theirs) = server
        .send(
            server
                .http
                .get(server.url(&format!("/api/payments/{invoice}/qr.png")))
                .bearer_auth(&other.token),
        )
        .await;
    assert_eq!(
        theirs, missing,
        "another merchant's invoice answers like a missing one"
    );
}
