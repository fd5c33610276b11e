//! Every error in the contract's `{"success":false,"message":…}` shape: bad bodies, content types, sizes,
//! unknown routes and wrong methods. (A panicking handler's 500 is tested beside the layer, in
//! `api::tests`.)

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::{TestServer, within};

fn assert_contract_error(body: &Value) {
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("JSON object, got {body}"));
    assert_eq!(object.len(), 2, "{body}");
    assert_eq!(body["success"], false);
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_bodies_wrong_types_and_content_types_are_400_in_the_contract_shape() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let url = server.url("/api/payments/qris/create");
    let cases: Vec<(&str, Option<&str>, String)> = vec![
        (
            "malformed JSON",
            Some("application/json"),
            "{\"amount\": ".to_owned(),
        ),
        (
            "not JSON at all",
            Some("application/json"),
            "amount=25000".to_owned(),
        ),
        (
            "wrong type",
            Some("application/json"),
            "{\"amount\": \"lots\"}".to_owned(),
        ),
        ("missing field", Some("application/json"), "{}".to_owned()),
        ("no content type", None, "{\"amount\": 25000}".to_owned()),
        (
            "wrong content type",
            Some("text/plain"),
            "{\"amount\": 25000}".to_owned(),
        ),
        (
            "hostile text",
            Some("application/json"),
            "{\"amount\": 1, \"customer_name\": \"\\u0000<script>\"}x".to_owned(),
        ),
    ];
    for (what, content_type, body) in cases {
        let mut request = server.http.post(&url).bearer_auth(&m.token).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let (code, answer) = server.send(request).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_contract_error(&answer);
    }
    let merchant = m.id;
    assert_eq!(
        server
            .db
            .read(move |c| c.pending_count(merchant))
            .await
            .expect("count"),
        0,
        "nothing written"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_400_and_the_limit_is_configurable() {
    let server = TestServer::start().await;
    let m = server.merchant("Toko ABC", None).await;
    let huge = format!(
        "{{\"amount\": 1000, \"customer_name\": \"{}\"}}",
        "x".repeat(70 * 1024)
    );
    let (code, answer) = server
        .send(
            server
                .http
                .post(server.url("/api/webhook/payment"))
                .bearer_auth(&m.callback_secret)
                .header("content-type", "application/json")
                .body(huge.clone()),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{answer}");
    assert_contract_error(&answer);
    assert_eq!(answer["message"], "Request body is too large");

    let roomy = TestServer::start_with(|c| c.max_body_bytes = 256 * 1024).await;
    let m = roomy.merchant("Toko ABC", None).await;
    let (code, answer) = roomy
        .send(
            roomy
                .http
                .post(roomy.url("/api/payments/qris/create"))
                .bearer_auth(&m.token)
                .header("content-type", "application/json")
                .body(huge),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::BAD_REQUEST,
        "still refused, by the name check this time: {answer}"
    );
    assert!(
        answer["message"]
            .as_str()
            .expect("message")
            .contains("customer_name"),
        "{answer}"
    );
}

#[tokio::test]
async fn the_root_sends_a_browser_to_the_dashboard() {
    let server = TestServer::start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let answer = within("GET /", client.get(server.url("/")).send())
        .await
        .expect("an answer");
    assert!(answer.status().is_redirection(), "{}", answer.status());
    assert_eq!(
        answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/dashboard")
    );
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_the_contract_shape() {
    let server = TestServer::start().await;
    for path in [
        "/api",
        "/api/payments",
        "/api/payments/INV-1/nope",
        "/wp-admin.php",
    ] {
        let (code, body) = server.send(server.http.get(server.url(path))).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{path}");
        assert_contract_error(&body);
    }
    for (method, path) in [
        ("GET", "/api/payments/qris/create"),
        ("DELETE", "/api/webhook/payment"),
        ("PUT", "/api/callback/notify"),
        ("POST", "/api/payments/INV-1/status"),
        ("POST", "/healthz"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let (code, body) = server
            .send(server.http.request(method.clone(), server.url(path)))
            .await;
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_contract_error(&body);
    }
}

#[tokio::test]
async fn garbage_credentials_and_hostile_paths_never_crash_the_server() {
    let server = TestServer::start().await;
    for header in [
        "Bearer",
        "Bearer \t",
        "Basic Zm9v",
        "bearer x y z",
        "Bearer '; DROP TABLE payments; --",
    ] {
        let (code, body) = server
            .send(
                server
                    .http
                    .get(server.url("/api/payments/INV-1/status"))
                    .header("authorization", header),
            )
            .await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{header:?}");
        assert_contract_error(&body);
    }
    let m = server.merchant("Toko ABC", None).await;
    for id in [
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "' OR 1=1 --",
        &"9".repeat(5000),
    ] {
        let (code, body) = server.status(&m, id).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{id}");
        assert_contract_error(&body);
    }
    let (code, _) = server.send(server.http.get(server.url("/healthz"))).await;
    assert_eq!(code, StatusCode::OK, "still serving");
}
