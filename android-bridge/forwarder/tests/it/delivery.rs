//! The delivery rules of the forwarder, one test per rule, against a scripted loopback server: what is
//! sent, and how each fault heals (refusals, a proxy's page, a redirect, an item the server keeps failing,
//! a timeout, an unreachable server) without a person and without one item holding back the others.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use webqris_core::event::{self, NotificationEvent};
use webqris_forwarder::{
    DeliveryState, Error, Health, Incoming, ProblemKind, StatusObserver, Submitted,
};

use crate::support::*;

fn queued(outcome: Submitted) -> String {
    match outcome {
        Submitted::Queued { event_hash } => event_hash,
        other => panic!("expected Queued, got {other:?}"),
    }
}

/// Fills the outbox in `dir` with `items` while the server is down, so that the next forwarder on it
/// starts with the whole queue due at once (a test of ordering must not race the worker).
fn queue_while_down(dir: &tempfile::TempDir, items: &[Incoming]) -> Vec<String> {
    let offline = open(config(&format!("http://{}", closed_port()), dir));
    let hashes = items
        .iter()
        .map(|n| queued(offline.submit(n).expect("submit")))
        .collect();
    offline.shutdown();
    hashes
}

fn messages(server: &mut ScriptedServer) -> Vec<String> {
    server
        .drain_received()
        .into_iter()
        .filter(|r| r.path == "/api/webhook/payment")
        .map(|r| r.body["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_notification_is_posted_exactly_in_the_contract_shape_with_its_kind() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let mut n = dana("short", 1_774_088_123_000);
    n.big_text = Some("Rp29.000 diterima DANA Bisnis.".into());
    n.category = Some("status".into());
    n.template = Some("android.app.Notification$BigTextStyle".into());
    n.channel_id = Some("payment_channel".into());
    let hash = queued(fwd.submit(&n).expect("submit"));
    let got = server.next_request(WAIT);
    assert_eq!(got.path, "/api/webhook/payment");
    assert_eq!(
        got.authorization.as_deref(),
        Some(&*format!("Bearer {SECRET}"))
    );
    let expected_hash = event::event_hash(&NotificationEvent {
        app: "id.dana",
        key: &n.key,
        post_time_ms: n.post_time_ms,
        title: "Pembayaran Masuk",
        text: "Rp29.000 diterima DANA Bisnis.",
    });
    assert_eq!(hash, expected_hash);
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
            "category": "status",
            "template": "android.app.Notification$BigTextStyle",
            "channel_id": "payment_channel",
        })
    );
    let drained = fwd.wait_until_drained(WAIT);
    assert!(drained.drained, "{drained:?}");
    let entry = fwd.log_entry(&hash).expect("log").expect("logged");
    assert_eq!(entry.state, DeliveryState::Sent);
    assert_eq!(entry.http_status, Some(200));
    assert_eq!(entry.invoice_id.as_deref(), Some("INV-1"));
}

#[test]
fn items_due_together_are_delivered_in_arrival_order() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-x"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    for i in 0..5 {
        fwd.submit(&dana(&format!("Rp{i}.000 diterima DANA Bisnis."), 1000 + i))
            .expect("submit");
    }
    assert!(fwd.wait_until_drained(WAIT).drained);
    let expected: Vec<String> = (0..5)
        .map(|i| format!("Rp{i}.000 diterima DANA Bisnis."))
        .collect();
    assert_eq!(messages(&mut server), expected);
}

#[test]
fn the_same_event_is_sent_once() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let n = dana("Rp29.000 diterima DANA Bisnis.", 5);
    assert!(matches!(fwd.submit(&n), Ok(Submitted::Queued { .. })));
    assert!(matches!(fwd.submit(&n), Ok(Submitted::AlreadySeen { .. })));
    assert!(fwd.wait_until_drained(WAIT).drained);
    assert!(
        matches!(fwd.submit(&n), Ok(Submitted::AlreadySeen { .. })),
        "re-delivery after the send"
    );
    assert_eq!(server.drain_received().len(), 1);
}

