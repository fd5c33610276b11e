//! The on-device outbox and log: one SQLite table of every notification the forwarder kept, with what the
//! phone concluded and what the server answered. Rows in state `pending` are the outbox, delivered in
//! `id` (arrival) order; the unique `event_hash` absorbs Android's re-deliveries on the phone itself.
//!
//! All SQL of the bridge lives here.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

/// The schema version this code writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// Completed rows older than this are pruned (the dedupe memory of the phone; the server dedupes too).
pub const RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;
/// At most this many completed rows are kept, newest first.
pub const RETENTION_ROWS: i64 = 5000;

const SCHEMA_V1: &str = "
CREATE TABLE notification (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    event_hash         TEXT    NOT NULL UNIQUE,
    app                TEXT    NOT NULL,
    title              TEXT    NOT NULL,
    message            TEXT    NOT NULL,
    notif_key          TEXT    NOT NULL,
    post_time_ms       INTEGER NOT NULL,
    received_at_ms     INTEGER NOT NULL,
    verdict            TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'skipped')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    http_status        INTEGER,
    server_message     TEXT,
    invoice_id         TEXT,
    completed_at_ms    INTEGER
);
CREATE INDEX notification_by_state ON notification (state, id);
";

/// A failure of the on-device database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("outbox database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a newer forwarder.
    #[error(
        "outbox database {path} has schema version {found}, newer than this forwarder's {SCHEMA_VERSION}"
    )]
    TooNew {
        /// The database file.
        path: String,
        /// Its `user_version`.
        found: i64,
    },
}

/// Where a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    /// In the outbox, waiting to be (re)sent.
    Pending,
    /// The server gave a final answer (paid, duplicate, no match, no amount, refused).
    Sent,
    /// Kept for the log but never sent (not an incoming payment).
    Skipped,
}

impl RowState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Skipped => "skipped",
        }
    }

    fn from_sql(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "sent" => Self::Sent,
            // The CHECK constraint admits only the three spellings.
            _ => Self::Skipped,
        }
    }
}

/// A notification to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRow<'a> {
    /// `event::event_hash` of the posting.
    pub event_hash: &'a str,
    /// Package name.
    pub app: &'a str,
    /// Title.
    pub title: &'a str,
    /// `notification::effective_text(text, big_text)`.
    pub message: &'a str,
    /// `StatusBarNotification.getKey()`.
    pub notif_key: &'a str,
    /// `StatusBarNotification.getPostTime()`.
    pub post_time_ms: i64,
    /// When the forwarder got it.
    pub received_at_ms: i64,
    /// The core's verdict, as JSON.
    pub verdict_json: &'a str,
    /// `Pending` to send it, `Skipped` to only log it.
    pub state: RowState,
}

/// A stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Arrival order.
    pub id: i64,
    /// `event::event_hash` of the posting.
    pub event_hash: String,
    /// Package name.
    pub app: String,
    /// Title.
    pub title: String,
    /// The effective text.
    pub message: String,
    /// Notification key.
    pub notif_key: String,
    /// Post time, epoch ms.
    pub post_time_ms: i64,
    /// When the forwarder got it, epoch ms.
    pub received_at_ms: i64,
    /// The core's verdict, JSON.
    pub verdict_json: String,
    /// Where it stands.
    pub state: RowState,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not before this instant, epoch ms.
    pub next_attempt_at_ms: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The server's status code.
    pub http_status: Option<u16>,
    /// The server's `message` (or a summary of its answer).
    pub server_message: Option<String>,
    /// The invoice the server marked paid.
    pub invoice_id: Option<String>,
    /// When the server's final answer came, epoch ms.
    pub completed_at_ms: Option<i64>,
}

/// The server's final answer to one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub http_status: u16,
    /// The answer's `message`, or a short description.
    pub message: Option<String>,
    /// The invoice it paid.
    pub invoice_id: Option<String>,
}

/// Whether an insert kept a new row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A new row.
    New,
    /// The event hash was already there (a re-delivery); nothing written.
    AlreadySeen,
}

/// The database handle (one connection: the forwarder is its only writer).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: String,
}

