//! The sandbox (issue 12 item 2): test tokens make test invoices, marked `"test": true` in every
//! answer, webhook and event; only `simulate` pays them, through the real settlement path; real money
//! never meets them, and the two pools never take each other's unique codes.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use webqris_core::Timestamp;
use webqris_server::db::{NewPayment, NotificationOutcome};
use webqris_server::merchant;

use crate::dashboard::{Dashboard, merchant as dashboard_merchant};
use crate::restart::{cli, cli_merchant};
use crate::support::{Receiver, TestMerchant, TestServer, dana, gopay, static_qris, within};

/// `m` as seen with a new test token of its merchant.
async fn sandbox(server: &TestServer, m: &TestMerchant) -> TestMerchant {
    let issued = merchant::issue_api_token(&server.db, m.id, true, server.clock.now())
        .await
        .expect("test token issued");
    TestMerchant {
        token: issued.token.expose().to_owned(),
        ..m.clone()
    }
}

/// `POST /api/payments/{invoice}/simulate` with `token` and `body` (`None`: no body at all).
async fn simulate(
    server: &TestServer,
    token: &str,
    invoice: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let request = server
        .http
        .post(server.url(&format!("/api/payments/{invoice}/simulate")))
        .bearer_auth(token);
    server
        .send(match body {
            Some(body) => request.json(body),
            None => request,
        })
        .await
}

fn invoice_of(created: &Value) -> String {
    created["invoice_id"]
        .as_str()
        .expect("invoice id")
        .to_owned()
}

#[tokio::test]
async fn simulate_pays_a_test_invoice_once_with_a_signed_test_webhook_and_events() {
    let server = TestServer::start().await;
    let mut receiver = Receiver::start().await;
    let live = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let test = sandbox(&server, &live).await;
    let mut socket = server.merchant_socket(&live).await;

    let created = server.create_payment(&test, 25000).await;
    assert_eq!(created["test"], true, "{created}");
    let invoice = invoice_of(&created);
    let total = created["total_amount"].as_i64().expect("total");
    let new_payment = socket.next_event("new_payment").await;
    assert_eq!(new_payment["data"]["test"], true, "{new_payment}");
    let (_, status) = server.status(&test, &invoice).await;
    assert_eq!(status["data"]["test"], true, "{status}");
    assert_eq!(status["data"]["status"], "pending");

    // No body at all: every field is optional.
    let (code, paid) = simulate(&server, &test.token, &invoice, None).await;
    assert_eq!(code, StatusCode::OK, "{paid}");
    assert_eq!(
        paid,
        json!({"success": true, "invoice_id": invoice, "parsed_amount": total,
               "sender_name": "SANDBOX", "outcome": "paid", "test": true})
    );
    let (_, status) = server.status(&test, &invoice).await;
    assert_eq!(status["data"]["status"], "paid", "{status}");
    assert_eq!(status["data"]["payment_method"], "sandbox");
    assert_eq!(status["data"]["test"], true);

    let webhook = receiver.next().await;
    webhook.assert_signed_with(&live.webhook_secret);
    let body = webhook.json();
    assert_eq!(body["event"], "payment.paid");
    assert_eq!(body["data"]["invoice_id"], invoice.as_str());
    assert_eq!(body["data"]["test"], true, "{body}");
    assert_eq!(body["data"]["payment_method"], "sandbox");
    let frame = socket.next_event("payment_paid").await;
    assert_eq!(frame["data"]["invoice_id"], invoice.as_str());
    assert_eq!(frame["data"]["test"], true, "{frame}");

    // The same simulation again is the real path's duplicate: nothing more is paid or sent.
    let (code, again) = simulate(&server, &test.token, &invoice, Some(&json!({}))).await;
    assert_eq!(code, StatusCode::OK, "{again}");
    assert_eq!(again["success"], false);
    assert_eq!(again["outcome"], "duplicate");
    assert_eq!(again["message"], "Duplicate notification");
    let row = server.payment(&test, &invoice).await;
    let deliveries = server
        .db
        .read(move |c| c.deliveries_for_payment(row.id))
        .await
        .expect("read");
    assert_eq!(deliveries.len(), 1, "one webhook for one payment");
    let stored = server.notifications(&test).await;
    assert_eq!(stored.len(), 2, "both simulations are stored");
    assert!(stored.iter().all(|n| n.test), "as test notifications");
    assert_eq!(stored[0].outcome, NotificationOutcome::Duplicate);
    assert_eq!(stored[1].outcome, NotificationOutcome::Paid);
    let frames = socket.drain().await;
    assert!(
        frames.iter().all(|f| f["event"] != "payment_paid"),
        "no second payment_paid: {frames:?}"
    );
}

