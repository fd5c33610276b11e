//! The `webqris` command line, run as the real binary: bootstrap commands, their `--json` shapes, and
//! failures as a non-zero exit with `{"error": …}`.

use std::path::Path;
use std::process::Command;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, static_qris};

/// Runs `webqris` with `args` and extra environment; returns (success, the one JSON object on stdout).
pub fn webqris(args: &[&str], env: &[(&str, &str)]) -> (bool, Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_webqris"));
    command.args(args);
    for (name, _) in webqris_server::config::ENVIRONMENT {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("the binary runs");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("one JSON object on stdout ({e}): {stdout:?}"));
    (output.status.success(), value)
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn db_arg(dir: &Path) -> String {
    dir.join("webqris.db").display().to_string()
}

#[test]
fn merchant_token_and_admin_commands_print_the_documented_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_arg(dir.path());
    let qris = static_qris();
    let (ok, merchant) = webqris(
        &[
            "merchant",
            "create",
            "--name",
            "Toko ABC",
            "--qris",
            &qris,
            "--webhook-url",
            "https://shop.example.com/hook",
            "--db",
            &db,
            "--json",
        ],
        &[],
    );
    assert!(ok, "{merchant}");
    assert_eq!(
        keys(&merchant),
        ["merchant_id", "name", "callback_secret", "webhook_secret"]
    );
    assert_eq!(merchant["name"], "Toko ABC");
    assert!(merchant["merchant_id"].is_i64());
    assert!(
        merchant["callback_secret"]
            .as_str()
            .expect("secret")
            .starts_with("wqcb_")
    );
    assert!(
        merchant["webhook_secret"]
            .as_str()
            .expect("secret")
            .starts_with("whsec_")
    );

    let id = merchant["merchant_id"].to_string();
    let (ok, token) = webqris(
        &["token", "create", "--merchant", &id, "--db", &db, "--json"],
        &[],
    );
    assert!(ok, "{token}");
    assert_eq!(keys(&token), ["token", "prefix"]);
    let (text, prefix) = (
        token["token"].as_str().expect("token"),
        token["prefix"].as_str().expect("prefix"),
    );
    assert!(text.starts_with("wqk_") && text.starts_with(prefix) && text.len() >= 4 + 32);

    let (ok, admin) = webqris(&["admin", "token", "create", "--db", &db, "--json"], &[]);
    assert!(ok, "{admin}");
    assert_eq!(keys(&admin), ["token"]);
    assert!(
        admin["token"]
            .as_str()
            .expect("token")
            .starts_with("wqadm_")
    );

    let (ok, listed) = webqris(
        &["token", "list", "--merchant", &id, "--db", &db, "--json"],
        &[],
    );
    assert!(ok);
    assert_eq!(listed["tokens"][0]["prefix"], prefix);
    let (ok, revoked) = webqris(
        &[
            "token",
            "revoke",
            "--merchant",
            &id,
            "--prefix",
            prefix,
            "--db",
            &db,
            "--json",
        ],
        &[],
    );
    assert!(ok);
    assert_eq!(revoked, json!({"revoked": 1}));
}

#[test]
fn failures_exit_non_zero_with_an_error_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_arg(dir.path());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["merchant", "create", "--name", "  "], "name"),
        (
            vec![
                "merchant",
                "create",
                "--name",
                "X",
                "--qris",
                "000201010211",
            ],
            "QRIS",
        ),
        (
            vec![
                "merchant",
                "create",
                "--name",
                "X",
                "--webhook-url",
                "ftp://example.com/",
            ],
            "http",
        ),
        (
            vec![
                "merchant",
                "create",
                "--name",
                "X",
                "--webhook-url",
                "http://127.0.0.1:9/hook",
            ],
            "loopback",
        ),
        (
            vec![
                "merchant",
                "create",
                "--name",
                "X",
                "--webhook-url",
                "http://169.254.169.254/",
            ],
            "metadata",
        ),
        (vec!["token", "create", "--merchant", "999"], "999"),
        (
            vec![
                "token",
                "revoke",
                "--merchant",
                "1",
                "--prefix",
                "wqk_nothing",
            ],
            "wqk_nothing",
        ),
    ];
    for (mut args, needle) in cases {
        args.extend(["--db", &db, "--json"]);
        let (ok, answer) = webqris(&args, &[]);
        assert!(!ok, "{args:?} must fail");
        assert_eq!(keys(&answer), ["error"], "{answer}");
        let error = answer["error"].as_str().expect("text");
        assert!(error.contains(needle), "{args:?}: {error}");
    }
}

#[test]
fn the_private_target_switch_applies_to_the_cli_from_the_environment_and_the_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_arg(dir.path());
    let args = [
        "merchant",
        "create",
        "--name",
        "LAN shop",
        "--webhook-url",
        "http://192.168.1.10/hook",
        "--db",
        &db,
        "--json",
    ];
    let (ok, _) = webqris(&args, &[]);
    assert!(!ok, "refused by default");
    let (ok, answer) = webqris(&args, &[("WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")]);
    assert!(ok, "{answer}");
    let config = dir.path().join("webqris.toml");
    std::fs::write(&config, "[webhook]\nallow_private_targets = true\n").expect("write");
    let config = config.display().to_string();
    let mut with_config = args.to_vec();
    with_config.extend(["--config", &config]);
    let (ok, answer) = webqris(&with_config, &[]);
    assert!(ok, "{answer}");
}