#[test]
fn a_repost_with_a_new_post_time_is_a_new_event() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    fwd.submit(&dana("Rp29.000 diterima DANA Bisnis.", 5))
        .expect("submit");
    fwd.submit(&dana("Rp29.000 diterima DANA Bisnis.", 6))
        .expect("submit");
    assert!(fwd.wait_until_drained(WAIT).drained);
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
    let hash = queued(
        fwd.submit(&dana("Rp29.000 diterima DANA Bisnis.", 5))
            .expect("submit"),
    );
    let first = server.next_request(WAIT);
    let second = server.next_request(WAIT);
    let third = server.next_request(WAIT);
    assert!(
        second.at.duration_since(first.at) >= Duration::from_millis(950),
        "Retry-After: 1 must hold the retry for a second (our own schedule says 20 ms)"
    );
    assert!(third.at > second.at);
    assert!(fwd.wait_until_drained(WAIT).drained);
    let entry = fwd.log_entry(&hash).expect("log").expect("logged");
    assert_eq!(entry.attempts, 2, "two failed attempts recorded");
    assert_eq!(entry.state, DeliveryState::Sent);
}

/// Fault: one 401 (a secret being rotated, a proxy's hiccup). Before: delivery stopped for good until a
/// tap or a restart. Now: shown as a refusal, retried at the refusal schedule's first step, healed.
#[test]
fn one_401_is_shown_as_a_refusal_and_heals_by_itself() {
    let mut server = ScriptedServer::start(
        vec![Reply::json(
            401,
            json!({"success": false, "message": "Invalid callback secret"}),
        )],
        Reply::paid("INV-1"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let feed = HealthFeed::watch(&fwd);
    let first = queued(
        fwd.submit(&dana("Rp29.000 diterima DANA Bisnis.", 5))
            .expect("submit"),
    );
    fwd.submit(&dana("Rp10 diterima DANA Bisnis.", 6))
        .expect("submit");
    let refused = feed.until("refused", |h| problem_kind(h) == Some(ProblemKind::Refused));
    let problem = refused.problem.expect("a problem");
    assert_eq!(problem.http_status, Some(401));
    assert!(
        problem.message.contains("refused the callback secret"),
        "{problem:?}"
    );
    let healed = fwd.wait_until_drained(WAIT);
    assert!(healed.drained, "no tap needed: {healed:?}");
    assert_eq!(healed.problem, None, "the refusal is cleared by the answer");
    assert_eq!(
        messages(&mut server),
        [
            "Rp29.000 diterima DANA Bisnis.",
            "Rp29.000 diterima DANA Bisnis.",
            "Rp10 diterima DANA Bisnis."
        ]
    );
    let entry = fwd.log_entry(&first).expect("log").expect("logged");
    assert_eq!(
        entry.attempts, 0,
        "a refusal is not the item's failed attempt"
    );
}

/// Fault: one 403 with a web application firewall's HTML page. Before: delivery stopped for good, with
/// the page's first line as the error. Now: the page's title is shown, and it heals by itself.
#[test]
fn one_403_with_a_firewalls_html_page_is_shown_in_words_and_heals() {
    let page = "<!DOCTYPE html>\n<html lang=\"en-US\"><head>\n<title>Attention Required! | Cloudflare</title>\n</head><body><h1>Sorry, you have been blocked</h1></body></html>";
    let mut server = ScriptedServer::start(vec![Reply::html(403, page)], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let feed = HealthFeed::watch(&fwd);
    fwd.submit(&dana("Rp29.000 diterima DANA Bisnis.", 5))
        .expect("submit");
    let refused = feed.until("refused", |h| problem_kind(h) == Some(ProblemKind::Refused));
    assert_eq!(
        refused.problem.expect("problem").message,
        "the server or a proxy in front of it refused the request (HTTP 403): Attention Required! | Cloudflare"
    );
    assert!(fwd.wait_until_drained(WAIT).drained);
    assert_eq!(
        messages(&mut server).len(),
        2,
        "refused once, then delivered"
    );
}

/// Fault: a 302 (a proxy sending us to a login page). Before: delivery stopped for good. Now: shown with
/// where it points, retried, healed when the redirect goes away. A redirect is never followed: a
/// redirected POST would silently become a GET.
#[test]
fn a_redirect_is_shown_with_its_target_never_followed_and_heals() {
    let mut server = ScriptedServer::start(
        vec![Reply::html(302, "").with_header("location", "https://sso.example.com/login")],
        Reply::paid("INV-1"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let feed = HealthFeed::watch(&fwd);
    fwd.submit(&dana("Rp29.000 diterima DANA Bisnis.", 5))
        .expect("submit");
    let refused = feed.until("refused", |h| problem_kind(h) == Some(ProblemKind::Refused));
    let problem = refused.problem.expect("problem");
    assert_eq!(problem.http_status, Some(302));
    assert!(
        problem.message.contains("https://sso.example.com/login"),
        "{problem:?}"
    );
    assert!(fwd.wait_until_drained(WAIT).drained);
    let paths: Vec<String> = server
        .drain_received()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        paths,
        ["/api/webhook/payment", "/api/webhook/payment"],
        "never followed"
    );
}

/// A refusal that lasts is retried again and again on its (slower, capped) schedule, never charged to
/// the items, and the queue is kept whole until it heals.
#[test]
fn a_lasting_refusal_keeps_being_retried_and_keeps_the_queue() {
    let refusal = || {
        Reply::json(
            401,
            json!({"success": false, "message": "Invalid callback secret"}),
        )
    };
    let mut server = ScriptedServer::start(
        vec![refusal(), refusal(), refusal(), refusal()],
        Reply::paid("INV-1"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    for i in 0..3 {
        fwd.submit(&dana(&format!("Rp{i}0.000 diterima"), i))
            .expect("submit");
    }
    assert!(fwd.wait_until_drained(WAIT).drained);
    let sent = messages(&mut server);
    assert_eq!(sent.len(), 4 + 3, "four refused tries, then each item once");
    for entry in fwd.recent_log(10).expect("log") {
        assert_eq!((entry.state, entry.attempts), (DeliveryState::Sent, 0));
    }
}

/// Fault: the server fails one notification forever (HTTP 500). Before: every notification behind it
/// waited forever. Now: the others are delivered at once; the failing one is retried on its own
/// schedule, then parked, visible with its error.
#[test]
fn a_500_forever_on_one_item_does_not_hold_back_the_items_behind_it() {
    let bad = "Rp99.999 diterima";
    let mut server = ScriptedServer::with_rules(
        vec![
            Reply::json(500, json!({"success": false, "message": "Internal error"})).only_for(bad),
        ],
        vec![],
        Reply::paid("INV-1"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut items = vec![dana(bad, 1)];
    items.extend((0..3).map(|i| dana(&format!("Rp{i}1.000 diterima"), 10 + i)));
    let stuck = queue_while_down(&dir, &items).remove(0);
    let fwd = open(config(&server.url(), &dir));
    let feed = HealthFeed::watch(&fwd);
    let parked = feed.until("a parked item", |h| h.parked == 1 && h.pending == 1);
    let problem = parked.problem.expect("parked items are a problem");
    assert_eq!(problem.kind, ProblemKind::Parked);
    assert!(problem.message.contains("500"), "{problem:?}");
    let sent = messages(&mut server);
    assert_eq!(
        &sent[..4],
        [
            bad,
            "Rp01.000 diterima",
            "Rp11.000 diterima",
            "Rp21.000 diterima"
        ],
        "the good items go right after the first failure"
    );
    assert_eq!(sent.iter().filter(|m| *m == bad).count(), 4, "max_attempts");
    let entry = fwd.log_entry(&stuck).expect("log").expect("logged");
    assert_eq!(entry.state, DeliveryState::Parked);
    assert_eq!(entry.attempts, 4);
    assert!(
        entry
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("Internal error")),
        "{entry:?}"
    );
    let drained = fwd.wait_until_drained(WAIT);
    assert_eq!(
        (drained.drained, drained.pending, drained.parked),
        (false, 1, 1),
        "waiting longer would not help: the wait ends"
    );
}

/// Fault: the server never answers one notification (a timeout). It is that item's failed attempt: the
/// others are delivered meanwhile.
#[test]
fn a_timeout_is_the_items_failed_attempt_and_the_others_go_on() {
    let slow = "Rp77.777 diterima";
    let mut server = ScriptedServer::with_rules(
        vec![Reply::hang().only_for(slow)],
        vec![],
        Reply::paid("INV-1"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let hung = queue_while_down(
        &dir,
        &[
            dana(slow, 1),
            dana("Rp12.000 diterima", 2),
            dana("Rp13.000 diterima", 3),
        ],
    )
    .remove(0);
    let mut cfg = config(&server.url(), &dir);
    cfg.request_timeout = Duration::from_millis(300);
    let fwd = open(cfg);
    let feed = HealthFeed::watch(&fwd);
    feed.until("the slow one parked", |h| h.parked == 1 && h.pending == 1);
    let sent = messages(&mut server);
    assert_eq!(&sent[..3], [slow, "Rp12.000 diterima", "Rp13.000 diterima"]);
    let entry = fwd.log_entry(&hung).expect("log").expect("logged");
    assert_eq!((entry.state, entry.attempts), (DeliveryState::Parked, 4));
    assert_eq!(
        entry.last_error.as_deref(),
        Some("the server did not answer in time")
    );
}

/// An unreachable server is nobody's item's fault: nothing is charged or parked, and the queue is
/// delivered by itself once the server is back.
#[test]
fn an_unreachable_server_charges_no_item_and_the_queue_heals_by_itself() {
    let port = closed_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&format!("http://{port}"), &dir));
    let feed = HealthFeed::watch(&fwd);
    for i in 0..2 {
        fwd.submit(&dana(&format!("Rp{i}5.000 diterima"), i))
            .expect("submit");
    }
    let down = feed.until("unreachable", |h| {
        problem_kind(h) == Some(ProblemKind::Unreachable)
    });
    assert!(
        down.problem
            .expect("problem")
            .message
            .contains("cannot connect to the server")
    );
    let mut server = ScriptedServer::start_on(port, vec![], Reply::paid("INV-1"));
    let healed = fwd.wait_until_drained(WAIT);
    assert!(healed.drained, "no tap needed: {healed:?}");
    assert_eq!(messages(&mut server).len(), 2);
    for entry in fwd.recent_log(10).expect("log") {
        assert_eq!(entry.attempts, 0, "{entry:?}");
    }
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
        fwd.submit(&dana(text, i as i64)).expect("submit");
    }
    assert!(fwd.wait_until_drained(WAIT).drained);
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
            .submit(&dana(&format!("Rp{i}1.000 diterima DANA Bisnis."), i))
            .expect("submit");
    }
    let waiting = first.wait_until_drained(Duration::from_millis(100));
    assert_eq!(waiting.pending, 3, "server down: everything stays queued");
    first.shutdown();
    drop(first);

    let mut server = ScriptedServer::start_on(port, vec![], Reply::paid("INV-1"));
    let second = open(config(&server.url(), &dir));
    assert!(second.wait_until_drained(WAIT).drained);
    assert_eq!(
        messages(&mut server),
        [
            "Rp01.000 diterima DANA Bisnis.",
            "Rp11.000 diterima DANA Bisnis.",
            "Rp21.000 diterima DANA Bisnis."
        ]
    );
}

#[test]
fn apps_that_are_not_watched_and_empty_summaries_are_neither_kept_nor_sent() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let mut whatsapp = dana("Rp29.000 diterima", 1);
    whatsapp.app = "com.whatsapp".into();
    assert_eq!(
        fwd.submit(&whatsapp).expect("submit"),
        Submitted::AppNotEnabled
    );
    assert_eq!(
        fwd.submit(&dana("  ", 2)).expect("submit"),
        Submitted::Empty
    );
    assert!(fwd.recent_log(10).expect("log").is_empty());
    assert!(server.drain_received().is_empty());
}

/// Issue 8: the phone's parser no longer decides what is sent; its verdict is only logged.
#[test]
fn every_notification_of_a_watched_app_is_sent_and_the_phones_verdict_only_logged() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let promo = "Hadiah miliaran, cek! Transferan ke sesama buat dapetin puzzle";
    let hash = queued(fwd.submit(&dana(promo, 1)).expect("submit"));
    assert!(fwd.wait_until_drained(WAIT).drained);
    assert_eq!(messages(&mut server), [promo]);
    let entry = fwd.log_entry(&hash).expect("log").expect("logged");
    assert_eq!(entry.state, DeliveryState::Sent);
    assert_eq!(entry.verdict_json, r#"{"incoming":false,"reason":"promo"}"#);
}

/// Issue 8: no one-time code leaves the phone, neither in the text nor through the event hash.
#[test]
fn a_one_time_code_is_sent_masked() {
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let mut otp = dana(
        "Kode OTP kamu 482913. JANGAN BERIKAN kode ini ke siapa pun.",
        1,
    );
    otp.title = "DANA 482913".into();
    let hash = queued(fwd.submit(&otp).expect("submit"));
    let got = server.next_request(WAIT);
    assert_eq!(
        got.body["message"],
        "Kode OTP kamu ******. JANGAN BERIKAN kode ini ke siapa pun."
    );
    assert_eq!(got.body["title"], "DANA ******");
    assert!(!got.body.to_string().contains("482913"));
    let over_masked = event::event_hash(&NotificationEvent {
        app: "id.dana",
        key: &otp.key,
        post_time_ms: 1,
        title: "DANA ******",
        text: "Kode OTP kamu ******. JANGAN BERIKAN kode ini ke siapa pun.",
    });
    assert_eq!(got.body["event_hash"], over_masked);
    assert_eq!(hash, over_masked);
    assert!(fwd.log_entry(&hash).expect("log").expect("logged").masked);
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
        Err(Error::Unauthorized { status: 401, .. })
    ));
    let down = open(config(
        &format!("http://{}", closed_port()),
        &tempfile::tempdir().expect("t"),
    ));
    assert!(matches!(down.test_connection(), Err(Error::Network { .. })));
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
    fwd.set_notification_access(true);
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
        json!({"device_id": "device-01", "app_version": "0.1.0", "listener_connected": true,
               "outbox_pending": 0, "last_notification_at": null, "oldest_pending_age_secs": null,
               "parked_count": 0, "last_delivery_error": null, "notification_access": true})
    );
    assert!(fwd.status().expect("status").last_heartbeat_at_ms.is_some());
}

/// Issue 10: the heartbeat tells the server when the phone is alive but cannot deliver.
#[test]
fn the_heartbeat_reports_a_queue_that_cannot_be_delivered() {
    let bad = "Rp99.999 diterima";
    let mut server = ScriptedServer::with_rules(
        vec![
            Reply::json(500, json!({"success": false, "message": "Internal error"})).only_for(bad),
        ],
        vec![],
        Reply::json(
            200,
            json!({"success": true, "merchant": "Toko ABC", "server_time": "2026-03-21T10:15:23.000Z", "heartbeat_interval_secs": 300}),
        ),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config(&server.url(), &dir));
    let feed = HealthFeed::watch(&fwd);
    fwd.set_notification_access(false);
    fwd.submit(&dana(bad, 1)).expect("submit");
    feed.until("parked", |h| h.parked == 1);
    server.drain_received();
    fwd.send_heartbeat().expect("heartbeat");
    let beat = server.next_request(WAIT);
    assert_eq!(beat.path, "/api/forwarder/heartbeat");
    assert_eq!(beat.body["outbox_pending"], 1);
    assert_eq!(beat.body["parked_count"], 1);
    assert!(
        beat.body["oldest_pending_age_secs"]
            .as_i64()
            .is_some_and(|s| s >= 0)
    );
    assert_eq!(beat.body["notification_access"], false);
    assert!(
        beat.body["last_delivery_error"]
            .as_str()
            .is_some_and(|e| e.contains("HTTP 500")),
        "{}",
        beat.body
    );
}

#[test]
fn bad_settings_are_refused_with_the_setting_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config("127.0.0.1:8080", &dir);
    match webqris_forwarder::Forwarder::open(cfg.clone()) {
        Err(Error::Config { setting, .. }) => assert_eq!(setting, "server_url"),
        other => panic!("expected a config error, got {other:?}"),
    }
    cfg.server_url = "http://127.0.0.1:8080".into();
    cfg.callback_secret = " ".into();
    match webqris_forwarder::Forwarder::open(cfg.clone()) {
        Err(Error::Config { setting, .. }) => assert_eq!(setting, "callback_secret"),
        other => panic!("expected a config error, got {other:?}"),
    }
    cfg.callback_secret = SECRET.into();
    cfg.max_attempts = 0;
    match webqris_forwarder::Forwarder::open(cfg) {
        Err(Error::Config { setting, .. }) => assert_eq!(setting, "max_attempts"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn a_shut_down_forwarder_refuses_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = open(config("http://127.0.0.1:9", &dir));
    fwd.shutdown();
    assert_eq!(fwd.submit(&dana("x", 1)), Err(Error::ShutDown));
}

/// Every row of the shared notification corpus through the phone: each is sent (the server decides),
/// the phone's verdict logged is the core's, and no row the core reads as an OTP leaves with a digit.
#[test]
fn every_corpus_row_is_sent_with_the_cores_verdict_logged_and_no_otp_digit() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus/notifications.tsv");
    let text = std::fs::read_to_string(&corpus).expect("corpus vendored in tests/corpus");
    let mut server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&server.url(), &dir);
    cfg.enabled_apps = None;
    let fwd = open(cfg);
    let mut rows = 0;
    for (i, line) in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("expect\t"))
        .enumerate()
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (app, title, body) = (cols[4], cols[5], cols[6].replace("\\n", "\n"));
        let core = webqris_core::notification::parse(&webqris_core::notification::Notification {
            app,
            title,
            text: &body,
            big_text: None,
        });
        let mut n = dana(&body, 1_000 + i as i64);
        n.app = app.into();
        n.title = title.into();
        let hash = queued(fwd.submit(&n).expect("submit"));
        let entry = fwd.log_entry(&hash).expect("log").expect("logged");
        assert_eq!(
            entry.verdict_json,
            serde_json::to_string(&core).expect("verdict json"),
            "row {i}"
        );
        let otp = core
            == (webqris_core::notification::Verdict::NotIncoming {
                reason: webqris_core::notification::Reason::Otp,
            });
        if otp {
            assert!(
                !entry.message.chars().any(char::is_numeric),
                "row {i}: {:?}",
                entry.message
            );
        }
        rows += 1;
    }
    assert!(rows > 30, "the corpus has its rows ({rows})");
    assert!(fwd.wait_until_drained(WAIT).drained);
    assert_eq!(messages(&mut server).len(), rows);
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
    cfg.heartbeat_interval = Duration::from_secs(1);
    let fwd = open(cfg);
    let beat = server.next_request(WAIT);
    assert_eq!(beat.path, "/api/forwarder/heartbeat");
    assert_eq!(beat.body["device_id"], "device-01");
    fwd.shutdown();
}

