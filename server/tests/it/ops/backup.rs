//! `webqris backup` and `webqris restore`, the real binary against a database the real server is
//! writing: a backup taken under a stream of writes is intact and consistent (every invoice answered
//! before it began is in it, every paid invoice has its webhook delivery, nothing half-written) and,
//! restored, serves a working server; a restore is refused while a server holds the database and keeps
//! the database it replaces.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use webqris_server::db::schema::SCHEMA_VERSION;

use crate::cli::webqris;
use crate::support::{Receiver, TestMerchant, TestServer, dana, within};

/// Runs the `webqris` binary off the async threads; returns (success, its JSON).
async fn run_cli(args: Vec<String>) -> (bool, Value) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        webqris(&args, &[])
    })
    .await
    .expect("the CLI ran")
}

/// `webqris <command> --db DB <flag> FILE --json`.
async fn on_file(command: &str, db: &Path, flag: &str, file: &Path) -> (bool, Value) {
    let path = |p: &Path| p.display().to_string();
    run_cli(vec![
        command.into(),
        "--db".into(),
        path(db),
        flag.into(),
        path(file),
        "--json".into(),
    ])
    .await
}

async fn backup(db: &Path, to: &Path) -> (bool, Value) {
    on_file("backup", db, "--to", to).await
}

async fn restore(db: &Path, from: &Path) -> (bool, Value) {
    on_file("restore", db, "--from", from).await
}

/// A read-only look into a database file, the way an operator would check a copy.
fn open_copy(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("the copy opens")
}

fn strings(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).expect("statement");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect("a count")
}

