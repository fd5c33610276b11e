//! `webqris-forward` as testers run it: JSON lines in, the contract's summary out.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::*;

fn forward(
    server: &str,
    state: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_webqris-forward"))
        .args(["--server", server, "--secret", SECRET, "--state"])
        .arg(state)
        .args(args)
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run webqris-forward");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("wait");
    let body = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "one JSON object on stdout ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.success(), body)
}

#[test]
fn replay_reads_json_lines_from_stdin_and_reports_the_summary() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let state = tempfile::tempdir().expect("tempdir");
    let input = [
        json!({"app": "id.dana", "title": "DANA", "text": "Kamu berhasil menerima Rp25.042 dari JOHN DOE", "post_time_ms": 1_774_088_123_000_i64, "key": "k1"}),
        json!({"app": "id.dana", "title": "DANA", "text": "short", "big_text": "Rp29.000 diterima DANA Bisnis.", "post_time_ms": 1_774_088_124_000_i64}),
        json!({"app": "id.dana", "title": "DANA", "text": "Kamu berhasil menerima Rp25.042 dari JOHN DOE", "post_time_ms": 1_774_088_123_000_i64, "key": "k1"}),
    ]
    .map(|v| v.to_string())
    .join("\n");
    let (ok, summary) = forward(
        &server.url(),
        state.path(),
        &["--send-all", "replay", "-", "--timeout", "10"],
        Some(&input),
    );
    assert!(ok, "{summary}");
    assert_eq!(
        summary,
        json!({"queued": 2, "delivered": 2, "pending": 0, "skipped": 1})
    );
    let sent = server.drain_received();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body["notif_id"], "k1@1774088123000");
    assert_eq!(sent[1].body["message"], "Rp29.000 diterima DANA Bisnis.");
}

#[test]
fn a_bad_line_queues_nothing_and_says_where() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let state = tempfile::tempdir().expect("tempdir");
    let input = format!(
        "{}\n{{\"app\": \"id.dana\", \"text\": 5}}\n",
        json!({"app": "id.dana", "title": "DANA", "text": "Rp10 diterima"})
    );
    let (ok, body) = forward(&server.url(), state.path(), &["replay", "-"], Some(&input));
    assert!(!ok);
    let error = body["error"].as_str().expect("error message");
    assert!(error.contains("stdin line 2"), "{error}");
    assert!(server.drain_received().is_empty());
    let (ok, drained) = forward(
        &server.url(),
        state.path(),
        &["drain", "--timeout", "1"],
        None,
    );
    assert!(ok);
    assert_eq!(
        drained,
        json!({"queued": 0, "delivered": 0, "pending": 0, "skipped": 0}),
        "nothing was kept"
    );
}

#[test]
fn what_a_down_server_left_queued_is_drained_by_a_later_run() {
    let port = closed_port();
    let state = tempfile::tempdir().expect("tempdir");
    let line = json!({"app": "id.dana", "title": "DANA", "text": "Rp29.000 diterima DANA Bisnis.", "post_time_ms": 5}).to_string();
    let (ok, first) = forward(
        &format!("http://{port}"),
        state.path(),
        &["replay", "-", "--timeout", "0.2"],
        Some(&line),
    );
    assert!(ok, "{first}");
    assert_eq!(
        first,
        json!({"queued": 1, "delivered": 0, "pending": 1, "skipped": 0})
    );
    let mut server = ScriptedServer::start_on(port, vec![], Reply::paid("INV-1"));
    let (ok, second) = forward(
        &server.url(),
        state.path(),
        &["drain", "--timeout", "10"],
        None,
    );
    assert!(ok, "{second}");
    assert_eq!(
        second,
        json!({"queued": 0, "delivered": 1, "pending": 0, "skipped": 0})
    );
    assert_eq!(server.drain_received().len(), 1);
}

/// A refusal is retried until the timeout (a hiccup heals within the run); one still in force at the
/// end fails the command, with the queue kept.
#[test]
fn a_refused_secret_fails_the_command_and_keeps_the_queue() {
    let mut server = ScriptedServer::start(
        vec![],
        Reply::json(
            401,
            json!({"success": false, "message": "Invalid callback secret"}),
        ),
    );
    let state = tempfile::tempdir().expect("tempdir");
    let line = json!({"app": "id.dana", "title": "DANA", "text": "Rp29.000 diterima DANA Bisnis."})
        .to_string();
    let (ok, body) = forward(
        &server.url(),
        state.path(),
        &["replay", "-", "--timeout", "1.5"],
        Some(&line),
    );
    assert!(!ok);
    assert_eq!(body["pending"], 1);
    assert!(body["error"].as_str().expect("error").contains("401"));
    assert!(
        server.drain_received().len() > 1,
        "the refusal was retried within the run"
    );
}

/// `replay --timeout` keeps delivering through a refusal (a proxy's 403 page) and a server error.
#[test]
fn replay_keeps_delivering_through_faults_until_its_timeout() {
    let server = ScriptedServer::start(
        vec![
            Reply::html(403, "<html><title>Forbidden</title></html>"),
            Reply::json(503, json!({"success": false, "message": "busy"})),
        ],
        Reply::paid("INV-1"),
    );
    let state = tempfile::tempdir().expect("tempdir");
    let line = json!({"app": "id.dana", "title": "DANA", "text": "Rp29.000 diterima DANA Bisnis."})
        .to_string();
    let (ok, body) = forward(
        &server.url(),
        state.path(),
        &["replay", "-", "--timeout", "20"],
        Some(&line),
    );
    assert!(ok, "{body}");
    assert_eq!(
        body,
        json!({"queued": 1, "delivered": 1, "pending": 0, "skipped": 0})
    );
}

/// The process dies (SIGKILL) while the server holds its request: the item stays queued and the next run
/// sends it again — at-least-once delivery; the server's dedupe on `event_hash` makes the effect once.
#[test]
fn a_process_killed_mid_delivery_sends_the_item_again_next_run() {
    let mut server = ScriptedServer::start(vec![Reply::hang()], Reply::paid("INV-1"));
    let state = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_webqris-forward"))
        .args(["--server", &server.url(), "--secret", SECRET, "--state"])
        .arg(state.path())
        .args(["replay", "-", "--timeout", "60", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run webqris-forward");
    let line = json!({"app": "id.dana", "title": "DANA", "text": "Rp29.000 diterima DANA Bisnis.", "post_time_ms": 7, "key": "k"});
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(line.to_string().as_bytes()).expect("write");
    drop(stdin);
    let first = server.next_request(WAIT);
    child.kill().expect("SIGKILL mid-delivery");
    child.wait().expect("reaped");
    let (ok, summary) = forward(
        &server.url(),
        state.path(),
        &["drain", "--timeout", "10"],
        None,
    );
    assert!(ok, "{summary}");
    assert_eq!(
        summary,
        json!({"queued": 0, "delivered": 1, "pending": 0, "skipped": 0})
    );
    let again = server.next_request(WAIT);
    assert_eq!(again.body["event_hash"], first.body["event_hash"]);
    assert_eq!(again.body["notif_id"], "k@7");
}
