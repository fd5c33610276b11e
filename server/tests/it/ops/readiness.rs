//! `GET /readyz`: 200 while the database takes writes and every worker runs; 503, in the contract's
//! error shape, while another process holds the database's write lock (a stuck `webqris` command, a
//! restore), whether the write fails at once or hangs past `readiness.timeout_secs`; 200 again after.
//! `/healthz` stays 200 throughout: it is the liveness probe.

use axum::http::StatusCode;
use serde_json::{Value, json};
use webqris_server::config::Seconds;

use crate::support::{TestServer, within};

/// Another connection holding what the probe must write until dropped: on SQLite the database's
/// write lock (another process's `BEGIN IMMEDIATE`), on PostgreSQL an exclusive lock on the `probes`
/// table (its own thread: the synchronous client runs its own runtime).
enum WriteLock {
    Sqlite(rusqlite::Connection),
    Postgres {
        release: std::sync::mpsc::Sender<()>,
        holder: Option<std::thread::JoinHandle<()>>,
    },
}

impl WriteLock {
    fn take(server: &TestServer) -> Self {
        let db = server.config.db.display().to_string();
        if !db.starts_with("postgres") {
            let conn = rusqlite::Connection::open(&db).expect("open the database file");
            conn.execute_batch("BEGIN IMMEDIATE")
                .expect("take the write lock");
            return Self::Sqlite(conn);
        }
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (locked, is_locked) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&db, postgres::NoTls).expect("connect");
            client
                .batch_execute("BEGIN; LOCK TABLE probes IN ACCESS EXCLUSIVE MODE")
                .expect("lock the probes table");
            locked.send(()).expect("the test waits");
            // Held until the lock is dropped (or the test is gone).
            let _ = released.recv();
            let _ = client.batch_execute("ROLLBACK");
        });
        is_locked.recv().expect("the lock is taken");
        Self::Postgres {
            release,
            holder: Some(holder),
        }
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        match self {
            // Ends the transaction; closing the connection would too.
            Self::Sqlite(conn) => drop(conn.execute_batch("ROLLBACK")),
            Self::Postgres { release, holder } => {
                let _ = release.send(());
                if let Some(holder) = holder.take() {
                    let _ = holder.join();
                }
            }
        }
    }
}

async fn readyz(server: &TestServer) -> (StatusCode, Value) {
    server.send(server.http.get(server.url("/readyz"))).await
}

async fn healthz(server: &TestServer) -> StatusCode {
    server.send(server.http.get(server.url("/healthz"))).await.0
}

#[tokio::test]
async fn a_server_that_takes_writes_and_runs_its_workers_is_ready() {
    let server = TestServer::start().await;
    let before = server.clock.now().as_millis();
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut workers = json!({"device_alert_sweep": "running", "expiry_sweep": "running",
                             "log_summaries": "running", "retention_pruner": "running",
                             "socket_revalidator": "running", "webhook_alert_sweep": "running",
                             "webhook_worker": "running"});
    if server.db.is_shared() {
        // PostgreSQL: other nodes' events are relayed to this one's sockets.
        workers["event_relay"] = json!("running");
    }
    assert_eq!(
        body,
        json!({"success": true, "status": "ready", "database": "ok", "workers": workers})
    );
    let probed = server
        .db
        .read(|c| c.last_probe("readyz"))
        .await
        .expect("read")
        .expect("the probe's write committed")
        .as_millis();
    assert!((before..=server.clock.now().as_millis()).contains(&probed));
}

#[tokio::test]
async fn a_database_that_refuses_writes_makes_the_server_unready_until_it_takes_them_again() {
    // No waiting for locks on SQLite: the probe's write fails at once while another process holds the
    // lock. PostgreSQL waits for a lock, so there the write gives up after the readiness timeout.
    let server = TestServer::start_with(|c| {
        c.database.busy_timeout_ms = 0;
        c.readiness.timeout_secs = Seconds::from_secs(1);
    })
    .await;
    assert_eq!(readyz(&server).await.0, StatusCode::OK, "ready first");
    let lock = WriteLock::take(&server);
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(
        body["message"],
        "Not ready: the database does not accept writes"
    );
    assert_eq!(body["database"], "failing");
    assert_eq!(body["workers"]["webhook_worker"], "running");
    assert_eq!(healthz(&server).await, StatusCode::OK, "still alive");
    drop(lock);
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_write_that_hangs_past_the_readiness_timeout_makes_the_server_unready() {
    let server = TestServer::start_with(|c| {
        c.database.busy_timeout_ms = 60_000;
        c.readiness.timeout_secs = "0.2".parse::<Seconds>().expect("seconds");
    })
    .await;
    // The timeout is short and the machine may be loaded: a commit may miss it now and then, so
    // readiness is awaited (never assumed) whenever nothing blocks the write.
    let ready = || {
        within("ready while nothing holds the lock", async {
            while readyz(&server).await.0 != StatusCode::OK {}
        })
    };
    ready().await;
    let lock = WriteLock::take(&server);
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["database"], "failing");
    drop(lock);
    // The writer waits for the lock with SQLite's growing back-off, so the first probes after the
    // release may still miss the short timeout.
    ready().await;
}
