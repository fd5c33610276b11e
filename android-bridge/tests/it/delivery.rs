//! The delivery rules of the forwarder, one test per rule, against a scripted loopback server.

use std::time::Duration;

use serde_json::json;
use webqris_android::{DeliveryState, ForwarderError, SubmitOutcome};
use webqris_core::event::{self, NotificationEvent};

use crate::support::*;

#[test]
fn a_notification_is_posted_exactly_in_the_contract_shape() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let mut n = dana("short", 1_774_088_123_000);
    n.big_text = Some("Rp29.000 diterima DANA Bisnis.".into());
    let outcome = fwd.submit(n.clone()).expect("submit");
    let got = server.next_request(WAIT);
    assert_eq!(got.path, "/api/webhook/payment");
    assert_eq!(
        got.authorization.as_deref(),
        Some(&*format!("Bearer {SECRET}"))
    );
    let hash = event::event_hash(&NotificationEvent {
        app: "id.dana",
        key: &n.key,
        post_time_ms: n.post_time_ms,
        title: "Pembayaran Masuk",
        text: "Rp29.000 diterima DANA Bisnis.",
    });
    assert_eq!(
        outcome,
        SubmitOutcome::Queued {
            event_hash: hash.clone()
        }
    );
    assert_eq!(
        got.body,
        json!({
            "app": "id.dana",
            "title": "Pembayaran Masuk",
            "message": "Rp29.000 diterima DANA Bisnis.",
            "timestamp": "2026-03-21T10:15:23.000Z",
            "device_id": "device-01",
            "notif_id": "0|id.dana|-1|null|10123@1774088123000",
            "event_hash": hash,
        })
    );
    let drained = fwd.wait_until_drained(WAIT_MS);
    assert!(drained.drained, "{drained:?}");
    let entry = fwd.log_entry(hash).expect("log").expect("logged");
    assert_eq!(entry.state, DeliveryState::Sent);
    assert_eq!(entry.http_status, Some(200));
    assert_eq!(entry.invoice_id.as_deref(), Some("INV-1"));
}

#[test]
fn the_queue_is_delivered_in_arrival_order() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-x"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    for i in 0..5 {
        fwd.submit(dana(&format!("Rp{i}.000 diterima DANA Bisnis."), 1000 + i))
            .expect("submit");
    }
    assert!(fwd.wait_until_drained(WAIT_MS).drained);
    let order: Vec<String> = server
        .drain_received()
        .into_iter()
        .map(|r| r.body["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    let expected: Vec<String> = (0..5)
        .map(|i| format!("Rp{i}.000 diterima DANA Bisnis."))
        .collect();
    assert_eq!(order, expected);
}

#[test]
fn the_same_event_is_sent_once() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let first = fwd
        .submit(dana("Rp29.000 diterima DANA Bisnis.", 5))
        .expect("submit");
    let again = fwd
        .submit(dana("Rp29.000 diterima DANA Bisnis.", 5))
        .expect("submit");
    assert!(matches!(first, SubmitOutcome::Queued { .. }));
    assert!(
        matches!(again, SubmitOutcome::AlreadySeen { .. }),
        "{again:?}"
    );
    assert!(fwd.wait_until_drained(WAIT_MS).drained);
    let after = fwd
        .submit(dana("Rp29.000 diterima DANA Bisnis.", 5))
        .expect("submit");
    assert!(
        matches!(after, SubmitOutcome::AlreadySeen { .. }),
        "re-delivery after the send"
    );
    assert_eq!(server.drain_received().len(), 1);
}

#[test]
fn a_repost_with_a_new_post_time_is_a_new_event() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    fwd.submit(dana("Rp29.000 diterima DANA Bisnis.", 5))
        .expect("submit");
    fwd.submit(dana("Rp29.000 diterima DANA Bisnis.", 6))
        .expect("submit");
    assert!(fwd.wait_until_drained(WAIT_MS).drained);
    // The server, not the phone, decides whether identical content is a second payment.
    assert_eq!(server.drain_received().len(), 2);
}