/// Creates invoices and pays every other one until `stop`; sends each invoice id once its 201 (and,
/// for a paid one, the notification's 200) has been answered.
async fn write_stream(
    server: Arc<TestServer>,
    m: TestMerchant,
    stop: Arc<AtomicBool>,
    acked: mpsc::UnboundedSender<String>,
    offset: i64,
) {
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let invoice = server.create_payment(&m, 1000 * n + offset).await;
        if n % 2 == 0 {
            let total = invoice["total_amount"].as_i64().expect("total");
            let (status, body) = server.notify(&m, &dana(total)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let _ = acked.send(invoice["invoice_id"].as_str().expect("id").to_owned());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_a_stream_of_writes_is_intact_and_consistent() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Arc::new(serve(&dir.path().join("webqris.db")).await);
    let m = server.merchant("Toko ABC", Some(&receiver.url)).await;
    let copy = dir.path().join("webqris-backup.db");

    let stop = Arc::new(AtomicBool::new(false));
    let (acked, mut answered) = mpsc::unbounded_channel();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            tokio::spawn(write_stream(
                Arc::clone(&server),
                m.clone(),
                Arc::clone(&stop),
                acked.clone(),
                w,
            ))
        })
        .collect();
    drop(acked);
    let mut before = Vec::new();
    while before.len() < 100 {
        before.push(
            within("writes answered", answered.recv())
                .await
                .expect("writers run"),
        );
    }
    while let Ok(id) = answered.try_recv() {
        before.push(id);
    }

    let (ok, report) = backup(&server.config.db, &copy).await;
    let mut every = before.clone();
    while let Ok(id) = answered.try_recv() {
        every.push(id);
    }
    let during = every.len() - before.len();
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        within("the writers stop", writer)
            .await
            .expect("writer task");
    }
    while let Ok(id) = answered.try_recv() {
        every.push(id);
    }
    println!(
        "{} invoices answered before the backup, {during} while it ran, {} in all",
        before.len(),
        every.len()
    );
    assert!(ok, "{report}");

    let conn = open_copy(&copy);
    assert_eq!(strings(&conn, "PRAGMA integrity_check"), ["ok"]);
    assert_eq!(
        strings(&conn, "PRAGMA journal_mode"),
        ["delete"],
        "one self-contained file"
    );
    assert!(!PathBuf::from(format!("{}-wal", copy.display())).exists());
    let in_copy = strings(&conn, "SELECT invoice_id FROM payments");
    for id in &before {
        assert!(
            in_copy.contains(id),
            "{id} was answered before the backup began"
        );
    }
    for id in &in_copy {
        assert!(every.contains(id), "{id} in the copy was never answered");
    }
    // What each transaction wrote is in the copy whole or not at all.
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM payments p WHERE p.status = 'paid'
             AND (SELECT COUNT(*) FROM deliveries d WHERE d.payment_id = p.id) <> 1"
        ),
        0,
        "every paid invoice has exactly its one webhook delivery"
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM deliveries d JOIN payments p ON p.id = d.payment_id
             WHERE p.status <> 'paid'"
        ),
        0,
        "no delivery of an unpaid invoice"
    );
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM payments WHERE status = 'paid'"),
        count(
            &conn,
            "SELECT COUNT(*) FROM notifications WHERE outcome = 'paid'"
        ),
        "every paid invoice has the notification that paid it"
    );

    assert_eq!(report["backup"], copy.display().to_string());
    assert_eq!(report["integrity"], "ok");
    assert_eq!(report["schema_version"], SCHEMA_VERSION);
    assert_eq!(
        report["rows"]["payments"],
        i64::try_from(in_copy.len()).expect("count")
    );
    assert_eq!(
        report["bytes"],
        std::fs::metadata(&copy).expect("copy").len()
    );
    let mut leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("webqris.db"))
        .collect();
    leftovers.sort();
    assert_eq!(
        leftovers,
        ["webqris-backup.db"],
        "no temporary file left (only the database, its WAL and lock, and the copy)"
    );

    // The copy restored into a fresh database serves: what it holds answers, and it takes new payments.
    let restored = dir.path().join("restored.db");
    let (ok, answer) = restore(&restored, &copy).await;
    assert!(ok, "{answer}");
    let paid_in_copy = strings(
        &conn,
        "SELECT invoice_id FROM payments WHERE status = 'paid' ORDER BY id LIMIT 1",
    );
    let pending_in_copy = strings(
        &conn,
        "SELECT invoice_id FROM payments WHERE status = 'pending' ORDER BY id LIMIT 1",
    );
    let server = serve(&restored).await;
    assert_eq!(server.status_of(&m, &paid_in_copy[0]).await, "paid");
    assert_eq!(server.status_of(&m, &pending_in_copy[0]).await, "pending");
    let fresh = server.create_payment(&m, 777_000).await;
    let total = fresh["total_amount"].as_i64().expect("total");
    let (status, body) = server.notify(&m, &dana(total)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        server
            .status_of(&m, fresh["invoice_id"].as_str().expect("id"))
            .await,
        "paid"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_refuses_what_cannot_be_a_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(&dir.path().join("webqris.db")).await;
    let db = server.config.db.clone();
    for (to, says) in [
        (db.clone(), "is the database itself"),
        (
            PathBuf::from(format!("{}-wal", db.display())),
            "is the database itself",
        ),
        (dir.path().join("missing/dir/copy.db"), "does not exist"),
    ] {
        let (ok, answer) = backup(&db, &to).await;
        assert!(!ok, "{answer}");
        assert!(
            answer["error"].as_str().expect("error").contains(says),
            "{answer}"
        );
    }
    let (ok, answer) = backup(&dir.path().join("nothing.db"), &dir.path().join("copy.db")).await;
    assert!(!ok);
    assert!(
        answer["error"]
            .as_str()
            .expect("error")
            .starts_with("no database at"),
        "{answer}"
    );
    assert!(
        !dir.path().join("nothing.db").exists(),
        "a backup never creates a database"
    );
    let postgres = Path::new("postgres://webqris:hunter2@db.internal/webqris");
    for (what, answer, tool) in [
        (
            "backup",
            backup(postgres, &dir.path().join("copy.db")).await,
            "pg_dump",
        ),
        (
            "restore",
            restore(postgres, &dir.path().join("copy.db")).await,
            "pg_restore",
        ),
    ] {
        let (ok, answer) = answer;
        assert!(!ok, "{what}");
        let error = answer["error"].as_str().expect("error");
        assert!(error.contains(tool), "{what}: {answer}");
        assert!(!error.contains("hunter2"), "{what}: {answer}");
    }
    assert!(
        !Path::new("postgres:").exists(),
        "nothing is made in the working directory"
    );
}

