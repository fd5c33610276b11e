//! The forwarder against the real webqris server: `webqris_server::run` (the seam `webqris serve` uses) on a
//! fixed loopback port with its own SQLite file, stopped and started again on that port, with a merchant
//! made through the same library path as `webqris merchant create`; optionally behind a reverse proxy
//! that answers 502 while the server is down, as nginx does. A DANA notification pays the invoice, a
//! queue survives the server being down and the forwarder being restarted and heals by itself when the
//! server is back, a parked item pays after a tap, and nothing is paid twice.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use webqris_core::Timestamp;
use webqris_forwarder::{Config, DeliveryState, Error, Incoming, Submitted};
use webqris_server::ServerError;
use webqris_server::config::Config as ServerConfig;
use webqris_server::db::Db;
use webqris_server::merchant::{self, NewMerchant};

use crate::support::{HealthFeed, WAIT, closed_port, open};

/// A static QRIS payload from the vendored corpus (a DANA merchant).
fn static_qris() -> String {
    let corpus =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/qris-vectors.tsv");
    let text = std::fs::read_to_string(&corpus).expect("corpus vendored in tests/corpus");
    text.lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|cols| cols.len() > 2 && cols[0] == "valid" && cols[1] == "verssache-DANA")
        .map(|cols| cols[2].to_owned())
        .expect("the verssache-DANA row")
}

/// A running server: the sender that stops it and its task.
type Running = (oneshot::Sender<()>, JoinHandle<Result<(), ServerError>>);

/// The webqris server on one loopback address with its own database; it can be stopped and started
/// again on the same address (the phone's settings do not change when the server goes away).
struct RealServer {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    config: ServerConfig,
    rt: Runtime,
    running: Option<Running>,
    callback_secret: String,
    api_token: String,
}

impl RealServer {
    /// A database with one merchant (static QRIS set) and an API token; the server not yet started.
    fn prepared() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = ServerConfig {
            db: dir.path().join("webqris.db"),
            ..ServerConfig::default()
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (callback_secret, api_token) = rt.block_on(async {
            let db = Db::open(&config.db, &config.database).expect("database");
            let now = Timestamp::now();
            let new = NewMerchant {
                name: "Toko ABC".into(),
                qris: Some(static_qris()),
                webhook_url: None,
            };
            let created = merchant::create(&db, new, false, now)
                .await
                .expect("merchant created");
            let token = merchant::issue_api_token(&db, created.merchant_id, false, now)
                .await
                .expect("token issued");
            (
                created.callback_secret.expose().to_owned(),
                token.token.expose().to_owned(),
            )
        });
        Self {
            addr: closed_port(),
            _dir: dir,
            config,
            rt,
            running: None,
            callback_secret,
            api_token,
        }
    }

    fn started() -> Self {
        let mut server = Self::prepared();
        server.start();
        server
    }

