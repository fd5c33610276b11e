//! The real `webqris serve` binary: first run creates the database, SIGTERM stops it cleanly, and a
//! webhook that is due when the process is killed (SIGKILL) is delivered after the restart.

use std::path::Path;
use std::process::{ExitStatus, Stdio};

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::support::{Receiver, dana, static_qris, within};

/// A `webqris serve` process (also the nodes of the multi-node tests).
pub struct Serve {
    pub child: Child,
    /// `http://<its address>`.
    pub base: String,
    /// The messages it logged before it was listening.
    pub startup: Vec<String>,
    /// Every line it writes to stderr (its log), until it exits.
    log: JoinHandle<Vec<String>>,
}

impl Serve {
    /// Starts the binary on an ephemeral port and waits for its "listening" log line.
    pub async fn start(db: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_webqris"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .arg("--json")
            .env("WEBQRIS_LOG_JSON", "true")
            .env("WEBQRIS_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("webqris serve starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = BufReader::new(stderr).lines();
        let (mut log, mut startup) = (Vec::new(), Vec::new());
        let addr = within("the listening log line", async {
            while let Some(line) = lines.next_line().await.expect("read stderr") {
                let parsed = serde_json::from_str::<Value>(&line).unwrap_or_default();
                log.push(line);
                if parsed["fields"]["message"] == "webqris listening" {
                    return parsed["fields"]["addr"].as_str().expect("addr").to_owned();
                }
                if let Some(message) = parsed["fields"]["message"].as_str() {
                    startup.push(message.to_owned());
                }
            }
            panic!("webqris serve exited before listening");
        })
        .await;
        // Keep draining stderr so the child never blocks on a full pipe.
        let log = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                log.push(line);
            }
            log
        });
        Self {
            child,
            base: format!("http://{addr}"),
            startup,
            log,
        }
    }

    /// Stops it with SIGTERM and waits for it to exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        within("exit after SIGTERM", self.child.wait())
            .await
            .expect("wait")
    }

    /// Stops it cleanly (SIGTERM) and returns everything it logged.
    pub async fn stop(mut self) -> Vec<String> {
        let exit = self.terminate().await;
        assert!(exit.success(), "clean exit: {exit:?}");
        within("the end of its log", self.log)
            .await
            .expect("log reader")
    }

    /// Kills the process and waits for it to be gone.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("killed");
    }

    fn pid(&self) -> String {
        self.child.id().expect("running").to_string()
    }
}

/// Runs a `webqris` CLI command on `db` and returns its JSON answer (it must succeed).
pub fn cli(db: &Path, args: &[&str]) -> Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_webqris"))
        .args(args)
        .arg("--db")
        .arg(db)
        .arg("--json")
        .env("WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
        .output()
        .expect("cli runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// A merchant "Toko ABC" with the static QRIS (and `extra` flags of `merchant create`) and an API token
/// of it, made with the CLI: the `merchant create` answer and the token.
pub fn cli_merchant(db: &Path, extra: &[&str]) -> (Value, String) {
    let qris = static_qris();
    let mut args = vec!["merchant", "create", "--name", "Toko ABC", "--qris", &qris];
    args.extend_from_slice(extra);
    let merchant = cli(db, &args);
    let id = merchant["merchant_id"].to_string();
    let token = cli(db, &["token", "create", "--merchant", &id]);
    let token = token["token"].as_str().expect("token").to_owned();
    (merchant, token)
}

/// POSTs `body` with `bearer` and returns the status and JSON answer.
pub async fn post(
    http: &reqwest::Client,
    url: String,
    bearer: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = within(
        "a response",
        http.post(url).bearer_auth(bearer).json(body).send(),
    )
    .await
    .expect("server answers");
    let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn serve_creates_the_database_on_first_run_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("fresh/data/webqris.db");
    let mut serve = Serve::start(&db, &[]).await;
    assert!(db.exists(), "created on first run");
    // reqwest needs rustls' provider even for plain http (run alone, no other test installed it).
    webqris_server::delivery::install_crypto_provider();
    let health = within("healthz", reqwest::get(format!("{}/healthz", serve.base)))
        .await
        .expect("answers");
    assert_eq!(health.status().as_u16(), 200);
    let exit = serve.terminate().await;
    assert!(exit.success(), "clean exit: {exit:?}");
    let mut stdout = String::new();
    tokio::io::AsyncReadExt::read_to_string(
        serve.child.stdout.as_mut().expect("stdout"),
        &mut stdout,
    )
    .await
    .expect("stdout");
    assert_eq!(
        serde_json::from_str::<Value>(stdout.trim()).expect("JSON"),
        json!({"stopped": true})
    );
}

#[tokio::test]
async fn a_webhook_due_when_the_server_is_killed_is_delivered_after_the_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("webqris.db");
    let mut receiver = Receiver::failing_with(500).await;
    let (merchant, token) = cli_merchant(&db, &["--webhook-url", &receiver.url]);
    let env = [
        ("WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        (
            "WEBQRIS_WEBHOOK_RETRY_SCHEDULE",
            "0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05",
        ),
        ("WEBQRIS_WEBHOOK_TIMEOUT_SECS", "1"),
        // A retry claimed just before the kill stays leased to the dead worker until its lease runs
        // out: keep that well inside the receiver's wait (the default 15 s equals it).
        ("WEBQRIS_WEBHOOK_LEASE_SECS", "3"),
    ];
    webqris_server::delivery::install_crypto_provider();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");

    let mut first = Serve::start(&db, &env).await;
    let (code, created) = post(
        &http,
        format!("{}/api/payments/qris/create", first.base),
        &token,
        &json!({"amount": 25000}),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    let total = created["total_amount"].as_i64().expect("total");
    let (code, paid) = post(
        &http,
        format!("{}/api/webhook/payment", first.base),
        merchant["callback_secret"].as_str().expect("secret"),
        &dana(total),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{paid}");
    let failed = receiver.next().await;
    first.child.kill().await.expect("SIGKILL");

    receiver.respond_with(200);
    let _second = Serve::start(&db, &env).await;
    let delivered = loop {
        // Failed attempts made before the kill may still be queued; the delivered one follows them.
        let hook = receiver.next().await;
        if hook.status == 200 {
            break hook;
        }
    };
    delivered.assert_signed_with(merchant["webhook_secret"].as_str().expect("secret"));
    assert_eq!(
        delivered.header("webhook-id"),
        failed.header("webhook-id"),
        "the same event, not a new one"
    );
    assert_eq!(delivered.body, failed.body, "the exact stored bytes");
    assert_eq!(
        delivered.json()["data"]["invoice_id"],
        created["invoice_id"]
    );
}
