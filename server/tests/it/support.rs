//! Test harness: the real server (`webqris_server::run` on `127.0.0.1:0` with a temporary SQLite file),
//! a real webhook receiver (axum on loopback, every request pushed into a channel), a real WebSocket
//! client, and helpers that make each test read like the rule it checks. Nothing sleeps to synchronise:
//! every wait is a channel or response awaited under [`WAIT`].

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use webqris_core::signing::{self, StandardWebhooks};
use webqris_server::ServerError;
use webqris_server::clock::Clock;
use webqris_server::config::{Config, Seconds};
use webqris_server::db::{Db, MerchantId, PaymentRow};
use webqris_server::merchant::{self, NewMerchant};

/// The longest any test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(15);

/// The one-time operator setup token the test server is started with (a real server makes a random
/// one and prints its link).
pub const SETUP_TOKEN: &str = "test-setup-token";

/// Awaits `future` under [`WAIT`], failing the test with `what` if it does not finish.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// A static QRIS from the shared corpus (`tests/corpus/qris-vectors.tsv`, row `verssache-DANA`).
pub fn static_qris() -> String {
    corpus_qris("verssache-DANA")
}

/// A payload of the QRIS corpus by name.
pub fn corpus_qris(name: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/corpus/qris-vectors.tsv"
    );
    let text = std::fs::read_to_string(path).expect("the QRIS corpus is vendored");
    text.lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && f[1] == name)
        .map(|f| f[2].to_owned())
        .unwrap_or_else(|| panic!("corpus row {name}"))
}

