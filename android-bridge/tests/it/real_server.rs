//! The forwarder against the real `webqris` server, driven only through its command-line contract
//! (`webqris serve`, `merchant create`, `token create`) and its HTTP API: a DANA notification pays the
//! invoice, a queue survives the server being down and the forwarder being restarted, and nothing is
//! paid twice.
//!
//! The binary is `$WEBQRIS_BIN`, else `target/debug/webqris` (built by `cargo test --workspace` and by
//! `scripts/test.d/20-android.sh`).

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use webqris_android::{DeliveryState, ForwarderConfig, IncomingNotification, SubmitOutcome};

use crate::support::{WAIT_MS, closed_port, open};

const NEEDS_SERVER: &str = "build it first: cargo build -p webqris-server --bin webqris";

fn webqris_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("WEBQRIS_BIN") {
        return bin.into();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join("target").join("debug").join("webqris")
}

/// A static QRIS payload from the vendored corpus (a DANA merchant).
fn static_qris() -> String {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/qris-vectors.tsv");
    let text = std::fs::read_to_string(&corpus).expect("corpus vendored in tests/corpus");
    text.lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|cols| cols.len() > 2 && cols[0] == "valid" && cols[1] == "verssache-DANA")
        .map(|cols| cols[2].to_owned())
        .expect("the verssache-DANA row")
}

/// One `webqris` server process on a loopback port with its own database.
struct RealServer {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    child: Option<Child>,
    merchant_id: String,
    callback_secret: String,
    api_token: String,
}

impl RealServer {
    /// A database with one merchant (static QRIS set) and an API token; the server not yet started.
    fn prepared() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = Self {
            addr: closed_port(),
            dir,
            child: None,
            merchant_id: String::new(),
            callback_secret: String::new(),
            api_token: String::new(),
        };
        let merchant = server.cli(&[
            "merchant",
            "create",
            "--name",
            "Toko ABC",
            "--qris",
            &static_qris(),
        ]);
        server.merchant_id = match &merchant["merchant_id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        server.callback_secret = merchant["callback_secret"]
            .as_str()
            .expect("callback_secret")
            .to_owned();
        let token = server.cli(&["token", "create", "--merchant", &server.merchant_id.clone()]);
        server.api_token = token["token"].as_str().expect("token").to_owned();
        server
    }

    fn started() -> Self {
        let mut server = Self::prepared();
        server.start();
        server
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("webqris.db")
    }