/// Two threads change the health at once and the older one's call reaches the observer last (the
/// observer is called outside the lock). Before: the persistent notification kept the stale health
/// ("listener terputus · 1 antre" after the queue had drained). Now: the newest health is told last.
#[test]
fn the_observer_is_told_the_newest_health_last_when_two_changes_race() {
    struct Racing {
        seen: Mutex<Vec<Health>>,
        armed: std::sync::atomic::AtomicBool,
        blocked: Mutex<std::sync::mpsc::Sender<()>>,
        release: Mutex<std::sync::mpsc::Receiver<()>>,
    }
    impl StatusObserver for Racing {
        fn health_changed(&self, health: &Health) {
            // The first call after arming holds its thread until the test has published a newer health.
            if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
                self.blocked
                    .lock()
                    .expect("lock")
                    .send(())
                    .expect("test waits");
                self.release
                    .lock()
                    .expect("lock")
                    .recv_timeout(WAIT)
                    .expect("released");
            }
            self.seen.lock().expect("lock").push(health.clone());
        }
    }

    let server = ScriptedServer::start(vec![], Reply::paid("INV-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let fwd = Arc::new(open(config(&server.url(), &dir)));
    fwd.set_listener_connected(true);
    let (blocked_tx, blocked) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let observer = Arc::new(Racing {
        seen: Mutex::new(Vec::new()),
        armed: std::sync::atomic::AtomicBool::new(false),
        blocked: Mutex::new(blocked_tx),
        release: Mutex::new(release_rx),
    });
    fwd.set_observer(Some(observer.clone()));
    observer
        .armed
        .store(true, std::sync::atomic::Ordering::SeqCst);

    let older = {
        let fwd = fwd.clone();
        std::thread::spawn(move || fwd.set_listener_connected(false))
    };
    blocked
        .recv_timeout(WAIT)
        .expect("the older change reached the observer");
    fwd.set_notification_access(true);
    release.send(()).expect("older call waits");
    older.join().expect("older change");

    let seen = observer.seen.lock().expect("lock");
    let last = seen.last().expect("told");
    assert!(!last.listener_connected, "{seen:?}");
    assert_eq!(last.notification_access, Some(true), "{seen:?}");
}
