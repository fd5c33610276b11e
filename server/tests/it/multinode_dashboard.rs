//! The dashboard on two `webqris serve` processes sharing one PostgreSQL database (the PostgreSQL pass;
//! on a SQLite-only run these tests return at once). What a node used to keep in memory holds across
//! nodes: failed logins sent to either node count together, and a token revoked or a session ended on
//! one node closes the sockets opened with it on the other.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use axum::http::StatusCode;

use crate::dashboard::{Dashboard, PASSWORD};
use crate::hostile::closed_by_server;
use crate::multinode::shared_database;
use crate::restart::Serve;
use crate::support::WsClient;

const OWNER: &str = "owner@example.com";

/// The operator account `OWNER` with the test password, made with the CLI on `db`.
fn operator(db: &Path) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_webqris"))
        .args([
            "account",
            "create",
            "--operator",
            "--email",
            OWNER,
            "--json",
            "--db",
        ])
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(PASSWORD.as_bytes())
        .expect("password written");
    let output = child.wait_with_output().expect("it exits");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Two nodes started with `env` on a fresh shared database that has the operator account (the
/// directory holds it), or `None` on a SQLite-only run.
async fn two_nodes(env: &[(&str, &str)]) -> Option<(tempfile::TempDir, Serve, Serve)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shared_database(dir.path())?;
    operator(&db);
    let a = Serve::start(&db, env).await;
    let b = Serve::start(&db, env).await;
    Some((dir, a, b))
}

/// Logs in to `node` as `OWNER` with `password`.
async fn log_in(node: &Serve, password: &str) -> (Dashboard, StatusCode, Option<String>) {
    let mut tab = Dashboard::open_at(&node.base).await;
    let raw = tab.submit("/dashboard/api/login", OWNER, password).await;
    let retry_after = raw.header("retry-after").map(str::to_owned);
    (tab, raw.status, retry_after)
}

#[tokio::test]
async fn wrong_passwords_sent_to_either_node_count_together_and_lock_the_name_on_both() {
    let Some((_dir, a, b)) = two_nodes(&[("WEBQRIS_LOGIN_MAX_FAILURES", "3")]).await else {
        return;
    };
    // Three wrong passwords, spread A, B, A: neither node alone has seen three.
    for node in [&a, &b, &a] {
        let (_, status, _) = log_in(node, "salah-tebak-sandi").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The name is locked on both: even the right password is refused, and no session starts.
    for node in [&b, &a] {
        let (tab, status, retry_after) = log_in(node, PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "on {}", node.base);
        let secs: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
        assert!((1..=900).contains(&secs), "Retry-After {secs}");
        assert!(tab.session.is_none(), "no session on {}", node.base);
    }
}

#[tokio::test]
async fn revoking_a_token_or_logging_out_on_one_node_closes_the_sockets_open_on_the_other() {
    let Some((_dir, a, b)) = two_nodes(&[]).await else {
        return;
    };
    let (tab, status, _) = log_in(&a, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (id, token, _) = tab.ready_merchant("Toko Dua Node", None).await;
    let ws = b.base.replacen("http://", "ws://", 1);
    let mut merchant_socket = WsClient::connect(&format!("{ws}/ws/merchant?token={token}")).await;
    let mut session_socket = tab.live_socket_on(&b.base).await;

    tab.revoke_newest_token(id).await;
    assert!(
        closed_by_server(&mut merchant_socket).await.is_some(),
        "node B closes the socket of the token revoked on node A"
    );

    let (status, _) = tab
        .post("/dashboard/api/logout", &serde_json::json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        closed_by_server(&mut session_socket).await.is_some(),
        "node B closes the socket of the session ended on node A"
    );
}
