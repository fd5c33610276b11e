//! Payments through the dashboard: the list and its filters, manual confirmation, reconciling an
//! unmatched notification by hand, and webhook deliveries with their attempts and redelivery.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Dashboard, merchant};
use crate::support::{Receiver, TestServer, dana, with};

fn invoices(list: &Value) -> Vec<String> {
    list["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .map(|p| p["invoice_id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn the_payment_list_filters_by_status_date_and_search() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let m = merchant(&tab, "Toko ABC", None).await;
    let other = merchant(&tab, "Toko XYZ", None).await;
    let start = server.clock.now();
    let paid = server.create_payment(&m, 25000).await;
    let pending = server
        .post(
            "/api/payments/qris/create",
            &m.token,
            &json!({"amount": 30000, "merchant_order_id": "ORDER_50%"}),
        )
        .await
        .1;
    let elsewhere = server.create_payment(&other, 1000).await;
    let id = |v: &Value| v["invoice_id"].as_str().expect("id").to_owned();
    server
        .notify(&m, &dana(paid["total_amount"].as_i64().expect("total")))
        .await;

    let (status, all) = tab.get("/dashboard/api/payments").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(
        invoices(&all),
        [id(&elsewhere), id(&pending), id(&paid)],
        "newest first"
    );
    let (_, list) = tab.get("/dashboard/api/payments?status=paid").await;
    assert_eq!(invoices(&list), [id(&paid)]);
    assert_eq!(list["payments"][0]["payment_method"], "com.dana.id");
    assert_eq!(list["payments"][0]["merchant_name"], "Toko ABC");
    let (_, list) = tab
        .get(&format!("/dashboard/api/payments?merchant={}", m.id.0))
        .await;
    assert_eq!(invoices(&list), [id(&pending), id(&paid)]);
    // `%` and `_` are searched for literally.
    let (_, list) = tab.get("/dashboard/api/payments?q=R_50%25").await;
    assert_eq!(invoices(&list), [id(&pending)]);
    let (_, list) = tab.get("/dashboard/api/payments?q=RDER_5").await;
    assert_eq!(invoices(&list), [id(&pending)]);
    let (_, list) = tab.get("/dashboard/api/payments?q=_").await;
    assert_eq!(invoices(&list), [id(&pending)]);
    let (_, list) = tab
        .get(&format!(
            "/dashboard/api/payments?q={}",
            &id(&elsewhere)[4..]
        ))
        .await;
    assert_eq!(invoices(&list), [id(&elsewhere)]);
    let (_, list) = tab.get("/dashboard/api/payments?limit=2").await;
    assert_eq!(invoices(&list).len(), 2);
    let before = list["next_before"].as_i64().expect("another page");
    let (_, list) = tab
        .get(&format!("/dashboard/api/payments?limit=2&before={before}"))
        .await;
    assert_eq!(invoices(&list), [id(&paid)]);
    // Dates: everything was created after `start` and before an hour later.
    let later = webqris_core::Timestamp::from_millis(start.as_millis() + 3_600_000);
    let (_, list) = tab
        .get(&format!(
            "/dashboard/api/payments?from={}&to={}",
            start.to_iso(),
            later.to_iso()
        ))
        .await;
    assert_eq!(invoices(&list).len(), 3);
    let (_, list) = tab
        .get(&format!("/dashboard/api/payments?from={}", later.to_iso()))
        .await;
    assert_eq!(invoices(&list).len(), 0);
    // Past its deadline an invoice is listed as expired, before the sweep.
    server.clock.advance(Duration::from_secs(1801));
    let (_, list) = tab.get("/dashboard/api/payments?status=expired").await;
    assert_eq!(invoices(&list), [id(&elsewhere), id(&pending)]);
    let (_, list) = tab.get("/dashboard/api/payments?status=pending").await;
    assert_eq!(invoices(&list).len(), 0);
    for bad in ["status=lost", "limit=many", "from=yesterday", "merchant=x"] {
        let (status, body) = tab.get(&format!("/dashboard/api/payments?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["success"], false);
    }
}

#[tokio::test]
async fn a_manual_confirmation_stores_its_reason_and_fires_the_webhook_once() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let mut receiver = Receiver::start().await;
    let m = merchant(&tab, "Toko ABC", Some(&receiver.url)).await;
    let created = server.create_payment(&m, 25000).await;
    let invoice = created["invoice_id"].as_str().expect("id");
    let path = format!("/dashboard/api/payments/{invoice}/confirm");

    let (status, body) = tab.post(&path, &json!({"reason": "   "})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a reason is required: {body}"
    );
    let (status, body) = tab
        .post(
            &path,
            &json!({"reason": "Customer showed the BCA transfer receipt"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["payment"]["status"], "paid");
    assert_eq!(body["payment"]["payment_method"], "manual");
    let (_, api) = server.status(&m, invoice).await;
    assert_eq!(api["data"]["status"], "paid");
    assert_eq!(api["data"]["payment_method"], "manual");

    let webhook = receiver.next().await;
    assert_eq!(webhook.json()["data"]["payment_method"], "manual");
    assert_eq!(webhook.json()["data"]["invoice_id"], invoice);

    let (status, again) = tab.post(&path, &json!({"reason": "twice"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(
        again["message"],
        format!("payment {invoice} is already paid")
    );

    let (_, detail) = tab.get(&format!("/dashboard/api/payments/{invoice}")).await;
    let detail = &detail["payment"];
    assert_eq!(
        detail["manual_confirmation"]["reason"],
        "Customer showed the BCA transfer receipt"
    );
    assert_eq!(
        detail["manual_confirmation"]["account_email"],
        "owner@example.com"
    );
    assert_eq!(detail["qris_payload"], created["qris_payload"]);
    assert_eq!(
        detail["deliveries"].as_array().expect("deliveries").len(),
        1,
        "one webhook, not two"
    );
}

#[tokio::test]
async fn an_unmatched_notification_is_assigned_to_an_expired_invoice_by_hand_once() {
    let server = TestServer::start().await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let mut receiver = Receiver::start().await;
    let m = merchant(&tab, "Toko ABC", Some(&receiver.url)).await;
    let created = server.create_payment(&m, 25000).await;
    let invoice = created["invoice_id"].as_str().expect("id").to_owned();
    let total = created["total_amount"].as_i64().expect("total");
    server.clock.advance(Duration::from_secs(1801));
    // The customer paid late: the notification is stored as late, nothing is paid.
    let (status, _) = server.notify(&m, &dana(total)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // And someone paid a total nobody was asked for.
    let (status, _) = server
        .notify(&m, &with(dana(77_777), json!({"device_id": "device-02"})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, inbox) = tab.get("/dashboard/api/notifications?unmatched=1").await;
    let rows = inbox["notifications"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{inbox}");
    let late = rows
        .iter()
        .find(|n| n["outcome"] == "late")
        .expect("the late one");
    assert_eq!(
        late["invoice_id"],
        invoice.as_str(),
        "linked to the invoice it was late for"
    );
    assert_eq!(late["unmatched"], true);
    let late_id = late["id"].as_i64().expect("id");
    let stray_id = rows
        .iter()
        .find(|n| n["outcome"] == "no_match")
        .expect("stray")["id"]
        .as_i64()
        .expect("id");

    let (status, body) = tab
        .post(
            &format!("/dashboard/api/notifications/{late_id}/assign"),
            &json!({"invoice_id": invoice, "reason": "paid 2 minutes late"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["payment"]["status"], "paid");
    assert_eq!(server.status_of(&m, &invoice).await, "paid");
    let webhook = receiver.next().await;
    assert_eq!(webhook.json()["data"]["payment_method"], "manual");

    // Never twice: not the same notification, not another one onto the paid invoice.
    let (status, body) = tab
        .post(
            &format!("/dashboard/api/notifications/{late_id}/assign"),
            &json!({"invoice_id": invoice}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = tab
        .post(
            &format!("/dashboard/api/notifications/{stray_id}/assign"),
            &json!({"invoice_id": invoice}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        format!("payment {invoice} is already paid")
    );

    let (_, inbox) = tab.get("/dashboard/api/notifications?unmatched=1").await;
    let left: Vec<i64> = inbox["notifications"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|n| n["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(
        left,
        [stray_id],
        "the reconciled one is no longer unmatched"
    );
    let (_, all) = tab.get("/dashboard/api/notifications").await;
    let reconciled = all["notifications"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|n| n["id"] == late_id)
        .cloned()
        .expect("still listed");
    assert_eq!(reconciled["assigned_invoice_id"], invoice.as_str());
    let (_, detail) = tab.get(&format!("/dashboard/api/payments/{invoice}")).await;
    assert_eq!(
        detail["payment"]["manual_confirmation"]["notification_id"],
        late_id
    );
    assert!(
        detail["payment"]["manual_confirmation"]["reason"]
            .as_str()
            .expect("reason")
            .ends_with("paid 2 minutes late")
    );

    // A notification that paid something cannot be assigned.
    let second = server.create_payment(&m, 1000).await;
    server
        .notify(&m, &dana(second["total_amount"].as_i64().expect("total")))
        .await;
    let (_, all) = tab.get("/dashboard/api/notifications").await;
    let paid_id = all["notifications"][0]["id"].as_i64().expect("id");
    assert_eq!(all["notifications"][0]["outcome"], "paid");
    let third = server.create_payment(&m, 2000).await;
    let (status, body) = tab
        .post(
            &format!("/dashboard/api/notifications/{paid_id}/assign"),
            &json!({"invoice_id": third["invoice_id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        server
            .status_of(&m, third["invoice_id"].as_str().expect("id"))
            .await,
        "pending"
    );
}

#[tokio::test]
async fn deliveries_show_every_attempt_and_can_be_sent_again() {
    let server = TestServer::start_with(|c| {
        c.webhook.retry_schedule = "0.01".parse().expect("schedule");
    })
    .await;
    let tab = Dashboard::register(&server, "owner@example.com").await;
    let mut receiver = Receiver::scripted(&[500, 503]).await;
    let m = merchant(&tab, "Toko ABC", Some(&receiver.url)).await;
    let created = server.create_payment(&m, 25000).await;
    let invoice = created["invoice_id"].as_str().expect("id");
    server
        .notify(&m, &dana(created["total_amount"].as_i64().expect("total")))
        .await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!(first.header("webhook-id"), second.header("webhook-id"));

    // Both attempts failed and the schedule is used up: the delivery failed.
    let path = format!("/dashboard/api/payments/{invoice}");
    let delivery = crate::support::within("the delivery to be marked failed", async {
        loop {
            let (_, detail) = tab.get(&path).await;
            let delivery = detail["payment"]["deliveries"][0].clone();
            if delivery["status"] == "failed"
                && delivery["attempts"]
                    .as_array()
                    .is_some_and(|a| a.len() == 2)
            {
                return delivery;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    let attempts = delivery["attempts"].as_array().expect("attempts");
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(attempts[1]["status_code"], 503);
    assert!(attempts[0]["duration_ms"].is_i64());
    assert!(
        attempts[0]["started_at"]
            .as_str()
            .expect("time")
            .ends_with('Z')
    );
    assert_eq!(attempts[0]["url"], receiver.url.as_str());
    assert_eq!(delivery["webhook_id"], first.header("webhook-id"));

    let delivery_id = delivery["id"].as_i64().expect("id");
    let (status, body) = tab
        .post(
            &format!("/dashboard/api/deliveries/{delivery_id}/redeliver"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let again = receiver.next().await;
    assert_eq!(
        again.header("webhook-id"),
        first.header("webhook-id"),
        "the same event"
    );
    assert_eq!(again.body, first.body, "the same bytes");
    let delivered = crate::support::within("the redelivery to be recorded", async {
        loop {
            let (_, detail) = tab.get(&path).await;
            let delivery = detail["payment"]["deliveries"][0].clone();
            if delivery["status"] == "delivered" {
                return delivery;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(delivered["attempts"][2]["status_code"], 200);
    assert_eq!(delivered["attempts"][2]["attempt"], 3);

    let (status, _) = tab
        .post("/dashboard/api/deliveries/987654/redeliver", &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