#[tokio::test]
async fn live_answers_keep_their_exact_fields() {
    let server = TestServer::start().await;
    let mut receiver = Receiver::start().await;
    let live = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let created = server.create_payment(&live, 25000).await;
    assert_eq!(created.get("test"), None, "{created}");
    let invoice = invoice_of(&created);
    let total = created["total_amount"].as_i64().expect("total");
    let (code, _) = server.notify(&live, &dana(total)).await;
    assert_eq!(code, StatusCode::OK);
    let (_, status) = server.status(&live, &invoice).await;
    let keys: Vec<&str> = status["data"]
        .as_object()
        .expect("data")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "invoice_id",
            "merchant_order_id",
            "qris_payload",
            "amount",
            "unique_code",
            "total_amount",
            "status",
            "payment_method",
            "paid_at",
            "expired_at"
        ]
    );
    let webhook = receiver.next().await.json();
    assert_eq!(webhook["data"].get("test"), None, "{webhook}");
}

#[tokio::test]
async fn only_a_test_token_of_the_invoice_merchant_may_simulate_others_get_the_unknown_invoice_404()
{
    let server = TestServer::start().await;
    let live = server.merchant("Toko ABC", None).await;
    let test = sandbox(&server, &live).await;
    let other = server.merchant("Toko Lain", None).await;
    let other_test = sandbox(&server, &other).await;
    let test_invoice = invoice_of(&server.create_payment(&test, 25000).await);
    let live_invoice = invoice_of(&server.create_payment(&live, 25000).await);

    let unknown = json!({"success": false, "message": "Payment not found"});
    for (who, token, invoice) in [
        ("a live token", &live.token, &test_invoice),
        (
            "another merchant's test token",
            &other_test.token,
            &test_invoice,
        ),
        ("a live invoice", &test.token, &live_invoice),
        (
            "an unknown invoice",
            &test.token,
            &"INV-1-nobody".to_owned(),
        ),
    ] {
        let (code, body) = simulate(&server, token, invoice, Some(&json!({}))).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{who}: {body}");
        assert_eq!(body, unknown, "{who}");
    }
    let (code, body) = simulate(&server, "wqk_not-a-token", &test_invoice, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(server.status_of(&test, &test_invoice).await, "pending");
    assert_eq!(server.status_of(&live, &live_invoice).await, "pending");
    assert!(
        server.notifications(&live).await.is_empty(),
        "a refused simulation stores nothing"
    );
}

/// A server whose invoices all get unique code 1, so that a live and a test invoice of the same amount
/// have the same total.
async fn one_code_server() -> TestServer {
    TestServer::start_with(|c| {
        c.invoice.unique_code_min = 1;
        c.invoice.unique_code_max = 1;
    })
    .await
}

#[tokio::test]
async fn real_money_never_pays_a_test_invoice_even_at_the_same_total() {
    let server = one_code_server().await;
    let live = server.merchant("Toko ABC", None).await;
    let test = sandbox(&server, &live).await;
    let test_invoice = invoice_of(&server.create_payment(&test, 25000).await);

    // Only the test invoice is pending: a real notification and a real callback of its total pay nothing.
    let (code, body) = server.notify(&live, &dana(25001)).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    let (code, body) = server
        .callback(&live, &json!({"amount": 25001, "reference": "bank-1"}))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(server.status_of(&test, &test_invoice).await, "pending");

    // With a live invoice of the same total pending too, real money pays the live one only.
    let live_invoice = invoice_of(&server.create_payment(&live, 25000).await);
    let (code, body) = server.notify(&live, &gopay(25001)).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["invoice_id"], live_invoice.as_str());
    assert_eq!(server.status_of(&live, &live_invoice).await, "paid");
    assert_eq!(server.status_of(&test, &test_invoice).await, "pending");

    // And a simulation pays the test one only.
    let second_live = server.create_payment(&live, 30000).await;
    let (code, body) = simulate(&server, &test.token, &test_invoice, None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(server.status_of(&test, &test_invoice).await, "paid");
    assert_eq!(
        server.status_of(&live, &invoice_of(&second_live)).await,
        "pending"
    );
    // A simulated amount equal to a pending live invoice's total finds no test invoice: nothing paid.
    let another_test = invoice_of(&server.create_payment(&test, 40000).await);
    let (code, body) = simulate(
        &server,
        &test.token,
        &another_test,
        Some(&json!({"amount": 30001})),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["outcome"], "no_match");
    assert_eq!(
        server.status_of(&live, &invoice_of(&second_live)).await,
        "pending"
    );
}

#[tokio::test]
async fn live_and_test_invoices_never_take_each_others_unique_codes() {
    let server = one_code_server().await;
    let live = server.merchant("Toko ABC", None).await;
    let test = sandbox(&server, &live).await;
    // The one code is taken in each pool by its own invoice, never by the other pool's.
    let test_invoice = server.create_payment(&test, 25000).await;
    let live_invoice = server.create_payment(&live, 25000).await;
    assert_eq!(test_invoice["total_amount"], 25001);
    assert_eq!(live_invoice["total_amount"], 25001);
    for m in [&test, &live] {
        let (code, body) = server
            .post(
                "/api/payments/qris/create",
                &m.token,
                &json!({"amount": 25000}),
            )
            .await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    }

    // The database's partial unique index enforces it, not the allocator: a second pending test total
    // is refused on insert; a live one of the same total is not there twice either.
    let merchant = live.id;
    let now = server.clock.now();
    let insert = |invoice: &'static str, test: bool| {
        server.db.write(move |tx| {
            tx.insert_payment(&NewPayment {
                invoice_id: invoice.to_owned(),
                merchant_id: merchant,
                merchant_order_id: None,
                customer_name: None,
                return_url: None,
                amount: 25000,
                unique_code: 1,
                qris_payload: static_qris(),
                created_at: now,
                expired_at: Timestamp::from_millis(now.as_millis() + 60_000),
                page_token: None,
                test,
            })
        })
    };
    assert!(insert("INV-1-twin-test", true).await.is_err());
    assert!(insert("INV-1-twin-live", false).await.is_err());
}

