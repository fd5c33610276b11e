//! A scripted HTTP server on loopback for the forwarder's client-side rules (scheduling, backoff,
//! Retry-After, refusals, parking): every request is pushed into a channel, every answer comes from a
//! script. The rules that depend on the real server's behaviour are tested against the real server
//! instead (`real_server.rs`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::mpsc;
use webqris_forwarder::{Config, Forwarder, Health, Incoming, ProblemKind, StatusObserver};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    pub at: Instant,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Never answer (the request stays open): a client times out, or is killed mid-delivery.
    pub hang: bool,
    /// Answer only requests whose body's `message` contains this; others get the next rule (or the
    /// default). Lets one item fail forever while the others are answered.
    pub only_for: Option<String>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            hang: false,
            only_for: None,
        }
    }

    pub fn html(status: u16, page: &str) -> Self {
        Self {
            headers: vec![("content-type", "text/html; charset=utf-8".into())],
            body: page.into(),
            ..Self::json(status, Value::Null)
        }
    }

    pub fn hang() -> Self {
        Self {
            hang: true,
            ..Self::paid("never")
        }
    }

    pub fn paid(invoice: &str) -> Self {
        Self::json(
            200,
            serde_json::json!({"success": true, "invoice_id": invoice, "parsed_amount": 25042, "sender_name": null}),
        )
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// This answer, forever, to the notification whose message contains `text`.
    pub fn only_for(mut self, text: &str) -> Self {
        self.only_for = Some(text.into());
        self
    }
}

#[derive(Clone)]
struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    rules: Arc<Vec<Reply>>,
    default: Reply,
    seen: mpsc::UnboundedSender<Received>,
}

async fn answer(
    State(script): State<Script>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = Received {
        path: uri.path().to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    let message = received.body["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let _ = script.seen.send(received);
    let rule = script
        .rules
        .iter()
        .find(|r| r.only_for.as_deref().is_some_and(|t| message.contains(t)))
        .cloned();
    let reply = rule.unwrap_or_else(|| {
        script
            .replies
            .lock()
            .expect("script lock")
            .pop_front()
            .unwrap_or_else(|| script.default.clone())
    });
    if reply.hang {
        std::future::pending::<()>().await;
    }
    let mut response = (
        StatusCode::from_u16(reply.status).expect("valid status"),
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    response
}

/// The scripted server: answers `replies` in order, then `default` forever.
pub struct ScriptedServer {
    pub addr: SocketAddr,
    seen: mpsc::UnboundedReceiver<Received>,
    runtime: tokio::runtime::Runtime,
}

impl ScriptedServer {
    pub fn start(replies: Vec<Reply>, default: Reply) -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("addr"), replies, default)
    }

    /// Starts with per-message rules (see [`Reply::only_for`]) ahead of the script.
    pub fn with_rules(rules: Vec<Reply>, replies: Vec<Reply>, default: Reply) -> Self {
        Self::start_full(
            "127.0.0.1:0".parse().expect("addr"),
            rules,
            replies,
            default,
        )
    }

    /// Starts on a given address (to bring a "down" server up on the port the forwarder knows).
    pub fn start_on(addr: SocketAddr, replies: Vec<Reply>, default: Reply) -> Self {
        Self::start_full(addr, Vec::new(), replies, default)
    }

    fn start_full(
        addr: SocketAddr,
        rules: Vec<Reply>,
        replies: Vec<Reply>,
        default: Reply,
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, rx) = mpsc::unbounded_channel();
        let script = Script {
            replies: Arc::new(Mutex::new(replies.into())),
            rules: Arc::new(rules),
            default,
            seen: tx,
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let app = Router::new().fallback(answer).with_state(script);
        runtime.spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self {
            addr,
            seen: rx,
            runtime,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next request, or a panic after `timeout` (never a sleep).
    pub fn next_request(&mut self, timeout: Duration) -> Received {
        let seen = &mut self.seen;
        self.runtime
            .block_on(async { tokio::time::timeout(timeout, seen.recv()).await })
            .expect("a request within the timeout")
            .expect("server running")
    }

    /// Requests already received, without waiting.
    pub fn drain_received(&mut self) -> Vec<Received> {
        let mut out = Vec::new();
        while let Ok(r) = self.seen.try_recv() {
            out.push(r);
        }
        out
    }
}

/// A loopback address nothing listens on (bound, then released).
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

pub const SECRET: &str = "cbs_test_secret_0123456789abcdefghijklmnop";

/// A forwarder with a millisecond retry schedule (20 ms doubling to 200 ms) and parking after 4 failed
/// attempts; a parked item waits a day (so only a tap or a restart brings it back within a test).
pub fn config(server: &str, dir: &tempfile::TempDir) -> Config {
    Config {
        device_id: "device-01".into(),
        enabled_apps: Some(vec!["id.dana".into(), "com.gojek.gopaymerchant".into()]),
        app_version: "0.1.0".into(),
        retry_base: Duration::from_millis(20),
        retry_cap: Duration::from_millis(200),
        max_attempts: 4,
        parked_retry: Duration::from_secs(24 * 3600),
        request_timeout: Duration::from_secs(5),
        ..Config::new(server, SECRET, dir.path().join("outbox.db"))
    }
}

pub fn open(config: Config) -> Forwarder {
    Forwarder::open(config).expect("forwarder opens")
}

pub fn dana(text: &str, post_time_ms: i64) -> Incoming {
    Incoming {
        app: "id.dana".into(),
        title: "Pembayaran Masuk".into(),
        text: text.into(),
        big_text: None,
        key: "0|id.dana|-1|null|10123".into(),
        post_time_ms,
        category: None,
        template: None,
        channel_id: None,
    }
}

pub const WAIT: Duration = Duration::from_secs(10);

/// The forwarder's health changes, as the app's persistent notification sees them.
pub struct HealthFeed(std::sync::mpsc::Receiver<Health>);

struct FeedObserver(Mutex<std::sync::mpsc::Sender<Health>>);

impl StatusObserver for FeedObserver {
    fn health_changed(&self, health: &Health) {
        let _ = self.0.lock().expect("feed lock").send(health.clone());
    }
}

impl HealthFeed {
    /// Observes `forwarder` from now on.
    pub fn watch(forwarder: &Forwarder) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        forwarder.set_observer(Some(Arc::new(FeedObserver(Mutex::new(tx)))));
        Self(rx)
    }

    /// The first health that satisfies `wanted`, or a panic after [`WAIT`] (never a sleep).
    pub fn until(&self, what: &str, wanted: impl Fn(&Health) -> bool) -> Health {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.0.recv_timeout(left) {
                Ok(health) if wanted(&health) => return health,
                Ok(_) => {}
                Err(_) => panic!("no health {what} within {WAIT:?}"),
            }
        }
    }
}

/// The problem's kind, if any.
pub fn problem_kind(health: &Health) -> Option<ProblemKind> {
    health.problem.as_ref().map(|p| p.kind)
}