    fn cli(&self, args: &[&str]) -> Value {
        let out = Command::new(webqris_bin())
            .args(args)
            .arg("--db")
            .arg(self.db())
            .arg("--json")
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}: {e} ({NEEDS_SERVER})",
                    webqris_bin().display()
                )
            });
        assert!(
            out.status.success(),
            "webqris {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
    }

    /// Starts `webqris serve` and waits until it accepts connections.
    fn start(&mut self) {
        let child = Command::new(webqris_bin())
            .args(["serve", "--listen", &self.addr.to_string(), "--db"])
            .arg(self.db())
            .env("WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn webqris serve");
        self.child = Some(child);
        // Readiness of another process has no event to await: probe the port until a deadline.
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("webqris serve exited with {status}");
            }
            assert!(
                Instant::now() < deadline,
                "webqris serve did not listen on {}",
                self.addr
            );
            std::thread::park_timeout(Duration::from_millis(25));
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn http(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async {
            webqris_android::tls::install_crypto_provider();
            let client = reqwest::Client::new();
            let url = format!("{}{path}", self.url());
            let mut req = match method {
                "POST" => client.post(url),
                _ => client.get(url),
            }
            .bearer_auth(&self.api_token);
            if let Some(body) = body {
                req = req.json(&body);
            }
            let resp = req.send().await.expect("server reachable");
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        })
    }

    /// Creates an invoice; returns (invoice_id, total_amount).
    fn create_invoice(&self, amount: i64) -> (String, i64) {
        let (status, body) = self.http(
            "POST",
            "/api/payments/qris/create",
            Some(json!({"amount": amount, "merchant_order_id": "ORDER-1"})),
        );
        assert_eq!(status, 201, "{body}");
        (
            body["invoice_id"].as_str().expect("invoice_id").to_owned(),
            body["total_amount"].as_i64().expect("total_amount"),
        )
    }

    fn status_of(&self, invoice: &str) -> Value {
        let (status, body) = self.http("GET", &format!("/api/payments/{invoice}/status"), None);
        assert_eq!(status, 200, "{body}");
        body["data"].clone()
    }

    fn forwarder_config(&self, state: &tempfile::TempDir) -> ForwarderConfig {
        ForwarderConfig {
            server_url: self.url(),
            callback_secret: self.callback_secret.clone(),
            device_id: "device-01".into(),
            enabled_apps: Some(vec!["id.dana".into(), "com.dana.id".into()]),
            send_all: false,
            database_path: state.path().join("outbox.db").display().to_string(),
            app_version: "0.1.0".into(),
            retry_base_ms: 50,
            retry_cap_ms: 500,
            request_timeout_ms: 10_000,
            heartbeat_interval_secs: 0,
        }
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn dana_paid(total: i64, post_time_ms: i64) -> IncomingNotification {
    IncomingNotification {
        app: "id.dana".into(),
        title: "DANA".into(),
        text: format!("Kamu berhasil menerima Rp{} dari JOHN DOE", rupiah(total)),
        big_text: None,
        key: "0|id.dana|-1|null|10123".into(),
        post_time_ms,
    }
}

/// `25042` → `25.042`.
fn rupiah(amount: i64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

#[test]
#[ignore = "drives the webqris binary: run by scripts/test.d/20-android.sh after building it"]
fn a_dana_notification_pays_the_invoice() {
    let server = RealServer::started();
    let (invoice, total) = server.create_invoice(25_000);
    let state = tempfile::tempdir().expect("tempdir");
    let fwd = open(server.forwarder_config(&state));
    let outcome = fwd
        .submit(dana_paid(total, 1_774_088_123_000))
        .expect("submit");
    assert!(
        matches!(outcome, SubmitOutcome::Queued { .. }),
        "the phone reads it as a payment: {outcome:?}"
    );
    assert!(fwd.wait_until_drained(WAIT_MS).drained);
    let entry = fwd.recent_log(1).expect("log").pop().expect("logged");
    assert_eq!(entry.http_status, Some(200), "{entry:?}");
    assert_eq!(entry.invoice_id.as_deref(), Some(&*invoice));
    let paid = server.status_of(&invoice);
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["payment_method"], "id.dana");
}

#[test]
#[ignore = "drives the webqris binary: run by scripts/test.d/20-android.sh after building it"]
fn a_notification_queued_while_the_server_is_down_pays_once_it_is_up() {
    let mut server = RealServer::prepared();
    let state = tempfile::tempdir().expect("tempdir");
    let fwd = open(server.forwarder_config(&state));
    // The invoice exists; then the server goes down and the payment notification arrives.
    server.start();
    let (invoice, total) = server.create_invoice(30_000);
    let pid = server.child.take().expect("running");
    drop(KillOnDrop(pid));
    fwd.submit(dana_paid(total, 1_774_088_200_000))
        .expect("submit");
    assert_eq!(
        fwd.wait_until_drained(300).pending,
        1,
        "queued while the server is down"
    );
    server.start();
    fwd.retry_now().expect("retry");
    assert!(fwd.wait_until_drained(WAIT_MS).drained);
    assert_eq!(server.status_of(&invoice)["status"], "paid");
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "drives the webqris binary: run by scripts/test.d/20-android.sh after building it"]
fn the_same_payment_forwarded_by_two_phones_pays_once() {
    let server = RealServer::started();
    let (invoice, total) = server.create_invoice(40_000);
    let (a, b) = (
        tempfile::tempdir().expect("t"),
        tempfile::tempdir().expect("t"),
    );
    let first = open(server.forwarder_config(&a));
    let second = open(server.forwarder_config(&b));
    first
        .submit(dana_paid(total, 1_774_088_300_000))
        .expect("submit");
    assert!(first.wait_until_drained(WAIT_MS).drained);
    second
        .submit(dana_paid(total, 1_774_088_300_000))
        .expect("submit");
    assert!(second.wait_until_drained(WAIT_MS).drained);
    let answer = second.recent_log(1).expect("log").pop().expect("logged");
    assert_eq!(answer.state, DeliveryState::Sent);
    assert_eq!(
        answer.server_message.as_deref(),
        Some("Duplicate notification"),
        "{answer:?}"
    );
    assert_eq!(server.status_of(&invoice)["status"], "paid");
}

#[test]
#[ignore = "drives the webqris binary: run by scripts/test.d/20-android.sh after building it"]
fn a_wrong_secret_is_refused_and_the_test_and_heartbeat_answer() {
    let server = RealServer::started();
    let state = tempfile::tempdir().expect("tempdir");
    let fwd = open(server.forwarder_config(&state));
    let message = fwd.test_connection().expect("connection test");
    assert!(message.contains("Toko ABC"), "{message}");
    let beat = fwd.send_heartbeat().expect("heartbeat");
    assert_eq!(beat.merchant.as_deref(), Some("Toko ABC"));
    let other_state = tempfile::tempdir().expect("tempdir");
    let mut wrong = server.forwarder_config(&other_state);
    wrong.callback_secret = "cbs_wrong".into();
    let bad = open(wrong);
    assert!(matches!(
        bad.test_connection(),
        Err(webqris_android::ForwarderError::Unauthorized { .. })
    ));
}

/// `webqris-forward` killed with items queued (server down), then run again: everything arrives, once.
#[test]
#[ignore = "drives the webqris binary: run by scripts/test.d/20-android.sh after building it"]
fn the_host_command_survives_a_restart_mid_queue_and_pays_nothing_twice() {
    let mut server = RealServer::prepared();
    server.start();
    let (inv1, total1) = server.create_invoice(11_000);
    let (inv2, total2) = server.create_invoice(12_000);
    let stopped = server.child.take().expect("running");
    drop(KillOnDrop(stopped));
    let state = tempfile::tempdir().expect("tempdir");
    let input = state.path().join("in.jsonl");
    let lines: Vec<String> = [(total1, 1_774_088_400_000_i64), (total2, 1_774_088_400_500)]
        .iter()
        .map(|(t, ms)| {
            json!({"app": "id.dana", "title": "DANA", "text": format!("Kamu berhasil menerima Rp{} dari JOHN DOE", rupiah(*t)), "post_time_ms": ms, "key": format!("k{ms}")}).to_string()
        })
        .collect();
    std::fs::write(&input, lines.join("\n")).expect("write input");
    let (url, secret) = (server.url(), server.callback_secret.clone());
    let forward = |args: &[&str]| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_webqris-forward"))
            .args(["--server", &url, "--secret", &secret, "--state"])
            .arg(state.path().join("fwd"))
            .args(args)
            .arg("--json")
            .output()
            .expect("run webqris-forward");
        serde_json::from_slice(&out.stdout).expect("JSON summary")
    };
    let first = forward(&["replay", input.to_str().expect("utf-8"), "--timeout", "0.3"]);
    assert_eq!(first["queued"], 2);
    assert_eq!(first["pending"], 2);
    server.start();
    let second = forward(&["drain", "--timeout", "20"]);
    assert_eq!(second["pending"], 0, "{second}");
    assert_eq!(second["delivered"], 2);
    assert_eq!(server.status_of(&inv1)["status"], "paid");
    assert_eq!(server.status_of(&inv2)["status"], "paid");
    let again = forward(&["replay", input.to_str().expect("utf-8"), "--timeout", "5"]);
    assert_eq!(again["queued"], 0);
    assert_eq!(again["skipped"], 2, "already seen on this phone");
}

#[test]
fn rupiah_groups_thousands_with_dots() {
    assert_eq!(rupiah(25042), "25.042");
    assert_eq!(rupiah(1_000_000), "1.000.000");
    assert_eq!(rupiah(10), "10");
}