const COLUMNS: &str = "id, event_hash, app, title, message, notif_key, post_time_ms, received_at_ms, \
     verdict, state, attempts, next_attempt_at_ms, last_error, http_status, server_message, invoice_id, \
     completed_at_ms";

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: shown.clone(),
            source,
        })?;
        let store = Self { conn, path: shown };
        store.migrate()?;
        Ok(store)
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&self) -> Result<(), StoreError> {
        // WAL: a crash mid-write never loses a committed row; NORMAL sync is durable across process
        // death (the case that matters on a phone) and cheap. busy_timeout: the app and a stray second
        // Forwarder on the same file wait for each other instead of failing.
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
            )
            .map_err(self.err())?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.err())?;
        match version {
            0 => self
                .conn
                .execute_batch(&format!(
                    "BEGIN; {SCHEMA_V1} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(self.err()),
            SCHEMA_VERSION => Ok(()),
            found => Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
            }),
        }
    }

    /// Keeps a notification unless its event hash is already stored.
    pub fn insert(&self, row: &NewRow<'_>) -> Result<Inserted, StoreError> {
        let changed = self
            .conn
            .execute(
                "INSERT INTO notification (event_hash, app, title, message, notif_key, post_time_ms, \
                 received_at_ms, verdict, state, completed_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                 ON CONFLICT (event_hash) DO NOTHING",
                params![
                    row.event_hash,
                    row.app,
                    row.title,
                    row.message,
                    row.notif_key,
                    row.post_time_ms,
                    row.received_at_ms,
                    row.verdict_json,
                    row.state.as_str(),
                    (row.state == RowState::Skipped).then_some(row.received_at_ms),
                ],
            )
            .map_err(self.err())?;
        Ok(if changed == 1 {
            Inserted::New
        } else {
            Inserted::AlreadySeen
        })
    }

    /// The oldest pending row (the head of the queue), whatever its next attempt time.
    pub fn head(&self) -> Result<Option<Row>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM notification WHERE state = 'pending' ORDER BY id LIMIT 1"
                ),
                [],
                read_row,
            )
            .optional()
            .map_err(self.err())
    }

    /// Records the server's final answer: the row leaves the outbox.
    pub fn complete(&self, id: i64, answer: &Answer, now_ms: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE notification SET state = 'sent', http_status = ?2, server_message = ?3, \
                 invoice_id = ?4, completed_at_ms = ?5, last_error = NULL WHERE id = ?1",
                params![
                    id,
                    answer.http_status,
                    answer.message,
                    answer.invoice_id,
                    now_ms
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Records a failed attempt; the row stays queued until `next_attempt_at_ms`.
    pub fn fail_attempt(
        &self,
        id: i64,
        error: &str,
        http_status: Option<u16>,
        next_attempt_at_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE notification SET attempts = attempts + 1, last_error = ?2, http_status = ?3, \
                 next_attempt_at_ms = ?4 WHERE id = ?1",
                params![id, error, http_status, next_attempt_at_ms],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Records an error that is not the row's fault (the server refused our credentials): the row keeps
    /// its place and its attempt count.
    pub fn note_error(
        &self,
        id: i64,
        error: &str,
        http_status: Option<u16>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE notification SET last_error = ?2, http_status = ?3 WHERE id = ?1",
                params![id, error, http_status],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Makes every pending row due now (the user asked to retry, or the settings changed).
    pub fn make_all_due(&self) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE notification SET next_attempt_at_ms = 0 WHERE state = 'pending'",
                [],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// How many rows wait in the outbox.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM notification WHERE state = 'pending'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(self.err())
    }

    /// The most recent rows, newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM notification ORDER BY id DESC LIMIT ?1"
            ))
            .map_err(self.err())?;
        let rows = stmt
            .query_map([limit], read_row)
            .map_err(self.err())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err())?;
        Ok(rows)
    }

    /// The row with this event hash.
    pub fn by_event_hash(&self, event_hash: &str) -> Result<Option<Row>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM notification WHERE event_hash = ?1"),
                [event_hash],
                read_row,
            )
            .optional()
            .map_err(self.err())
    }

    /// When the newest notification arrived.
    pub fn last_received_at(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("SELECT MAX(received_at_ms) FROM notification", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map_err(self.err())
    }

    /// The newest final answer of the server.
    pub fn last_answer(&self) -> Result<Option<Row>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM notification WHERE state = 'sent' \
                     ORDER BY completed_at_ms DESC, id DESC LIMIT 1"
                ),
                [],
                read_row,
            )
            .optional()
            .map_err(self.err())
    }

    /// Forgets completed rows past the retention age or count. Pending rows are never pruned.
    pub fn prune(&self, now_ms: i64) -> Result<usize, StoreError> {
        let by_age = self
            .conn
            .execute(
                "DELETE FROM notification WHERE state != 'pending' AND completed_at_ms < ?1",
                [now_ms.saturating_sub(RETENTION_MS)],
            )
            .map_err(self.err())?;
        let by_count = self
            .conn
            .execute(
                "DELETE FROM notification WHERE state != 'pending' AND id NOT IN \
                 (SELECT id FROM notification WHERE state != 'pending' ORDER BY id DESC LIMIT ?1)",
                [RETENTION_ROWS],
            )
            .map_err(self.err())?;
        Ok(by_age + by_count)
    }
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        event_hash: r.get(1)?,
        app: r.get(2)?,
        title: r.get(3)?,
        message: r.get(4)?,
        notif_key: r.get(5)?,
        post_time_ms: r.get(6)?,
        received_at_ms: r.get(7)?,
        verdict_json: r.get(8)?,
        state: RowState::from_sql(&r.get::<_, String>(9)?),
        attempts: r.get(10)?,
        next_attempt_at_ms: r.get(11)?,
        last_error: r.get(12)?,
        http_status: r.get(13)?,
        server_message: r.get(14)?,
        invoice_id: r.get(15)?,
        completed_at_ms: r.get(16)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(hash: &str, state: RowState) -> NewRow<'_> {
        NewRow {
            event_hash: hash,
            app: "id.dana",
            title: "DANA",
            message: "Rp29.000 diterima DANA Bisnis.",
            notif_key: "0|id.dana|1|null|10001",
            post_time_ms: 1_000,
            received_at_ms: 2_000,
            verdict_json: "{}",
            state,
        }
    }

    fn open(dir: &tempfile::TempDir) -> Store {
        Store::open(&dir.path().join("outbox.db")).expect("open")
    }

    #[test]
    fn the_queue_is_delivered_in_arrival_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        for h in ["a", "b", "c"] {
            store.insert(&row(h, RowState::Pending)).expect("insert");
        }
        let ok = Answer {
            http_status: 200,
            message: None,
            invoice_id: None,
        };
        let mut order = Vec::new();
        while let Some(head) = store.head().expect("head") {
            order.push(head.event_hash.clone());
            store.complete(head.id, &ok, 3_000).expect("complete");
        }
        assert_eq!(order, ["a", "b", "c"]);
        assert_eq!(store.pending_count().expect("count"), 0);
    }

    #[test]
    fn the_same_event_hash_is_kept_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        assert_eq!(
            store.insert(&row("a", RowState::Pending)).expect("insert"),
            Inserted::New
        );
        assert_eq!(
            store.insert(&row("a", RowState::Pending)).expect("insert"),
            Inserted::AlreadySeen
        );
        store
            .complete(
                1,
                &Answer {
                    http_status: 200,
                    message: None,
                    invoice_id: Some("INV-1".into()),
                },
                5,
            )
            .expect("complete");
        assert_eq!(
            store.insert(&row("a", RowState::Pending)).expect("insert"),
            Inserted::AlreadySeen,
            "a re-delivery after the send is absorbed too"
        );
        assert_eq!(store.pending_count().expect("count"), 0);
    }

    #[test]
    fn the_queue_survives_reopening_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = open(&dir);
            store.insert(&row("a", RowState::Pending)).expect("insert");
            store.insert(&row("b", RowState::Pending)).expect("insert");
            store
                .fail_attempt(1, "connection refused", None, 9_000)
                .expect("fail");
        }
        let store = open(&dir);
        let head = store.head().expect("head").expect("still queued");
        assert_eq!(head.event_hash, "a");
        assert_eq!(head.attempts, 1);
        assert_eq!(head.next_attempt_at_ms, 9_000);
        assert_eq!(head.last_error.as_deref(), Some("connection refused"));
        assert_eq!(store.pending_count().expect("count"), 2);
    }

    #[test]
    fn a_database_from_a_newer_forwarder_is_refused_not_clobbered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbox.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA user_version = 99;")
            .expect("pragma");
        drop(conn);
        match Store::open(&path) {
            Err(StoreError::TooNew { found: 99, .. }) => {}
            other => panic!("expected TooNew, got {other:?}"),
        }
    }

    #[test]
    fn pruning_forgets_old_completed_rows_but_never_pending_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        store
            .insert(&row("old-skipped", RowState::Skipped))
            .expect("insert");
        store
            .insert(&row("old-pending", RowState::Pending))
            .expect("insert");
        let now = 2_000 + RETENTION_MS + 1;
        assert_eq!(store.prune(now).expect("prune"), 1);
        assert!(store.by_event_hash("old-skipped").expect("q").is_none());
        assert!(store.by_event_hash("old-pending").expect("q").is_some());
    }
}