#[test]
fn server_errors_are_retried_and_retry_after_is_honoured() {
    let mut server = ScriptedServer::start(
        vec![
            Reply::json(503, json!({"success": false, "message": "busy"}))
                .with_header("retry-after", "1"),
            Reply::json(500, json!({"success": false, "message": "oops"})),
        ],
        Reply::paid("INV-1"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let outcome = fwd
        .submit(dana("Rp29.000 diterima DANA Bisnis.", 5))
        .expect("submit");
    let first = server.next_request(WAIT);
    let second = server.next_request(WAIT);
    let third = server.next_request(WAIT);
    assert!(
        second.at.duration_since(first.at) >= Duration::from_millis(950),
        "Retry-After: 1 must hold the retry for a second (our own schedule says 20 ms)"
    );
    assert!(third.at > second.at);
    assert!(fwd.wait_until_drained(WAIT_MS).drained);
    let SubmitOutcome::Queued { event_hash } = outcome else {
        panic!("queued")
    };
    let entry = fwd.log_entry(event_hash).expect("log").expect("logged");
    assert_eq!(entry.attempts, 2, "two failed attempts recorded");
    assert_eq!(entry.state, DeliveryState::Sent);
}

#[test]
fn a_refused_secret_stops_delivery_and_keeps_the_queue() {
    let mut server = ScriptedServer::start(
        vec![Reply::json(
            401,
            json!({"success": false, "message": "Invalid callback secret"}),
        )],
        Reply::paid("INV-1"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    fwd.submit(dana("Rp29.000 diterima DANA Bisnis.", 5))
        .expect("submit");
    fwd.submit(dana("Rp10 diterima DANA Bisnis.", 6))
        .expect("submit");
    let stopped = fwd.wait_until_drained(WAIT_MS);
    assert!(!stopped.drained);
    assert_eq!(stopped.pending, 2);
    let error = stopped
        .config_error
        .expect("a configuration error is surfaced");
    assert!(error.contains("401"), "{error}");
    assert_eq!(
        fwd.status().expect("status").config_error.as_deref(),
        Some(&*error)
    );
    assert_eq!(
        server.drain_received().len(),
        1,
        "no retries against a refused secret"
    );
    // The user fixes the settings: delivery resumes with the same queue, in order.
    fwd.retry_now().expect("retry");
    assert!(fwd.wait_until_drained(WAIT_MS).drained);
    let resent: Vec<_> = server
        .drain_received()
        .into_iter()
        .map(|r| r.body["message"].clone())
        .collect();
    assert_eq!(
        resent,
        [
            json!("Rp29.000 diterima DANA Bisnis."),
            json!("Rp10 diterima DANA Bisnis.")
        ]
    );
}

#[test]
fn no_match_no_amount_and_duplicate_answers_complete_the_item() {
    let mut server = ScriptedServer::start(
        vec![
            Reply::json(
                404,
                json!({"success": false, "message": "No matching pending payment", "parsed_amount": 29000, "merchant": "Toko ABC"}),
            ),
            Reply::json(
                422,
                json!({"success": false, "message": "Tidak dapat mendeteksi nominal dari notifikasi", "raw_message": "x"}),
            ),
            Reply::json(
                200,
                json!({"success": false, "message": "Duplicate notification", "notif_id": "k@7"}),
            ),
        ],
        Reply::json(
            500,
            json!({"success": false, "message": "unexpected extra request"}),
        ),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    for (i, text) in ["Rp29.000 diterima", "halo", "Rp10 diterima"]
        .iter()
        .enumerate()
    {
        fwd.submit(dana(text, i as i64)).expect("submit");
    }
    assert!(fwd.wait_until_drained(WAIT_MS).drained);
    assert_eq!(
        server.drain_received().len(),
        3,
        "each answered once, none retried"
    );
    let log = fwd.recent_log(10).expect("log");
    let answers: Vec<_> = log
        .iter()
        .rev()
        .map(|e| {
            (
                e.state,
                e.http_status,
                e.server_message.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(answers[0].1, Some(404));
    assert!(answers[0].2.contains("No matching pending payment"));
    assert_eq!(answers[1].1, Some(422));
    assert_eq!(
        answers[2],
        (
            DeliveryState::Sent,
            Some(200),
            "Duplicate notification".into()
        )
    );
}

#[test]
fn a_queue_left_by_a_closed_forwarder_is_delivered_by_the_next_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let first = open(config(&format!("http://{port}"), &dir));
    for i in 0..3 {
        first
            .submit(dana(&format!("Rp{i}1.000 diterima DANA Bisnis."), i))
            .expect("submit");
    }
    let waiting = first.wait_until_drained(100);
    assert_eq!(waiting.pending, 3, "server down: everything stays queued");
    first.shutdown();
    drop(first);

    let mut server = ScriptedServer::start_on(port, vec![], Reply::paid("INV-1"));
    let second = open(config(&server.url(), &dir));
    assert!(second.wait_until_drained(WAIT_MS).drained);
    let sent: Vec<_> = server
        .drain_received()
        .into_iter()
        .map(|r| r.body["message"].clone())
        .collect();
    assert_eq!(
        sent,
        [
            json!("Rp01.000 diterima DANA Bisnis."),
            json!("Rp11.000 diterima DANA Bisnis."),
            json!("Rp21.000 diterima DANA Bisnis.")
        ]
    );
}

#[test]
fn apps_that_are_not_enabled_and_empty_summaries_are_neither_kept_nor_sent() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let mut whatsapp = dana("Rp29.000 diterima", 1);
    whatsapp.app = "com.whatsapp".into();
    assert_eq!(
        fwd.submit(whatsapp).expect("submit"),
        SubmitOutcome::AppNotEnabled
    );
    assert_eq!(
        fwd.submit(dana("  ", 2)).expect("submit"),
        SubmitOutcome::Empty
    );
    assert!(fwd.recent_log(10).expect("log").is_empty());
    assert!(server.drain_received().is_empty());
}

#[test]
fn by_default_only_incoming_payments_are_sent() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&server.url(), &dir);
    cfg.send_all = false;
    let fwd = open(cfg);
    let promo = fwd
        .submit(dana(
            "Hadiah miliaran, cek! Transferan ke sesama buat dapetin puzzle",
            1,
        ))
        .expect("submit");
    assert!(matches!(promo, SubmitOutcome::Ignored { .. }), "{promo:?}");
    let entry = fwd
        .recent_log(1)
        .expect("log")
        .pop()
        .expect("logged for the UI");
    assert_eq!(entry.state, DeliveryState::Ignored);
    assert!(!entry.verdict.is_incoming());
    assert_eq!(fwd.pending_count().expect("count"), 0);
    assert!(server.drain_received().is_empty());
}

#[test]
fn the_connection_test_returns_the_servers_message_or_a_clear_error() {
    let msg = "Koneksi berhasil! Auth valid ✓ (Merchant: Toko ABC)";
    let mut server = ScriptedServer::start(
        vec![
            Reply::json(200, json!({"success": true, "message": msg, "test": true})),
            Reply::json(
                401,
                json!({"success": false, "message": "Invalid callback secret"}),
            ),
        ],
        Reply::paid("INV-1"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    assert_eq!(fwd.test_connection().expect("test"), msg);
    let sent = server.next_request(WAIT);
    assert_eq!(sent.body["event_hash"], "test");
    assert!(matches!(
        fwd.test_connection(),
        Err(ForwarderError::Unauthorized { status: 401, .. })
    ));
    let down = open(config(
        &format!("http://{}", closed_port()),
        &tempfile::tempdir().expect("t"),
    ));
    assert!(matches!(
        down.test_connection(),
        Err(ForwarderError::Network { .. })
    ));
}

#[test]
fn the_heartbeat_reports_the_phones_state() {
    let mut server = ScriptedServer::start(
        vec![Reply::json(
            200,
            json!({"success": true, "merchant": "Toko ABC", "server_time": "2026-03-21T10:15:23.000Z", "heartbeat_interval_secs": 300}),
        )],
        Reply::paid("INV-1"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    fwd.set_listener_connected(true);
    let answer = fwd.send_heartbeat().expect("heartbeat");
    assert_eq!(answer.merchant.as_deref(), Some("Toko ABC"));
    assert_eq!(answer.heartbeat_interval_secs, Some(300));
    let got = server.next_request(WAIT);
    assert_eq!(got.path, "/api/forwarder/heartbeat");
    assert_eq!(
        got.authorization.as_deref(),
        Some(&*format!("Bearer {SECRET}"))
    );
    assert_eq!(
        got.body,
        json!({"device_id": "device-01", "app_version": "0.1.0", "listener_connected": true, "outbox_pending": 0, "last_notification_at": null})
    );
    assert!(fwd.status().expect("status").last_heartbeat_at_ms.is_some());
}

#[test]
fn bad_settings_are_refused_with_the_setting_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config("127.0.0.1:8080", &dir);
    match webqris_android::Forwarder::new(cfg.clone()) {
        Err(ForwarderError::Config { setting, .. }) => assert_eq!(setting, "server_url"),
        other => panic!("expected a config error, got {other:?}"),
    }
    cfg.server_url = "http://127.0.0.1:8080".into();
    cfg.callback_secret = " ".into();
    match webqris_android::Forwarder::new(cfg) {
        Err(ForwarderError::Config { setting, .. }) => assert_eq!(setting, "callback_secret"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn a_shut_down_forwarder_refuses_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config("http://127.0.0.1:9", &dir));
    fwd.shutdown();
    assert_eq!(fwd.submit(dana("x", 1)), Err(ForwarderError::ShutDown));
}

/// Every row of the shared notification corpus through the phone's filter: the phone sends exactly what
/// the core reads as an incoming payment, and never a row the corpus marks as one to ignore.
#[test]
fn the_phone_sends_what_the_core_reads_as_incoming_and_never_an_ignore_row() {
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/notifications.tsv");
    let text = std::fs::read_to_string(&corpus).expect("corpus vendored in tests/corpus");
    let server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&server.url(), &dir);
    cfg.send_all = false;
    cfg.enabled_apps = None;
    let fwd = open(cfg);
    let mut rows = 0;
    for (i, line) in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("expect\t"))
        .enumerate()
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (expect, app, title, body) = (cols[0], cols[4], cols[5], cols[6].replace("\\n", "\n"));
        let core =
            webqris_android::parse_notification(app.into(), title.into(), body.clone(), None);
        let mut n = dana(&body, 1_000 + i as i64);
        n.app = app.into();
        n.title = title.into();
        let outcome = fwd.submit(n).expect("submit");
        let queued = matches!(outcome, SubmitOutcome::Queued { .. });
        assert_eq!(
            queued,
            core.is_incoming(),
            "row {i} ({app}: {body:?}): {outcome:?} vs core {core:?}"
        );
        if expect == "ignore" {
            assert!(
                !queued,
                "row {i} ({app}: {body:?}) must never be sent as a payment"
            );
        }
        rows += 1;
    }
    assert!(rows > 30, "the corpus has its rows ({rows})");
}

#[test]
fn heartbeats_are_sent_periodically_while_the_forwarder_runs() {
    let mut server = ScriptedServer::start(
        vec![],
        Reply::json(
            200,
            json!({"success": true, "merchant": "Toko ABC", "server_time": "2026-03-21T10:15:23.000Z", "heartbeat_interval_secs": 300}),
        ),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&server.url(), &dir);
    cfg.heartbeat_interval_secs = 1;
    let fwd = open(cfg);
    let beat = server.next_request(WAIT);
    assert_eq!(beat.path, "/api/forwarder/heartbeat");
    assert_eq!(beat.body["device_id"], "device-01");
    fwd.shutdown();
}
