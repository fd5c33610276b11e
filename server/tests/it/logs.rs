//! Log volume under a flood (issue 15): the real `webqris serve` binary, its stderr captured, answers
//! thousands of creates refused with 503 (no free unique code) and as many garbage requests (400, 401,
//! 404, 405). Its log stays under a fixed bound that does not grow with the flood (1,000 vs 5,000 of
//! each), no refusal is logged as an error, and every refusal is accounted for: one full line per status
//! plus a summary line counting the rest.

use std::collections::BTreeMap;

use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::restart::{Serve, cli_merchant};

/// The most log one flood may write, whatever its size (the server's own start and stop lines included).
const BOUND_BYTES: usize = 16 * 1024;
/// Requests in flight at once.
const CONCURRENCY: usize = 16;

/// What one flood of `n` refused creates and `n` garbage requests made the server log.
struct Flood {
    /// Requests answered, per status.
    answered: BTreeMap<u16, u64>,
    /// The log, one JSON value per line.
    lines: Vec<Value>,
    /// Its size in bytes.
    bytes: usize,
}

async fn flood(n: usize) -> Flood {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("webqris.db");
    let (_merchant, token) = cli_merchant(&db, &[]);
    // One unique code per amount: after the first invoice of 25000, every create of 25000 is a 503.
    // One summary interval for the whole flood, so the comparison does not depend on how long a loaded
    // machine takes to send it (a flood spanning several intervals writes two lines per interval).
    let env = [
        ("WEBQRIS_UNIQUE_CODE_MIN", "0"),
        ("WEBQRIS_UNIQUE_CODE_MAX", "0"),
        ("WEBQRIS_LOG_REPEAT_SECS", "3600"),
        // The per-token invoice rate limit would answer 429 before the codes run out: this floods the
        // code allocation, not the limit.
        ("WEBQRIS_CREATE_PER_SEC_PER_TOKEN", "1000000"),
        ("WEBQRIS_CREATE_BURST_PER_TOKEN", "1000000"),
    ];
    let serve = Serve::start(&db, &env).await;
    webqris_server::delivery::install_crypto_provider();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let create = format!("{}/api/payments/qris/create", serve.base);
    let unknown = format!("{}/wp-login.php", serve.base);
    let first = http
        .post(&create)
        .bearer_auth(&token)
        .json(&json!({"amount": 25000}))
        .send()
        .await
        .expect("answers");
    assert_eq!(first.status().as_u16(), 201, "the only code is taken");

    let requests = (0..2 * n).map(|i| {
        let request = match i % 8 {
            // Half the flood: creates refused for want of a free code.
            0 | 2 | 4 | 6 => http
                .post(&create)
                .bearer_auth(&token)
                .json(&json!({"amount": 25000})),
            1 => http
                .post(&create)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body("{not json"),
            3 => http
                .post(&create)
                .bearer_auth("wq_not-a-token")
                .json(&json!({"amount": 25000})),
            5 => http.get(&unknown),
            _ => http.delete(&create).bearer_auth(&token),
        };
        async move {
            let response = request.send().await.expect("answers");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("a JSON body");
            assert_eq!(body["success"], false, "{body}");
            status
        }
    });
    let mut answered = BTreeMap::new();
    let mut statuses = futures_util::stream::iter(requests).buffer_unordered(CONCURRENCY);
    while let Some(status) = statuses.next().await {
        *answered.entry(status).or_insert(0) += 1;
    }
    drop(statuses);
    let raw = serve.stop().await;
    let bytes = raw.iter().map(|line| line.len() + 1).sum();
    let lines = raw
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("a JSON log line: {line}"))
        })
        .collect();
    Flood {
        answered,
        lines,
        bytes,
    }
}

/// Checks one flood's log: bounded, no error, and every refusal accounted for.
fn check(flood: &Flood, n: u64) {
    assert_eq!(flood.answered.get(&503), Some(&n), "{:?}", flood.answered);
    assert_eq!(
        flood.answered.values().sum::<u64>(),
        2 * n,
        "{:?}",
        flood.answered
    );
    assert!(
        flood
            .answered
            .keys()
            .all(|s| (400..500).contains(s) || *s == 503),
        "only refusals: {:?}",
        flood.answered
    );
    let all = || {
        flood
            .lines
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        flood.bytes <= BOUND_BYTES,
        "{} bytes of log for a flood of {} requests:\n{}",
        flood.bytes,
        2 * n,
        all()
    );
    assert!(
        flood.lines.iter().all(|l| l["level"] != "ERROR"),
        "a refusal is not an error:\n{}",
        all()
    );
    for (status, sent) in &flood.answered {
        let of_status: Vec<&Value> = flood
            .lines
            .iter()
            .filter(|l| {
                l["fields"]["kind"] == "request_refused" && l["fields"]["status"] == *status
            })
            .collect();
        let written = of_status
            .iter()
            .filter(|l| l["fields"]["repeats"].is_null())
            .count();
        let counted: u64 = of_status
            .iter()
            .filter_map(|l| l["fields"]["repeats"].as_u64())
            .sum();
        assert_eq!(written, 1, "one full line for status {status}:\n{}", all());
        assert_eq!(
            counted + 1,
            *sent,
            "the summary counts every other refusal of status {status}:\n{}",
            all()
        );
        let level = if *status == 503 { "WARN" } else { "INFO" };
        assert!(
            of_status.iter().all(|l| l["level"] == level),
            "status {status} is logged at {level}:\n{}",
            all()
        );
    }
}

#[tokio::test]
async fn a_flood_of_refused_requests_writes_a_bounded_log_whatever_its_size() {
    let small = flood(1_000).await;
    check(&small, 1_000);
    let big = flood(5_000).await;
    check(&big, 5_000);
    // Five times the flood: the same lines, only the counts have more digits.
    assert!(
        big.bytes <= small.bytes + 256,
        "{} bytes for 10,000 requests, {} bytes for 2,000",
        big.bytes,
        small.bytes
    );
}