/// `25042` → `25.042` (Indonesian thousands separators, as the e-wallets write them).
pub fn rupiah(amount: i64) -> String {
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

/// A DANA notification as the forwarder posts it (the api.md example text), for `total`.
pub fn dana(total: i64) -> Value {
    json!({
        "app": "com.dana.id",
        "title": "DANA",
        "message": format!("Kamu berhasil menerima Rp{} dari JOHN DOE", rupiah(total)),
        "timestamp": "2026-03-21T10:15:23.000Z",
        "device_id": "device-01",
    })
}

/// A GoPay Merchant notification (captured shape; GoPay posts every one with notification id -1).
pub fn gopay(total: i64) -> Value {
    json!({
        "app": "com.gojek.gopaymerchant",
        "title": "Pembayaran QRIS statis diterima",
        "message": format!("Rp {} di JAJAN.AI DIY YOGYAKARTA, Digital & Kreatif.", rupiah(total)),
        "notif_id": -1,
    })
}

/// A GoBiz notification carrying one line per `(amount, reference)` (grouped when several).
pub fn gobiz(lines: &[(i64, &str)]) -> Value {
    let message = lines
        .iter()
        .map(|(amount, reference)| {
            format!(
                "Rp{} berhasil diterima. ID transaksi: {reference}",
                rupiah(*amount)
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    json!({
        "app": "com.gojek.resto",
        "title": "Pembayaran QRIS diterima!",
        "message": message,
    })
}

/// Adds fields to a JSON object.
pub fn with(mut body: Value, extra: Value) -> Value {
    if let (Some(map), Some(more)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            map.insert(k.clone(), v.clone());
        }
    }
    body
}

/// A merchant created through the same library path as `webqris merchant create`, with one API token.
#[derive(Debug, Clone)]
pub struct TestMerchant {
    pub id: MerchantId,
    pub name: String,
    pub token: String,
    pub callback_secret: String,
    pub webhook_secret: String,
}

/// Where a test's data goes: a SQLite file in `dir`, or, when `WEBQRIS_TEST_POSTGRES` names a
/// PostgreSQL server (scripts/test.d/10-postgres.sh), a new empty database on it.
pub fn fresh_database(dir: &std::path::Path) -> std::path::PathBuf {
    let Ok(server) = std::env::var("WEBQRIS_TEST_POSTGRES") else {
        return dir.join("webqris.db");
    };
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = server.clone();
    let create = format!("CREATE DATABASE {name}");
    // The synchronous client runs its own runtime: not on this test's runtime thread.
    std::thread::spawn(move || {
        let mut client =
            postgres::Client::connect(&admin, postgres::NoTls).expect("test PostgreSQL");
        client
            .batch_execute(&create)
            .expect("create the test database");
    })
    .join()
    .expect("database creation");
    let base = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(base, _)| base);
    std::path::PathBuf::from(format!("{base}/{name}"))
}

/// The server under test.
pub struct TestServer {
    pub addr: SocketAddr,
    pub config: Config,
    pub clock: Clock,
    /// A second handle on the server's database file, for inspecting what was stored.
    pub db: Db,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), ServerError>>>,
    _dir: Arc<tempfile::TempDir>,
}

impl TestServer {
    /// The server with test defaults: private webhook targets allowed (the receiver is on loopback),
    /// millisecond retries, and a sweep that only runs when a test makes it tiny.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like [`TestServer::start`], with `tweak` applied to the configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let mut config = Config {
            db: fresh_database(dir.path()),
            ..Config::default()
        };
        config.webhook.allow_private_targets = true;
        config.webhook.retry_schedule = "0.01,0.02,0.04".parse().expect("schedule");
        config.webhook.timeout_secs = Seconds::from_secs(5);
        config.invoice.expiry_sweep_secs = Seconds::from_secs(3600);
        // Every test client is on 127.0.0.1: per-address limits are tested by the hostile module only.
        config.connection.max_connections_per_address = config.connection.max_connections;
        config.websocket.max_per_address = config.websocket.max_sockets;
        // The first dashboard account of a test is the operator, made with the setup link; the
        // others register openly (the hostile module tests registration off, the default).
        config.setup_token = Some(webqris_core::SecretString::new(SETUP_TOKEN));
        config.dashboard.registration = true;
        // Floods of creates are part of the money tests; the rate limit itself is a hostile test.
        config.invoice.create_per_sec_per_token = 1_000_000;
        config.invoice.create_burst_per_token = 1_000_000;
        tweak(&mut config);
        Self::launch(config, dir).await
    }

    async fn launch(config: Config, dir: Arc<tempfile::TempDir>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Opened (and migrated) before the server starts: on a multi-threaded runtime the two would
        // otherwise race to set up a fresh file, and the loser's journal-mode switch finds it busy.
        let db = Db::open(&config.db, &config.database).expect("open the same database file");
        let (shutdown, stop) = oneshot::channel::<()>();
        let handle = tokio::spawn(webqris_server::run(config.clone(), listener, async move {
            let _ = stop.await;
        }));
        webqris_server::delivery::install_crypto_provider();
        Self {
            addr,
            clock: config.clock.clone(),
            config,
            db,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            shutdown: Some(shutdown),
            handle: Some(handle),
            _dir: dir,
        }
    }

    /// Shuts the server down gracefully and waits for it.
    pub async fn stop(mut self) {
        self.stop_in_place().await;
    }

    async fn stop_in_place(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(handle) = self.handle.take() {
            within("graceful shutdown", handle)
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Stops this server and starts a new one on the same database file and configuration.
    pub async fn restart(mut self) -> Self {
        self.stop_in_place().await;
        let dir = Arc::clone(&self._dir);
        Self::launch(self.config.clone(), dir).await
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `ws://127.0.0.1:<port><path>`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// A merchant with the corpus QRIS and, optionally, a webhook URL.
    pub async fn merchant(&self, name: &str, webhook_url: Option<&str>) -> TestMerchant {
        self.merchant_with(name, Some(static_qris()), webhook_url)
            .await
    }

    /// A merchant with the given QRIS (or none).
    pub async fn merchant_with(
        &self,
        name: &str,
        qris: Option<String>,
        webhook_url: Option<&str>,
    ) -> TestMerchant {
        let created = merchant::create(
            &self.db,
            NewMerchant {
                name: name.to_owned(),
                qris,
                webhook_url: webhook_url.map(str::to_owned),
            },
            true,
            self.clock.now(),
        )
        .await
        .expect("merchant created");
        let token =
            merchant::issue_api_token(&self.db, created.merchant_id, false, self.clock.now())
                .await
                .expect("token issued");
        TestMerchant {
            id: created.merchant_id,
            name: created.name,
            token: token.token.expose().to_owned(),
            callback_secret: created.callback_secret.expose().to_owned(),
            webhook_secret: created.webhook_secret.expose().to_owned(),
        }
    }

    /// Sends a request and returns the status and the JSON body (`Value::Null` when not JSON).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = within("an HTTP response", request.send())
            .await
            .expect("the server answers");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `POST path` with a bearer credential and a JSON body.
    pub async fn post(&self, path: &str, bearer: &str, body: &Value) -> (StatusCode, Value) {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(bearer)
                .json(body),
        )
        .await
    }

    /// Creates an invoice for `amount` and returns the 201 body.
    pub async fn create_payment(&self, m: &TestMerchant, amount: i64) -> Value {
        let (status, body) = self
            .post(
                "/api/payments/qris/create",
                &m.token,
                &json!({"amount": amount, "merchant_order_id": "ORDER-001", "customer_name": "John Doe"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create answered {body}");
        body
    }

    /// `GET /api/payments/{invoice}/status` with `m`'s token.
    pub async fn status(&self, m: &TestMerchant, invoice: &str) -> (StatusCode, Value) {
        self.send(
            self.http
                .get(self.url(&format!("/api/payments/{invoice}/status")))
                .bearer_auth(&m.token),
        )
        .await
    }

    /// The `data.status` of an invoice.
    pub async fn status_of(&self, m: &TestMerchant, invoice: &str) -> String {
        let (code, body) = self.status(m, invoice).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        body["data"]["status"].as_str().expect("status").to_owned()
    }

    /// Posts a notification as the forwarder does.
    pub async fn notify(&self, m: &TestMerchant, body: &Value) -> (StatusCode, Value) {
        self.post("/api/webhook/payment", &m.callback_secret, body)
            .await
    }

    /// Posts to `/api/callback/notify` with `X-Callback-Key`.
    pub async fn callback(&self, m: &TestMerchant, body: &Value) -> (StatusCode, Value) {
        self.send(
            self.http
                .post(self.url("/api/callback/notify"))
                .header("X-Callback-Key", &m.callback_secret)
                .json(body),
        )
        .await
    }

    /// The stored payment row of an invoice.
    pub async fn payment(&self, m: &TestMerchant, invoice: &str) -> PaymentRow {
        let (merchant, invoice) = (m.id, invoice.to_owned());
        self.db
            .read(move |c| c.payment_by_invoice(merchant, &invoice))
            .await
            .expect("read")
            .expect("payment exists")
    }

    /// The stored notifications of `m`, newest first.
    pub async fn notifications(
        &self,
        m: &TestMerchant,
    ) -> Vec<webqris_server::db::StoredNotification> {
        let merchant = m.id;
        self.db
            .read(move |c| c.notifications(merchant, 1000))
            .await
            .expect("read")
    }

    /// Opens a merchant WebSocket with `m`'s token.
    pub async fn merchant_socket(&self, m: &TestMerchant) -> WsClient {
        WsClient::connect(&self.ws_url(&format!("/ws/merchant?token={}", m.token))).await
    }

    /// Issues an operator token and opens `/ws` with it.
    pub async fn operator_socket(&self) -> WsClient {
        let token = merchant::issue_operator_token(&self.db, self.clock.now())
            .await
            .expect("operator token");
        WsClient::connect(&self.ws_url(&format!("/ws?token={}", token.token.expose()))).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A webhook request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status the receiver answered (or will answer, when holding).
    pub status: u16,
}

impl Received {
    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {name} present"))
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }

    /// Checks both signature schemes with `secret`, as a merchant's receiver would.
    pub fn assert_signed_with(&self, secret: &str) {
        let hex = self.header("x-webhook-signature");
        assert!(
            signing::verify_hex_signature(secret, &self.body, hex),
            "X-Webhook-Signature verifies"
        );
        assert_eq!(self.header("x-signature"), hex, "X-Signature repeats it");
        assert_eq!(hex, hex.to_ascii_lowercase(), "lowercase hex");
        let timestamp = self.header("webhook-timestamp");
        let now: i64 = timestamp.parse().expect("integer timestamp");
        StandardWebhooks::from_secret(secret)
            .expect("whsec_ secret")
            .verify(
                self.header("webhook-id"),
                timestamp,
                self.header("webhook-signature"),
                &self.body,
                now,
                300,
            )
            .expect("Standard Webhooks signature verifies");
    }
}

/// What the receiver answers.
#[derive(Clone)]
struct Behaviour {
    script: Arc<std::sync::Mutex<std::collections::VecDeque<u16>>>,
    status: Arc<AtomicU16>,
    hold: Option<Arc<Semaphore>>,
    requests: mpsc::UnboundedSender<Received>,
}

/// A webhook URL on loopback where nothing listens: connections are refused at once.
pub async fn refusing_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/webhook")
}

/// A merchant's webhook endpoint on loopback; every request lands in a channel.
pub struct Receiver {
    pub url: String,
    requests: mpsc::UnboundedReceiver<Received>,
    script: Arc<std::sync::Mutex<std::collections::VecDeque<u16>>>,
    status: Arc<AtomicU16>,
    hold: Option<Arc<Semaphore>>,
}

impl Receiver {
    /// Answers 200 to everything.
    pub async fn start() -> Self {
        Self::launch(200, false).await
    }

    /// Answers `status` until told otherwise ([`Receiver::respond_with`]).
    pub async fn failing_with(status: u16) -> Self {
        Self::launch(status, false).await
    }

    /// Holds every request open (after reporting it) until [`Receiver::release`].
    pub async fn holding() -> Self {
        Self::launch(200, true).await
    }

    /// Answers `statuses` in order, then 200.
    pub async fn scripted(statuses: &[u16]) -> Self {
        let receiver = Self::launch(200, false).await;
        receiver
            .script
            .lock()
            .expect("script")
            .extend(statuses.iter().copied());
        receiver
    }

    async fn launch(status: u16, hold: bool) -> Self {
        let (tx, requests) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(status));
        let script = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let hold = hold.then(|| Arc::new(Semaphore::new(0)));
        let behaviour = Behaviour {
            script: Arc::clone(&script),
            status: Arc::clone(&status),
            hold: hold.clone(),
            requests: tx,
        };
        let app = axum::Router::new()
            .route("/webhook", axum::routing::post(receive))
            .route("/redirect", axum::routing::post(redirect))
            .with_state(behaviour);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}/webhook"),
            requests,
            script,
            status,
            hold,
        }
    }

    /// From now on answer `status`.
    pub fn respond_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Lets one held request answer.
    pub fn release(&self) {
        if let Some(hold) = &self.hold {
            hold.add_permits(1);
        }
    }

    /// The next request received.
    pub async fn next(&mut self) -> Received {
        within("a webhook request", self.requests.recv())
            .await
            .expect("receiver running")
    }

    /// Whether a request is already waiting (no wait).
    pub fn try_next(&mut self) -> Option<Received> {
        self.requests.try_recv().ok()
    }
}