#[test]
fn the_qris_and_notif_commands_keep_working() {
    let (ok, decoded) = webqris(&["qris", "decode", &static_qris(), "--json"], &[]);
    assert!(ok, "{decoded}");
    assert_eq!(decoded["valid"], true);
    assert_eq!(decoded["point_of_initiation"], "static");
    let (ok, dynamic) = webqris(
        &[
            "qris",
            "dynamic",
            &static_qris(),
            "--amount",
            "25042",
            "--json",
        ],
        &[],
    );
    assert!(ok, "{dynamic}");
    assert!(
        dynamic["payload"]
            .as_str()
            .expect("payload")
            .contains("540525042")
    );
    let (ok, parsed) = webqris(
        &[
            "notif",
            "parse",
            "--app",
            "com.dana.id",
            "--title",
            "DANA",
            "--text",
            "Kamu berhasil menerima Rp25.042 dari JOHN DOE",
            "--json",
        ],
        &[],
    );
    assert!(ok);
    assert_eq!(parsed["incoming"], true);
    assert_eq!(parsed["payments"][0]["amount"], 25042);
    assert_eq!(
        (parsed["pays"].clone(), parsed["trust_reason"].clone()),
        (json!(true), Value::Null)
    );
    let keys: Vec<&str> = parsed
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["incoming", "kind", "payments", "pays", "trust_reason"],
        "the contract's fields first"
    );
    // The same words in a chat message or under a conversation category never pay.
    let (ok, chat) = webqris(
        &[
            "notif",
            "parse",
            "--app",
            "com.whatsapp",
            "--title",
            "Budi",
            "--text",
            "Kamu berhasil menerima Rp25.042 dari JOHN DOE",
            "--json",
        ],
        &[],
    );
    assert!(ok);
    assert_eq!(
        chat,
        json!({"incoming": false, "reason": "unrecognized", "pays": false, "trust_reason": "untrusted_source"})
    );
    let (ok, call) = webqris(
        &[
            "notif",
            "parse",
            "--app",
            "com.dana.id",
            "--title",
            "DANA",
            "--text",
            "Kamu berhasil menerima Rp25.042 dari JOHN DOE",
            "--category",
            "call",
            "--json",
        ],
        &[],
    );
    assert!(ok);
    assert_eq!(
        (
            call["incoming"].clone(),
            call["pays"].clone(),
            call["trust_reason"].clone()
        ),
        (json!(true), json!(false), json!("conversation"))
    );
}

#[tokio::test]
async fn credentials_made_by_the_cli_work_against_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_arg(dir.path());
    let (ok, merchant) = webqris(
        &[
            "merchant",
            "create",
            "--name",
            "Toko CLI",
            "--qris",
            &static_qris(),
            "--db",
            &db,
            "--json",
        ],
        &[],
    );
    assert!(ok, "{merchant}");
    let id = merchant["merchant_id"].to_string();
    let (_, token) = webqris(
        &["token", "create", "--merchant", &id, "--db", &db, "--json"],
        &[],
    );
    let path = dir.path().join("webqris.db");
    let server = TestServer::start_with(move |c| c.db = path).await;
    let (code, created) = server
        .post(
            "/api/payments/qris/create",
            token["token"].as_str().expect("token"),
            &json!({"amount": 5000}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    let (code, test) = server
        .post(
            "/api/webhook/payment",
            merchant["callback_secret"].as_str().expect("secret"),
            &json!({"message": "ping", "event_hash": "test"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        test["message"],
        "Koneksi berhasil! Auth valid ✓ (Merchant: Toko CLI)"
    );
}

#[test]
fn an_unreachable_postgres_url_fails_within_seconds_and_never_shows_the_password() {
    // One port that refuses, one that accepts the connection and then never answers: the second
    // returns at all only because of the connection deadline (2 s here).
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    for port in [refused, silent_port] {
        let url = format!("postgres://webqris:s3cretpw@127.0.0.1:{port}/webqris");
        let (ok, out) = webqris(
            &["token", "list", "--merchant", "1", "--db", &url, "--json"],
            &[("WEBQRIS_DB_CONNECT_TIMEOUT_SECS", "2")],
        );
        assert!(!ok, "{out}");
        let message = out["error"].as_str().expect("an error message");
        assert!(
            message.contains("127.0.0.1") && !message.contains("s3cretpw"),
            "{message}"
        );
    }
    drop(silent);
}

#[test]
fn config_prints_the_effective_configuration_every_key_with_passwords_redacted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("webqris.toml");
    std::fs::write(
        &file,
        "[invoice]\nttl_secs = 900\n[webhook]\nretry_schedule = [1, 2]\n",
    )
    .expect("write");
    let file = file.display().to_string();
    let (ok, shown) = webqris(
        &["config", "--config", &file, "--json"],
        &[
            ("WEBQRIS_WEBHOOK_RETRY_SCHEDULE", "0.5,30"),
            (
                "WEBQRIS_DB",
                "postgres://webqris:hunter2@db.example/webqris",
            ),
        ],
    );
    assert!(ok, "{shown}");
    assert_eq!(shown["invoice"]["ttl_secs"], 900, "from the file");
    assert_eq!(
        shown["webhook"]["retry_schedule"],
        json!([0.5, 30]),
        "the environment beats the file"
    );
    assert_eq!(shown["webhook"]["timeout_secs"], 10, "a default");
    assert_eq!(shown["db"], "postgres://webqris:***@db.example/webqris");
    assert!(!shown.to_string().contains("hunter2"), "{shown}");
    for (_, key) in webqris_server::config::ENVIRONMENT {
        let value = key.split('.').try_fold(&shown, |v, part| v.get(part));
        assert!(value.is_some(), "{key} is shown: {shown}");
    }
    let (ok, refused) = webqris(
        &["config", "--json"],
        &[("WEBQRIS_INVOICE_TTL_SECS", "soon")],
    );
    assert!(!ok);
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("WEBQRIS_INVOICE_TTL_SECS")),
        "{refused}"
    );
}