#[tokio::test]
async fn wrong_amounts_and_late_payments_pay_nothing_and_are_stored() {
    let server = TestServer::start().await;
    let live = server.merchant("Toko ABC", None).await;
    let test = sandbox(&server, &live).await;
    let created = server.create_payment(&test, 25000).await;
    let invoice = invoice_of(&created);
    let total = created["total_amount"].as_i64().expect("total");

    let (code, wrong) = simulate(
        &server,
        &test.token,
        &invoice,
        Some(&json!({"amount": total + 1000, "sender_name": "BUDI"})),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{wrong}");
    assert_eq!(
        wrong,
        json!({"success": false, "message": "No matching pending payment",
               "parsed_amount": total + 1000, "merchant": "Toko ABC", "outcome": "no_match",
               "test": true})
    );
    assert_eq!(server.status_of(&test, &invoice).await, "pending");

    let (code, late) = simulate(&server, &test.token, &invoice, Some(&json!({"late": true}))).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{late}");
    assert_eq!(late["outcome"], "late", "{late}");
    assert_eq!(server.status_of(&test, &invoice).await, "expired");
    let row = server.payment(&test, &invoice).await;
    assert!(row.paid_at.is_none());

    let stored = server.notifications(&test).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].outcome, NotificationOutcome::Late);
    assert_eq!(stored[0].payment_id, Some(row.id), "linked to its invoice");
    assert_eq!(stored[1].outcome, NotificationOutcome::NoMatch);
    assert_eq!(stored[1].parsed_amount, Some(total + 1000));
    assert!(stored.iter().all(|n| n.test));
    let deliveries = server
        .db
        .read(move |c| c.deliveries_for_payment(row.id))
        .await
        .expect("read");
    assert!(
        deliveries.is_empty(),
        "no webhook for money that paid nothing"
    );

    // An invoice that expired on its own: a simulated payment is late, as real money would be.
    let expired = invoice_of(&server.create_payment(&test, 26000).await);
    server.clock.advance(Duration::from_secs(1801));
    let (code, body) = simulate(&server, &test.token, &expired, None).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["outcome"], "late");
    assert_eq!(server.status_of(&test, &expired).await, "expired");
}