/// Starts the real server on the SQLite database file `db` (whichever backend the other tests use).
async fn serve(db: &Path) -> TestServer {
    let db = db.to_owned();
    TestServer::start_with(move |c| c.db = db).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_waits_for_the_server_to_stop_and_keeps_the_database_it_replaces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("webqris.db");
    let copy = dir.path().join("backup.db");
    let server = serve(&db).await;
    let m = server.merchant("Toko ABC", None).await;
    let kept_invoice = server.create_payment(&m, 10_000).await["invoice_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (ok, report) = backup(&db, &copy).await;
    assert!(ok, "{report}");
    let later_invoice = server.create_payment(&m, 20_000).await["invoice_id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (ok, refused) = restore(&db, &copy).await;
    assert!(!ok, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .expect("error")
            .contains("a running webqris server holds"),
        "{refused}"
    );
    assert_eq!(
        server.status_of(&m, &later_invoice).await,
        "pending",
        "nothing changed"
    );

    server.stop().await;
    let (ok, restored) = restore(&db, &copy).await;
    assert!(ok, "{restored}");
    assert_eq!(restored["restored"], db.display().to_string());
    assert_eq!(restored["from"], copy.display().to_string());
    assert_eq!(restored["schema_version"], SCHEMA_VERSION);
    assert_eq!(restored["rows"]["payments"], 1);
    let previous = PathBuf::from(
        restored["previous"]
            .as_str()
            .expect("the old database was kept"),
    );
    let kept = strings(
        &open_copy(&previous),
        "SELECT invoice_id FROM payments ORDER BY id",
    );
    assert_eq!(
        kept,
        [kept_invoice.clone(), later_invoice.clone()],
        "nothing is lost"
    );

    let server = serve(&db).await;
    assert_eq!(server.status_of(&m, &kept_invoice).await, "pending");
    let (status, _) = server.status(&m, &later_invoice).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the database is as the backup had it"
    );
    server.stop().await;

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"not a database at all, just bytes".repeat(200)).expect("write");
    let (ok, answer) = restore(&db, &garbage).await;
    assert!(!ok);
    assert!(
        answer["error"]
            .as_str()
            .expect("error")
            .contains("is not a usable webqris database"),
        "{answer}"
    );
    let newer = dir.path().join("newer.db");
    std::fs::copy(&copy, &newer).expect("copy");
    rusqlite::Connection::open(&newer)
        .expect("open")
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .expect("version");
    let (ok, answer) = restore(&db, &newer).await;
    assert!(!ok);
    assert!(
        answer["error"]
            .as_str()
            .expect("error")
            .contains("upgrade webqris first"),
        "{answer}"
    );
    let intact = strings(&open_copy(&db), "SELECT invoice_id FROM payments");
    assert_eq!(
        intact,
        [kept_invoice],
        "refused restores leave the database alone"
    );
}

#[tokio::test]
async fn a_server_does_not_start_while_a_restore_holds_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("webqris.db");
    let _restore = webqris_server::backup::DatabaseLock::for_restore(&db).expect("lock");
    let config = webqris_server::config::Config {
        db: db.clone(),
        ..Default::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let err = webqris_server::run(config, listener, std::future::ready(()))
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("a restore of"), "{err}");
    assert!(!db.exists(), "the database was not even opened");
}
