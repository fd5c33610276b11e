//! Request ids, with the real `webqris serve` binary and its JSON log: every answer (errors included)
//! carries `x-request-id`, a usable id from a proxy is kept and anything else replaced, and every log line
//! a request writes carries the same id.

use serde_json::{Value, json};

use crate::restart::{Serve, cli_merchant};
use crate::support::{dana, within};

async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    within("an answer", request.send())
        .await
        .expect("the server answers")
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .expect("ASCII")
        .to_owned()
}

/// The `request` span of a log line, if it was written inside one.
fn request_span(line: &Value) -> Option<&Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|span| span["name"] == "request")
}

#[tokio::test]
async fn answers_carry_a_request_id_and_every_log_line_of_the_request_the_same_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("webqris.db");
    let (merchant, token) = cli_merchant(&db, &[]);
    let secret = merchant["callback_secret"].as_str().expect("secret");
    let serve = Serve::start(&db, &[("WEBQRIS_LOG", "info,tower_http=debug")]).await;
    webqris_server::delivery::install_crypto_provider();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");

    // An error answer has one, a fresh UUID.
    let refused = send(
        http.post(format!("{}/api/webhook/payment", serve.base))
            .bearer_auth("wqcb_wrong")
            .json(&dana(1)),
    )
    .await;
    assert_eq!(refused.status().as_u16(), 401);
    let refused_id = request_id(&refused);
    assert_eq!(refused_id.len(), 36, "a UUID: {refused_id}");
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["success"], false);

    // A proxy's id is kept; an unusable one is replaced.
    let kept = send(
        http.get(format!("{}/healthz", serve.base))
            .header("x-request-id", "caddy-7f3a.01:2"),
    )
    .await;
    assert_eq!(request_id(&kept), "caddy-7f3a.01:2");
    let long = "x".repeat(200);
    for unusable in ["has space", "semi;colon", long.as_str()] {
        let replaced = send(
            http.get(format!("{}/healthz", serve.base))
                .header("x-request-id", unusable),
        )
        .await;
        let id = request_id(&replaced);
        assert_ne!(id, unusable);
        assert_eq!(id.len(), 36, "a fresh UUID: {id}");
    }

    // A paying notification: its log lines, on the handler's task and beyond, carry its id.
    let created = send(
        http.post(format!("{}/api/payments/qris/create", serve.base))
            .bearer_auth(&token)
            .json(&json!({"amount": 25000})),
    )
    .await;
    let created: Value = created.json().await.expect("JSON");
    let total = created["total_amount"].as_i64().expect("total");
    let paid = send(
        http.post(format!("{}/api/webhook/payment", serve.base))
            .bearer_auth(secret)
            .json(&dana(total)),
    )
    .await;
    assert_eq!(paid.status().as_u16(), 200);
    let paid_id = request_id(&paid);

    let log: Vec<Value> = serve
        .stop()
        .await
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let mut lines_of_paid = Vec::new();
    let mut lines_of_refused = Vec::new();
    for line in log {
        let Some(span) = request_span(&line) else {
            continue;
        };
        assert!(
            span["request_id"].as_str().is_some_and(|id| id.len() >= 8),
            "a request's line without its id: {line}"
        );
        if span["request_id"] == paid_id.as_str() {
            lines_of_paid.push(line);
        } else if span["request_id"] == refused_id.as_str() {
            lines_of_refused.push(line);
        }
    }
    assert!(
        lines_of_refused
            .iter()
            .any(|l| l["fields"]["kind"] == "request_refused" && l["fields"]["status"] == 401),
        "the refusal is logged with its id: {lines_of_refused:?}"
    );
    let messages: Vec<&str> = lines_of_paid
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    assert!(messages.contains(&"invoice paid"), "{messages:?}");
    assert!(
        messages.contains(&"started processing request"),
        "{messages:?}"
    );
    let paid_line = lines_of_paid
        .iter()
        .find(|l| l["fields"]["message"] == "invoice paid")
        .expect("logged");
    assert_eq!(paid_line["fields"]["invoice"], created["invoice_id"]);
    assert_eq!(
        request_span(paid_line).expect("span")["path"],
        "/api/webhook/payment"
    );
    // The log never holds the secret the request carried.
    assert!(
        !lines_of_paid.iter().any(|l| l.to_string().contains(secret)),
        "a log line holds the callback secret"
    );
}