#[tokio::test]
async fn bad_simulate_bodies_get_the_contract_error_and_change_nothing() {
    let server = TestServer::start().await;
    let live = server.merchant("Toko ABC", None).await;
    let test = sandbox(&server, &live).await;
    let invoice = invoice_of(&server.create_payment(&test, 25000).await);
    let url = server.url(&format!("/api/payments/{invoice}/simulate"));
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "malformed JSON",
            server
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body("{\"amount\": "),
        ),
        ("an array", server.http.post(&url).json(&json!([1, 2]))),
        (
            "a string amount",
            server.http.post(&url).json(&json!({"amount": "25000"})),
        ),
        (
            "a zero amount",
            server.http.post(&url).json(&json!({"amount": 0})),
        ),
        (
            "a negative amount",
            server.http.post(&url).json(&json!({"amount": -5})),
        ),
        (
            "a misspelt field",
            server.http.post(&url).json(&json!({"amuont": 1})),
        ),
        (
            "late as text",
            server.http.post(&url).json(&json!({"late": "yes"})),
        ),
        (
            "a body without a content type",
            server.http.post(&url).body("amount=1"),
        ),
        (
            "a huge body",
            server
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(format!("{{\"sender_name\": \"{}\"}}", "x".repeat(2 << 20))),
        ),
    ];
    for (what, request) in cases {
        let (code, body) = server.send(request.bearer_auth(&test.token)).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(body["success"], false, "{what}: {body}");
        assert!(body["message"].is_string(), "{what}: {body}");
    }
    assert_eq!(server.status_of(&test, &invoice).await, "pending");
    assert!(server.notifications(&test).await.is_empty());
}