    /// Starts the server on its address; it accepts connections when this returns (the socket is bound).
    fn start(&mut self) {
        assert!(self.running.is_none(), "already running");
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind(self.addr))
            .expect("bind the server's address again");
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = self.rt.spawn(webqris_server::run(
            self.config.clone(),
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        self.running = Some((stop, handle));
    }

    /// Stops the server: its port refuses connections from now on.
    fn stop(&mut self) {
        if let Some((stop, handle)) = self.running.take() {
            let _ = stop.send(());
            self.rt
                .block_on(async { tokio::time::timeout(WAIT, handle).await })
                .expect("the server stops in time")
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn http(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            webqris_forwarder::tls::install_crypto_provider();
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

    /// A phone on this server (or on `url`, a proxy in front of it): millisecond retries, parking after 3
    /// failed attempts, a parked item waiting a day (only a tap or a restart brings it back in a test).
    fn forwarder_config(&self, state: &tempfile::TempDir) -> Config {
        self.forwarder_config_via(&self.url(), state)
    }

    fn forwarder_config_via(&self, url: &str, state: &tempfile::TempDir) -> Config {
        Config {
            device_id: "device-01".into(),
            enabled_apps: Some(vec!["id.dana".into(), "com.dana.id".into()]),
            app_version: "0.1.0".into(),
            retry_base: Duration::from_millis(50),
            retry_cap: Duration::from_millis(500),
            max_attempts: 3,
            parked_retry: Duration::from_secs(24 * 3600),
            request_timeout: Duration::from_secs(10),
            ..Config::new(
                url,
                self.callback_secret.clone(),
                state.path().join("outbox.db"),
            )
        }
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn dana_paid(total: i64, post_time_ms: i64) -> Incoming {
    Incoming {
        app: "id.dana".into(),
        title: "DANA".into(),
        text: format!("Kamu berhasil menerima Rp{} dari JOHN DOE", rupiah(total)),
        big_text: None,
        key: "0|id.dana|-1|null|10123".into(),
        post_time_ms,
        category: Some("status".into()),
        template: None,
        channel_id: Some("payment".into()),
    }
}

/// A reverse proxy in front of the server, as a merchant's nginx: it forwards every request to
/// `upstream` and answers 502 with an HTML page while the server is down.
struct Proxy {
    url: String,
    _runtime: Runtime,
}

impl Proxy {
    fn start(upstream: String) -> Self {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, Method, StatusCode, Uri};
        use axum::response::IntoResponse;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        webqris_forwarder::tls::install_crypto_provider();
        let client = reqwest::Client::new();
        let forward = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (client, upstream) = (client.clone(), upstream.clone());
            async move {
                let mut request = client.request(method, format!("{upstream}{}", uri.path()));
                for (name, value) in &headers {
                    if name != "host" && name != "content-length" {
                        request = request.header(name, value);
                    }
                }
                match request.body(body).send().await {
                    Ok(answer) => {
                        let status = StatusCode::from_u16(answer.status().as_u16())
                            .expect("a valid status");
                        let text = answer.text().await.unwrap_or_default();
                        (status, [("content-type", "application/json")], text).into_response()
                    }
                    Err(_) => (
                        StatusCode::BAD_GATEWAY,
                        [("content-type", "text/html")],
                        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
                    )
                        .into_response(),
                }
            }
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        runtime.spawn(async move {
            axum::serve(listener, axum::Router::new().fallback(forward))
                .await
                .expect("proxy serves");
        });
        Self {
            url,
            _runtime: runtime,
        }
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
fn a_dana_notification_pays_the_invoice() {
    let server = RealServer::started();
    let (invoice, total) = server.create_invoice(25_000);
    let state = tempfile::tempdir().expect("tempdir");
    let fwd = open(server.forwarder_config(&state));
    let outcome = fwd
        .submit(&dana_paid(total, 1_774_088_123_000))
        .expect("submit");
    assert!(
        matches!(outcome, Submitted::Queued { .. }),
        "queued: {outcome:?}"
    );
    assert!(fwd.wait_until_drained(WAIT).drained);
    let entry = fwd.recent_log(1).expect("log").pop().expect("logged");
    assert_eq!(entry.http_status, Some(200), "{entry:?}");
    assert_eq!(entry.invoice_id.as_deref(), Some(&*invoice));
    let paid = server.status_of(&invoice);
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["payment_method"], "id.dana");
}

/// Server down, then up: the notification queued meanwhile pays by itself, no tap, nothing parked.
#[test]
fn a_notification_queued_while_the_server_is_down_pays_once_it_is_up_by_itself() {
    let mut server = RealServer::prepared();
    let state = tempfile::tempdir().expect("tempdir");
    let fwd = open(server.forwarder_config(&state));
    let feed = HealthFeed::watch(&fwd);
    // The invoice exists; then the server goes down and the payment notification arrives.
    server.start();
    let (invoice, total) = server.create_invoice(30_000);
    server.stop();
    fwd.submit(&dana_paid(total, 1_774_088_200_000))
        .expect("submit");
    feed.until("unreachable", |h| h.problem.is_some() && h.pending == 1);
    server.start();
    let healed = fwd.wait_until_drained(WAIT);
    assert!(healed.drained, "{healed:?}");
    assert_eq!(healed.problem, None);
    assert_eq!(server.status_of(&invoice)["status"], "paid");
}

/// Behind a reverse proxy the down server answers 502: the item's own failed attempts, so it is parked;
/// once the server is back, a tap delivers it and the invoice is paid.
#[test]
fn a_parked_item_is_delivered_after_a_tap_and_pays() {
    let mut server = RealServer::prepared();
    let proxy = Proxy::start(server.url());
    let state = tempfile::tempdir().expect("tempdir");
    let fwd = open(server.forwarder_config_via(&proxy.url, &state));
    let feed = HealthFeed::watch(&fwd);
    server.start();
    let (invoice, total) = server.create_invoice(31_000);
    server.stop();
    let Submitted::Queued { event_hash } = fwd
        .submit(&dana_paid(total, 1_774_088_250_000))
        .expect("submit")
    else {
        panic!("queued")
    };
    feed.until("parked", |h| h.parked == 1);
    let parked = fwd.log_entry(&event_hash).expect("log").expect("logged");
    assert_eq!((parked.state, parked.attempts), (DeliveryState::Parked, 3));
    assert!(
        parked
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("502 Bad Gateway")),
        "{parked:?}"
    );
    server.start();
    assert_eq!(server.status_of(&invoice)["status"], "pending");
    assert!(fwd.retry_item(&event_hash).expect("tap"), "it was waiting");
    assert!(fwd.wait_until_drained(WAIT).drained);
    let sent = fwd.log_entry(&event_hash).expect("log").expect("logged");
    assert_eq!(sent.state, DeliveryState::Sent);
    assert_eq!(sent.invoice_id.as_deref(), Some(&*invoice));
    assert_eq!(server.status_of(&invoice)["status"], "paid");
}

#[test]
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
        .submit(&dana_paid(total, 1_774_088_300_000))
        .expect("submit");
    assert!(first.wait_until_drained(WAIT).drained);
    second
        .submit(&dana_paid(total, 1_774_088_300_000))
        .expect("submit");
    assert!(second.wait_until_drained(WAIT).drained);
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
        Err(Error::Unauthorized { .. })
    ));
}

/// `webqris-forward` killed with items queued (server down), then run again: everything arrives, once.
#[test]
fn the_host_command_survives_a_restart_mid_queue_and_pays_nothing_twice() {
    let mut server = RealServer::prepared();
    server.start();
    let (inv1, total1) = server.create_invoice(11_000);
    let (inv2, total2) = server.create_invoice(12_000);
    server.stop();
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