async fn receive(
    axum::extract::State(b): axum::extract::State<Behaviour>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    // The answer is decided before the test hears of the request, so switching it afterwards only
    // affects later requests.
    let scripted = b.script.lock().ok().and_then(|mut s| s.pop_front());
    let status = scripted.unwrap_or_else(|| b.status.load(Ordering::SeqCst));
    let _ = b.requests.send(Received {
        headers,
        body,
        status,
    });
    if let Some(hold) = &b.hold {
        let _ = hold.acquire().await.map(|p| p.forget());
    }
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

async fn redirect(
    axum::extract::State(b): axum::extract::State<Behaviour>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1]) {
    let _ = b.requests.send(Received {
        headers,
        body,
        status: 307,
    });
    (StatusCode::TEMPORARY_REDIRECT, [("location", "/webhook")])
}

/// A WebSocket client.
pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl WsClient {
    /// Connects or fails the test.
    pub async fn connect(url: &str) -> Self {
        let (stream, _) = within(
            "a WebSocket handshake",
            tokio_tungstenite::connect_async(url),
        )
        .await
        .unwrap_or_else(|e| panic!("WebSocket {url} refused: {e}"));
        Self { stream }
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::text(text))
            .await
            .expect("send on the WebSocket");
    }

    /// The next text frame.
    pub async fn next_text(&mut self) -> String {
        loop {
            let message = within("a WebSocket frame", self.stream.next())
                .await
                .expect("socket open")
                .expect("frame");
            match message {
                Message::Text(text) => return text.to_string(),
                Message::Close(frame) => panic!("socket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next event frame named `event`, skipping others.
    pub async fn next_event(&mut self, event: &str) -> Value {
        loop {
            let text = self.next_text().await;
            let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
            if frame["event"] == event {
                return frame;
            }
        }
    }

    /// Every event frame that arrives before a `ping` is answered: sends `ping`, collects until `pong`.
    /// (The server answers frames in order, so this drains what was already sent.)
    pub async fn drain(&mut self) -> Vec<Value> {
        self.send_text("ping").await;
        let mut frames = Vec::new();
        loop {
            let text = self.next_text().await;
            if text == "pong" {
                return frames;
            }
            frames.push(serde_json::from_str(&text).expect("frames are JSON"));
        }
    }
}

/// One row of the shared notification corpus (`tests/corpus/notifications.tsv`).
#[derive(Debug, Clone)]
pub struct CorpusRow {
    pub line: usize,
    /// `paid` or `ignore`.
    pub expect: String,
    pub amounts: Vec<i64>,
    pub app: String,
    pub title: String,
    pub text: String,
}

/// Every row of the shared notification corpus.
pub fn corpus_notifications() -> Vec<CorpusRow> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/corpus/notifications.tsv"
    );
    let text = std::fs::read_to_string(path).expect("the notification corpus is vendored");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.starts_with("expect\t") && !l.trim().is_empty())
        .map(|(i, l)| {
            let cols: Vec<&str> = l.split('\t').collect();
            CorpusRow {
                line: i + 1,
                expect: cols[0].to_owned(),
                amounts: cols[1]
                    .split(',')
                    .filter(|a| !a.trim().is_empty())
                    .map(|a| a.trim().parse().expect("corpus amount"))
                    .collect(),
                app: cols[4].to_owned(),
                title: cols[5].to_owned(),
                text: cols[6].replace("\\n", "\n"),
            }
        })
        .collect()
}
