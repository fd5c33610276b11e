//! A scripted HTTP server on loopback for the forwarder's client-side rules (ordering, backoff,
//! Retry-After, 401): every request is pushed into a channel, every answer comes from a script. The
//! rules that depend on the real server's behaviour are tested against the real server instead
//! (`real_server.rs`).

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
use webqris_android::{Forwarder, ForwarderConfig, IncomingNotification};

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
    /// Never answer (the request stays open), to kill a client mid-delivery.
    pub hang: bool,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            hang: false,
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
}

#[derive(Clone)]
struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
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
    let _ = script.seen.send(received);
    let reply = script
        .replies
        .lock()
        .expect("script lock")
        .pop_front()
        .unwrap_or_else(|| script.default.clone());
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

    /// Starts on a given address (to bring a "down" server up on the port the forwarder knows).
    pub fn start_on(addr: SocketAddr, replies: Vec<Reply>, default: Reply) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, rx) = mpsc::unbounded_channel();
        let script = Script {
            replies: Arc::new(Mutex::new(replies.into())),
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

/// A forwarder with a fast retry schedule, sending every notification (so that these tests do not
/// depend on the core's grammars).
pub fn config(server: &str, dir: &tempfile::TempDir) -> ForwarderConfig {
    ForwarderConfig {
        server_url: server.into(),
        callback_secret: SECRET.into(),
        device_id: "device-01".into(),
        enabled_apps: Some(vec!["id.dana".into(), "com.gojek.gopaymerchant".into()]),
        send_all: true,
        database_path: dir.path().join("outbox.db").display().to_string(),
        app_version: "0.1.0".into(),
        retry_base_ms: 20,
        retry_cap_ms: 200,
        request_timeout_ms: 5_000,
        heartbeat_interval_secs: 0,
    }
}

pub fn open(config: ForwarderConfig) -> Arc<Forwarder> {
    Forwarder::new(config).expect("forwarder opens")
}

pub fn dana(text: &str, post_time_ms: i64) -> IncomingNotification {
    IncomingNotification {
        app: "id.dana".into(),
        title: "Pembayaran Masuk".into(),
        text: text.into(),
        big_text: None,
        key: "0|id.dana|-1|null|10123".into(),
        post_time_ms,
    }
}

pub const WAIT: Duration = Duration::from_secs(10);
pub const WAIT_MS: u64 = 10_000;