#[tokio::test]
async fn sandbox_reports_and_invoices_are_never_settled_by_hand_nor_offered() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let live = dashboard_merchant(&tab, "Toko ABC", None).await;
    let (code, token) = tab
        .post(
            &format!("/dashboard/api/merchants/{}/tokens", live.id.0),
            &json!({"test": true}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{token}");
    assert_eq!(token["test"], true);
    let test = TestMerchant {
        token: token["token"].as_str().expect("token").to_owned(),
        ..live.clone()
    };
    let (_, tokens) = tab
        .get(&format!("/dashboard/api/merchants/{}/tokens", live.id.0))
        .await;
    let flags: Vec<&Value> = tokens["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| &t["test"])
        .collect();
    assert_eq!(flags, [&json!(true), &json!(false)], "{tokens}");

    let created = server.create_payment(&test, 25000).await;
    let invoice = invoice_of(&created);
    let total = created["total_amount"].as_i64().expect("total");
    let (_, listed) = tab.get("/dashboard/api/payments").await;
    assert_eq!(listed["payments"][0]["test"], true, "{listed}");
    let (code, body) = tab
        .post(
            &format!("/dashboard/api/payments/{invoice}/confirm"),
            &json!({"reason": "I saw the money"}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["success"], false);

    // A real notification of the test invoice's total: unmatched, and never offered against it.
    let (code, _) = server.notify(&live, &dana(total)).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (_, offers) = tab.get("/dashboard/api/notifications/offers").await;
    assert_eq!(offers["offers"], json!([]), "{offers}");
    let (_, inbox) = tab.get("/dashboard/api/notifications").await;
    let real_id = inbox["notifications"][0]["id"].as_i64().expect("id");
    let (code, body) = tab
        .post(
            &format!("/dashboard/api/notifications/{real_id}/assign"),
            &json!({"invoice_id": invoice}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");

    // A simulated wrong amount is shown as a test report, not flagged, and cannot pay a live invoice.
    let live_invoice = server.create_payment(&live, 30000).await;
    let (code, _) = simulate(
        &server,
        &test.token,
        &invoice,
        Some(&json!({"amount": live_invoice["total_amount"]})),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (_, inbox) = tab.get("/dashboard/api/notifications").await;
    let simulated = &inbox["notifications"][0];
    assert_eq!(simulated["test"], true, "{inbox}");
    assert_eq!(simulated["unmatched"], false);
    assert_eq!(simulated["assignable"], false);
    let (code, body) = tab
        .post(
            &format!(
                "/dashboard/api/notifications/{}/assign",
                simulated["id"].as_i64().expect("id")
            ),
            &json!({"invoice_id": live_invoice["invoice_id"]}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        server.status_of(&live, &invoice_of(&live_invoice)).await,
        "pending"
    );
    assert_eq!(server.status_of(&test, &invoice).await, "pending");
}

#[tokio::test]
async fn the_cli_makes_test_tokens_and_lists_them_as_such() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("webqris.db");
    let (created, _) = cli_merchant(&path, &[]);
    let id = created["merchant_id"].to_string();
    let live = cli(&path, &["token", "create", "--merchant", &id]);
    assert_eq!(live.get("test"), None, "a live token's answer is unchanged");
    let test = cli(&path, &["token", "create", "--merchant", &id, "--test"]);
    assert_eq!(test["test"], true);
    let listed = cli(&path, &["token", "list", "--merchant", &id]);
    let tokens = listed["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 3, "{listed}");
    assert_eq!(tokens[0]["prefix"], test["prefix"]);
    assert_eq!(tokens[0]["test"], true);
    assert_eq!(tokens[1]["prefix"], live["prefix"]);
    assert!(
        tokens[1..].iter().all(|t| t.get("test").is_none()),
        "{listed}"
    );

    let server = TestServer::start_with(move |c| c.db = path).await;
    let token = test["token"].as_str().expect("token");
    let (code, invoice) = server
        .post("/api/payments/qris/create", token, &json!({"amount": 5000}))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{invoice}");
    assert_eq!(invoice["test"], true);
    let (code, paid) = simulate(&server, token, &invoice_of(&invoice), None).await;
    assert_eq!(code, StatusCode::OK, "{paid}");
}

#[tokio::test]
async fn a_test_invoices_payment_page_tells_the_customer_not_to_pay_it() {
    let server = TestServer::start().await;
    let live = server.merchant("Toko ABC", None).await;
    let test = sandbox(&server, &live).await;
    for (m, banner) in [(&test, true), (&live, false)] {
        let created = server.create_payment(m, 25000).await;
        let url = created["payment_url"].as_str().expect("payment_url");
        let page = within("the payment page", server.http.get(url).send())
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        assert!(page.contains("Rp25."), "the page itself: {page}");
        assert_eq!(page.contains(r#"id="sandbox""#), banner, "{page}");
        assert!(!page.contains("{{"), "every placeholder filled");
    }
}
