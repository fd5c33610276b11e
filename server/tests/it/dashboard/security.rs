//! What the dashboard refuses: no session, another account's session, a missing CSRF token, an expired
//! session, too many failed logins, registration when it is off; and hostile text stays text.

use std::process::{Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use webqris_server::config::Seconds;
use webqris_server::db::MerchantId;

use super::{Dashboard, PASSWORD, set_cookie_line};
use crate::support::{TestMerchant, TestServer, dana, within};

fn test_merchant(id: i64, token: &str, callback_secret: &str) -> TestMerchant {
    TestMerchant {
        id: MerchantId(id),
        name: String::new(),
        token: token.to_owned(),
        callback_secret: callback_secret.to_owned(),
        webhook_secret: String::new(),
    }
}

fn assert_contract_error(body: &Value) {
    assert_eq!(body["success"], false, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn pages_and_actions_refuse_without_a_session() {
    let server = TestServer::start().await;
    let owner = Dashboard::register(&server, "owner@example.com").await;
    let (id, ..) = owner.ready_merchant("Toko ABC", None).await;
    let stranger = Dashboard::open(&server).await;

    for page in [
        "/dashboard",
        "/dashboard/payments",
        "/dashboard/merchants/1",
    ] {
        let raw = stranger.raw(Method::GET, page, None, None).await;
        assert_eq!(raw.status, StatusCode::SEE_OTHER, "{page}");
        let location = raw.header("location").expect("a redirect");
        assert!(
            location.starts_with("/dashboard/login?next="),
            "{page} → {location}"
        );
    }
    let login = stranger
        .raw(Method::GET, "/dashboard/login", None, None)
        .await;
    assert_eq!(
        login.status,
        StatusCode::OK,
        "the login page itself is public"
    );

    let reads = [
        "/dashboard/api/merchants".to_owned(),
        format!("/dashboard/api/merchants/{id}"),
        format!("/dashboard/api/merchants/{id}/tokens"),
        "/dashboard/api/payments".to_owned(),
        "/dashboard/api/notifications".to_owned(),
        "/dashboard/api/devices".to_owned(),
    ];
    for path in &reads {
        let (status, body) = stranger.get(path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_contract_error(&body);
    }
    // Even with a CSRF token (the pre-login one), actions need a session.
    let actions = [
        (
            Method::POST,
            "/dashboard/api/merchants".to_owned(),
            json!({"name": "X"}),
        ),
        (
            Method::PATCH,
            format!("/dashboard/api/merchants/{id}"),
            json!({"name": "X"}),
        ),
        (
            Method::DELETE,
            format!("/dashboard/api/merchants/{id}"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/dashboard/api/merchants/{id}/tokens"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/dashboard/api/merchants/{id}/callback-secret"),
            json!({}),
        ),
        (
            Method::POST,
            "/dashboard/api/payments/INV-1-abcdef/confirm".to_owned(),
            json!({"reason": "x"}),
        ),
        (
            Method::POST,
            "/dashboard/api/logout-all".to_owned(),
            json!({}),
        ),
    ];
    for (method, path, body) in &actions {
        let (status, answer) = stranger.send(method.clone(), path, Some(body)).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: {answer}"
        );
        assert_contract_error(&answer);
    }
    match within(
        "a refused handshake",
        tokio_tungstenite::connect_async(server.ws_url("/ws")),
    )
    .await
    {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 401),
        other => panic!("/ws without a session must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn another_accounts_merchant_payment_and_notification_answer_like_missing_ones() {
    let server = TestServer::start().await;
    let operator = Dashboard::register(&server, "operator@example.com").await;
    let alice = Dashboard::register(&server, "alice@example.com").await;
    let bob = Dashboard::register(&server, "bob@example.com").await;
    let (id, token, secret) = alice.ready_merchant("Toko Alice", None).await;
    let m = test_merchant(id, &token, &secret);
    let invoice = server.create_payment(&m, 25000).await["invoice_id"]
        .as_str()
        .expect("invoice")
        .to_owned();
    let (status, _) = server.notify(&m, &dana(99_999)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an unmatched notification is stored"
    );
    let (_, inbox) = alice.get("/dashboard/api/notifications").await;
    let notification = inbox["notifications"][0]["id"]
        .as_i64()
        .expect("notification");

    // Bob sees nothing of Alice's, and every answer is the one for something that does not exist.
    let same_as_missing = |path: String, missing: String| (path, missing);
    let pairs = [
        same_as_missing(
            format!("/dashboard/api/merchants/{id}"),
            "/dashboard/api/merchants/987654".into(),
        ),
        same_as_missing(
            format!("/dashboard/api/merchants/{id}/tokens"),
            "/dashboard/api/merchants/987654/tokens".into(),
        ),
        same_as_missing(
            format!("/dashboard/api/merchants/{id}/devices"),
            "/dashboard/api/merchants/987654/devices".into(),
        ),
        same_as_missing(
            format!("/dashboard/api/payments/{invoice}"),
            "/dashboard/api/payments/INV-1-nosuch".into(),
        ),
        same_as_missing(
            format!("/dashboard/api/payments/{invoice}/qr.svg"),
            "/dashboard/api/payments/INV-1-nosuch/qr.svg".into(),
        ),
    ];
    for (theirs, missing) in pairs {
        let (status, body) = bob.get(&theirs).await;
        let (missing_status, missing_body) = bob.get(&missing).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{theirs}: {body}");
        assert_eq!(
            (status, &body),
            (missing_status, &missing_body),
            "{theirs} answers like {missing}"
        );
    }
    let actions = [
        (
            Method::PATCH,
            format!("/dashboard/api/merchants/{id}"),
            json!({"name": "Mine now"}),
            "/dashboard/api/merchants/987654".to_owned(),
        ),
        (
            Method::DELETE,
            format!("/dashboard/api/merchants/{id}"),
            json!({}),
            "/dashboard/api/merchants/987654".to_owned(),
        ),
        (
            Method::PUT,
            format!("/dashboard/api/merchants/{id}/webhook"),
            json!({"url": "https://evil.example/hook"}),
            "/dashboard/api/merchants/987654/webhook".to_owned(),
        ),
        (
            Method::POST,
            format!("/dashboard/api/merchants/{id}/tokens"),
            json!({}),
            "/dashboard/api/merchants/987654/tokens".to_owned(),
        ),
        (
            Method::POST,
            format!("/dashboard/api/merchants/{id}/callback-secret"),
            json!({}),
            "/dashboard/api/merchants/987654/callback-secret".to_owned(),
        ),
        (
            Method::POST,
            format!("/dashboard/api/merchants/{id}/webhook/secret"),
            json!({}),
            "/dashboard/api/merchants/987654/webhook/secret".to_owned(),
        ),
        (
            Method::POST,
            format!("/dashboard/api/merchants/{id}/webhook/replay"),
            json!({"since": "2026-01-01T00:00:00Z"}),
            "/dashboard/api/merchants/987654/webhook/replay".to_owned(),
        ),
        (
            Method::POST,
            format!("/dashboard/api/payments/{invoice}/confirm"),
            json!({"reason": "mine"}),
            "/dashboard/api/payments/INV-1-nosuch/confirm".to_owned(),
        ),
        (
            Method::POST,
            format!("/dashboard/api/notifications/{notification}/assign"),
            json!({"invoice_id": invoice}),
            "/dashboard/api/notifications/987654/assign".to_owned(),
        ),
    ];
    for (method, theirs, body, missing) in &actions {
        let answer = bob.send(method.clone(), theirs, Some(body)).await;
        let missing_answer = bob.send(method.clone(), missing, Some(body)).await;
        assert_eq!(
            answer.0,
            StatusCode::NOT_FOUND,
            "{method} {theirs}: {}",
            answer.1
        );
        assert_eq!(
            answer, missing_answer,
            "{method} {theirs} answers like {missing}"
        );
    }
    for list in [
        "/dashboard/api/merchants",
        "/dashboard/api/payments",
        "/dashboard/api/notifications",
    ] {
        let (_, body) = bob.get(list).await;
        assert!(
            !body.to_string().contains("Toko Alice"),
            "{list} shows Bob nothing of Alice's: {body}"
        );
    }
    // Nothing Bob tried changed anything.
    let (status, mine) = alice.get(&format!("/dashboard/api/merchants/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["merchant"]["name"], "Toko Alice");
    assert_eq!(server.status_of(&m, &invoice).await, "pending");

    // The operator (the first account) sees every merchant, including those made by the CLI.
    let cli = server.merchant("Toko CLI", None).await;
    let (_, all) = operator.get("/dashboard/api/merchants").await;
    let names: Vec<&str> = all["merchants"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, ["Toko Alice", "Toko CLI"]);
    let (status, _) = alice
        .get(&format!("/dashboard/api/merchants/{}", cli.id.0))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a CLI merchant has no owner: operator only"
    );
    let (status, _) = operator
        .get(&format!("/dashboard/api/payments/{invoice}"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn state_changing_requests_without_the_csrf_token_are_refused() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let create = json!({"name": "Toko ABC"});
    for token in [None, Some(""), Some("not-the-token"), Some("wqs_guess")] {
        let raw = tab
            .raw(
                Method::POST,
                "/dashboard/api/merchants",
                Some(&create),
                token,
            )
            .await;
        assert_eq!(
            raw.status,
            StatusCode::FORBIDDEN,
            "token {token:?}: {}",
            raw.text
        );
        assert_contract_error(&raw.json());
    }
    let (_, list) = tab.get("/dashboard/api/merchants").await;
    assert_eq!(list["merchants"], json!([]), "nothing was created");
    let id = tab.create_merchant("Toko ABC").await["merchant"]["id"]
        .as_i64()
        .expect("id");
    for (method, path) in [
        (Method::PATCH, format!("/dashboard/api/merchants/{id}")),
        (Method::DELETE, format!("/dashboard/api/merchants/{id}")),
        (
            Method::POST,
            format!("/dashboard/api/merchants/{id}/tokens"),
        ),
        (Method::POST, "/dashboard/api/logout".to_owned()),
        (Method::POST, "/dashboard/api/logout-all".to_owned()),
    ] {
        let raw = tab
            .raw(
                method.clone(),
                &path,
                Some(&json!({"name": "Renamed"})),
                None,
            )
            .await;
        assert_eq!(
            raw.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            raw.text
        );
    }
    let (_, detail) = tab.get(&format!("/dashboard/api/merchants/{id}")).await;
    assert_eq!(
        detail["merchant"]["name"], "Toko ABC",
        "not renamed, not deleted"
    );
    let (status, _) = tab.get("/dashboard/api/merchants").await;
    assert_eq!(status, StatusCode::OK, "still logged in");

    // Login and registration carry the pre-login token: a form on another site cannot log anyone in.
    let mut fresh = Dashboard::open(&server).await;
    fresh.csrf = "forged".to_owned();
    let raw = fresh
        .submit("/dashboard/api/login", "owner@example.com", PASSWORD)
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN, "{}", raw.text);
    let raw = fresh
        .submit("/dashboard/api/register", "other@example.com", PASSWORD)
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN, "{}", raw.text);
    assert!(fresh.session.is_none());
}

#[tokio::test]
async fn session_cookies_are_http_only_same_site_and_stored_hashed() {
    let server = TestServer::start().await;
    let mut tab = Dashboard::open(&server).await;
    let raw = tab
        .submit("/dashboard/api/register", "Owner@Example.com", PASSWORD)
        .await;
    assert_eq!(raw.status, StatusCode::CREATED);
    let line = set_cookie_line(&raw.headers, "webqris_session").expect("session cookie");
    assert!(line.contains("HttpOnly"), "{line}");
    assert!(line.contains("SameSite=Lax"), "{line}");
    assert!(line.contains("Path=/"), "{line}");
    assert!(!line.contains("Secure"), "plain http public URL: {line}");
    assert_eq!(raw.json()["account"]["email"], "owner@example.com");
    assert_eq!(
        raw.json()["account"]["is_operator"],
        false,
        "registering, even first, never makes the operator"
    );
    let cookie = tab.session.clone().expect("session");
    let hash = webqris_server::secret::hash(&cookie);
    let now = server.clock.now();
    let by_hash = server
        .db
        .read(move |c| c.live_session(&hash, now))
        .await
        .expect("read");
    assert!(
        by_hash.is_some(),
        "the session is found by the cookie's SHA-256"
    );
    let by_plaintext = server
        .db
        .read(move |c| c.live_session(&cookie, now))
        .await
        .expect("read");
    assert!(by_plaintext.is_none(), "the cookie itself is not stored");

    let https =
        TestServer::start_with(|c| c.public_url = Some("https://pay.example.com".into())).await;
    let mut tab = Dashboard::open(&https).await;
    let raw = tab
        .submit("/dashboard/api/register", "owner@example.com", PASSWORD)
        .await;
    let line = set_cookie_line(&raw.headers, "webqris_session").expect("session cookie");
    assert!(line.contains("; Secure"), "https public URL: {line}");
}

#[tokio::test]
async fn sessions_expire_on_the_server_clock() {
    let server = TestServer::start_with(|c| {
        c.dashboard.session_ttl_secs = Seconds::from_secs(600);
    })
    .await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let (status, _) = tab.get("/dashboard/api/merchants").await;
    assert_eq!(status, StatusCode::OK);
    server.clock.advance(Duration::from_secs(599));
    let (status, _) = tab.get("/dashboard/api/merchants").await;
    assert_eq!(status, StatusCode::OK, "still valid a second before expiry");
    server.clock.advance(Duration::from_secs(2));
    let (status, body) = tab.get("/dashboard/api/merchants").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = tab
        .post("/dashboard/api/merchants", &json!({"name": "X"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let page = tab.raw(Method::GET, "/dashboard", None, None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let (_, session) = tab.get("/dashboard/api/session").await;
    assert_eq!(session["authenticated"], false);
    let again = Dashboard::login(&server, "owner@example.com").await;
    let (status, _) = again.get("/dashboard/api/merchants").await;
    assert_eq!(status, StatusCode::OK, "logging in again works");
}

#[tokio::test]
async fn logging_out_ends_the_session_and_logging_out_everywhere_ends_them_all() {
    let server = TestServer::start().await;
    let phone = Dashboard::register(&server, "owner@example.com").await;
    let laptop = Dashboard::login(&server, "owner@example.com").await;
    let tablet = Dashboard::login(&server, "owner@example.com").await;
    let (status, _) = tablet.post("/dashboard/api/logout", &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        tablet.get("/dashboard/api/merchants").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        phone.get("/dashboard/api/merchants").await.0,
        StatusCode::OK,
        "other sessions live on"
    );
    let (status, body) = laptop.post("/dashboard/api/logout-all", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 2);
    for tab in [&phone, &laptop] {
        assert_eq!(
            tab.get("/dashboard/api/merchants").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn the_login_rate_limit_answers_429_in_the_contract_shape() {
    let server = TestServer::start_with(|c| {
        c.dashboard.login_max_failures = 3;
        c.dashboard.login_window_secs = Seconds::from_secs(300);
    })
    .await;
    Dashboard::register(&server, "owner@example.com").await;
    let mut tab = Dashboard::open(&server).await;
    for attempt in 1..=3 {
        let raw = tab
            .submit(
                "/dashboard/api/login",
                "owner@example.com",
                "wrong password",
            )
            .await;
        assert_eq!(
            raw.status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {}",
            raw.text
        );
        assert_eq!(raw.json()["message"], "Wrong email or password");
    }
    // Locked now, even for the right password.
    let raw = tab
        .submit("/dashboard/api/login", "OWNER@example.com ", PASSWORD)
        .await;
    assert_eq!(raw.status, StatusCode::TOO_MANY_REQUESTS, "{}", raw.text);
    assert_contract_error(&raw.json());
    assert_eq!(
        raw.json().as_object().map(|o| o.len()),
        Some(2),
        "exactly success and message"
    );
    let retry: u64 = raw
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=300).contains(&retry), "{retry}");
    assert!(tab.session.is_none());
    server.clock.advance(Duration::from_secs(301));
    let raw = tab
        .submit("/dashboard/api/login", "owner@example.com", PASSWORD)
        .await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "the window has passed: {}",
        raw.text
    );
}

#[tokio::test]
async fn registration_off_is_honoured_and_the_cli_makes_the_operator() {
    let server = TestServer::start_with(|c| c.dashboard.registration = false).await;
    let mut tab = Dashboard::open(&server).await;
    let (_, session) = tab.get("/dashboard/api/session").await;
    assert_eq!(session["registration_open"], false);
    let raw = tab
        .submit("/dashboard/api/register", "owner@example.com", PASSWORD)
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN, "{}", raw.text);
    assert_contract_error(&raw.json());
    assert!(tab.session.is_none());

    let mut child = Command::new(env!("CARGO_BIN_EXE_webqris"))
        .args([
            "account",
            "create",
            "--email",
            "Owner@Example.com",
            "--operator",
            "--json",
            "--db",
        ])
        .arg(&server.config.db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{PASSWORD}").expect("password piped");
    }
    let output = child.wait_with_output().expect("it finishes");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let created: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(created["email"], "owner@example.com");
    assert_eq!(created["is_operator"], true, "--operator makes an operator");
    let raw = tab
        .submit("/dashboard/api/login", "owner@example.com", PASSWORD)
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.text);

    let empty = Command::new(env!("CARGO_BIN_EXE_webqris"))
        .args([
            "account",
            "create",
            "--email",
            "x@example.com",
            "--json",
            "--db",
        ])
        .arg(&server.config.db)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(!empty.status.success(), "no password on stdin is refused");
    let refused: Value = serde_json::from_slice(&empty.stdout).expect("one JSON object");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("stdin")),
        "{refused}"
    );
}

#[tokio::test]
async fn hostile_merchant_names_and_notification_text_are_rendered_inert() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let hostile = r#"<script>alert("pwned")</script><img src=x onerror=alert(1)>"#;
    let (id, token, secret) = tab.ready_merchant(hostile, None).await;
    let m = test_merchant(id, &token, &secret);
    let created = server.create_payment(&m, 25000).await;
    let page_url = created["payment_url"]
        .as_str()
        .expect("payment_url")
        .to_owned();
    let mut notification = dana(99_999);
    notification["title"] = json!("<script>document.cookie</script>");
    notification["message"] = json!(format!(
        "{hostile} Kamu berhasil menerima Rp99.999 dari <b>X</b>"
    ));
    server.notify(&m, &notification).await;

    // The payment page is the only page with data in its HTML: everything is escaped there.
    let page = tab
        .raw(
            Method::GET,
            page_url.strip_prefix(&server.url("")).expect("ours"),
            None,
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
    assert!(!page.text.contains("<img src=x"), "{}", page.text);
    assert!(page.text.contains(
        "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    ));
    // Every HTML page forbids inline script outright, so injected markup could not run anyway.
    let shell = tab.raw(Method::GET, "/dashboard", None, None).await;
    for raw in [&page, &shell] {
        let csp = raw.header("content-security-policy").expect("a CSP");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(raw.header("x-content-type-options"), Some("nosniff"));
    }
    assert!(
        !shell.text.contains("pwned"),
        "the dashboard page carries no data, only the script"
    );
    // The dashboard gets the text as JSON strings, which its script writes with textContent.
    for path in ["/dashboard/api/merchants", "/dashboard/api/notifications"] {
        let raw = tab.raw(Method::GET, path, None, None).await;
        assert!(
            raw.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{path}"
        );
        assert!(
            raw.text.contains("pwned"),
            "the text is kept verbatim as data"
        );
    }
    let app = tab
        .raw(Method::GET, "/dashboard/assets/app.js", None, None)
        .await;
    assert!(
        !app.text.contains("innerHTML"),
        "the dashboard script never parses data as HTML"
    );
}

#[tokio::test]
async fn the_dashboard_socket_accepts_the_session_only_from_our_own_pages() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let cookie = format!("webqris_session={}", tab.session.clone().expect("session"));
    let mut request = server.ws_url("/ws").into_client_request().expect("request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("header"));
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().expect("header"));
    match within(
        "a refused handshake",
        tokio_tungstenite::connect_async(request),
    )
    .await
    {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 403),
        other => panic!("a cross-site socket must be refused, got {other:?}"),
    }
}
