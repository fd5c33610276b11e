//! The on-device outbox and log: one SQLite table of every notification the forwarder kept, with what the
//! phone concluded and what the server answered. Rows in state `pending` are the outbox. Each has its own
//! attempt count and next-try time, and the worker takes whichever is due first, so a failing item never
//! delays the others; after too many failed attempts an item is *parked* (still pending, tried on a slow
//! schedule or when a person asks). The unique `event_hash` absorbs Android's re-deliveries on the phone.
//!
//! All SQL of the forwarder lives here.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

/// The schema version this code writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 2;

/// Completed rows older than this are pruned (the dedupe memory of the phone; the server dedupes too).
pub const RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;
/// At most this many completed rows are kept, newest first.
pub const RETENTION_ROWS: i64 = 5000;

/// The migrations, in order: step `i` brings `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the outbox and log.
    "
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
",
    // 2: per-item scheduling and parking, the notification's kind (category, template, channel) for the
    // server's trust rules, whether one-time codes were masked, when the item was last tried.
    "
ALTER TABLE notification ADD COLUMN category TEXT;
ALTER TABLE notification ADD COLUMN template TEXT;
ALTER TABLE notification ADD COLUMN channel_id TEXT;
ALTER TABLE notification ADD COLUMN masked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notification ADD COLUMN parked_at_ms INTEGER;
ALTER TABLE notification ADD COLUMN last_attempt_at_ms INTEGER;
CREATE INDEX notification_due ON notification (state, next_attempt_at_ms, id);
",
];

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
    /// Kept for the log but never sent (rows of forwarders before every notification was sent).
    Skipped,
}

impl RowState {
    fn from_sql(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "sent" => Self::Sent,
            // The CHECK constraint admits only the three spellings.
            _ => Self::Skipped,
        }
    }
}

/// A notification to keep (always queued).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRow<'a> {
    /// `event::event_hash` of the posting (over the masked text when codes were masked).
    pub event_hash: &'a str,
    /// Package name.
    pub app: &'a str,
    /// Title, as sent.
    pub title: &'a str,
    /// `notification::effective_text(text, big_text)`, as sent.
    pub message: &'a str,
    /// `StatusBarNotification.getKey()`.
    pub notif_key: &'a str,
    /// `StatusBarNotification.getPostTime()`.
    pub post_time_ms: i64,
    /// When the forwarder got it.
    pub received_at_ms: i64,
    /// The core's verdict, as JSON.
    pub verdict_json: &'a str,
    /// `Notification.category`.
    pub category: Option<&'a str>,
    /// `Notification.EXTRA_TEMPLATE`.
    pub template: Option<&'a str>,
    /// The notification's channel id.
    pub channel_id: Option<&'a str>,
    /// One-time codes were masked in title and message.
    pub masked: bool,
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
    /// Failed attempts (since it was queued, or since a person asked to retry it).
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
    /// `Notification.category`.
    pub category: Option<String>,
    /// `Notification.EXTRA_TEMPLATE`.
    pub template: Option<String>,
    /// Channel id.
    pub channel_id: Option<String>,
    /// One-time codes were masked.
    pub masked: bool,
    /// When the item was parked (too many failed attempts), epoch ms; `None` while it is active.
    pub parked_at_ms: Option<i64>,
    /// When it was last tried, epoch ms.
    pub last_attempt_at_ms: Option<i64>,
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

/// A failed attempt, charged to the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<'a> {
    /// What went wrong.
    pub error: &'a str,
    /// The server's status, when it answered.
    pub http_status: Option<u16>,
    /// When it was tried, epoch ms.
    pub at_ms: i64,
    /// When to try it next, epoch ms.
    pub next_attempt_at_ms: i64,
    /// Park it (it has failed too often).
    pub park: bool,
}

/// Whether an insert kept a new row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A new row.
    New,
    /// The event hash was already there (a re-delivery); nothing written.
    AlreadySeen,
}

/// The outbox at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows waiting to be delivered (parked ones included).
    pub pending: u64,
    /// Of those, the parked ones.
    pub parked: u64,
    /// When the oldest waiting row arrived, epoch ms.
    pub oldest_received_at_ms: Option<i64>,
    /// The earliest next-try time among waiting rows, epoch ms.
    pub next_attempt_at_ms: Option<i64>,
}

/// The database handle (one connection: the forwarder is its only writer).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: String,
}

const COLUMNS: &str = "id, event_hash, app, title, message, notif_key, post_time_ms, received_at_ms, \
     verdict, state, attempts, next_attempt_at_ms, last_error, http_status, server_message, invoice_id, \
     completed_at_ms, category, template, channel_id, masked, parked_at_ms, last_attempt_at_ms";

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
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
            });
        }
        for (step, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let to = step + 1;
            self.conn
                .execute_batch(&format!("BEGIN; {sql} PRAGMA user_version = {to}; COMMIT;"))
                .map_err(self.err())?;
        }
        Ok(())
    }

    /// Queues a notification unless its event hash is already stored.
    pub fn insert(&self, row: &NewRow<'_>) -> Result<Inserted, StoreError> {
        let changed = self
            .conn
            .execute(
                "INSERT INTO notification (event_hash, app, title, message, notif_key, post_time_ms, \
                 received_at_ms, verdict, state, category, template, channel_id, masked) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9, ?10, ?11, ?12) \
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
                    row.category,
                    row.template,
                    row.channel_id,
                    row.masked,
                ],
            )
            .map_err(self.err())?;
        Ok(if changed == 1 {
            Inserted::New
        } else {
            Inserted::AlreadySeen
        })
    }

    /// The pending row due first (earliest next-try time, then arrival), whatever that time is.
    pub fn next_due(&self) -> Result<Option<Row>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM notification WHERE state = 'pending' \
                     ORDER BY next_attempt_at_ms, id LIMIT 1"
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
                 invoice_id = ?4, completed_at_ms = ?5, last_attempt_at_ms = ?5, last_error = NULL, \
                 parked_at_ms = NULL WHERE id = ?1",
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

    /// Records a failed attempt of the row; it stays queued until `next_attempt_at_ms`, parked if asked.
    pub fn fail_attempt(&self, id: i64, failure: &Failure<'_>) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE notification SET attempts = attempts + 1, last_error = ?2, http_status = ?3, \
                 last_attempt_at_ms = ?4, next_attempt_at_ms = ?5, \
                 parked_at_ms = CASE WHEN ?6 THEN COALESCE(parked_at_ms, ?4) ELSE parked_at_ms END \
                 WHERE id = ?1",
                params![
                    id,
                    failure.error,
                    failure.http_status,
                    failure.at_ms,
                    failure.next_attempt_at_ms,
                    failure.park,
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Records an error that is not the row's fault (the server refused us, or cannot be reached): the
    /// row keeps its attempt count and its next-try time.
    pub fn note_error(
        &self,
        id: i64,
        error: &str,
        http_status: Option<u16>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE notification SET last_error = ?2, http_status = ?3, last_attempt_at_ms = ?4 \
                 WHERE id = ?1",
                params![id, error, http_status, now_ms],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Makes every pending row due now, parked ones included (a new process: whatever made the last
    /// attempts fail may be over). Parked rows stay parked: one more failure keeps them on the slow
    /// schedule.
    pub fn make_all_due(&self) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE notification SET next_attempt_at_ms = 0 WHERE state = 'pending'",
                [],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// A person asked to retry: every pending row (or only `event_hash`'s) is unparked, its attempts
    /// start again from zero, and it is due now. Returns how many rows that touched.
    pub fn retry(&self, event_hash: Option<&str>) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE notification SET next_attempt_at_ms = 0, attempts = 0, parked_at_ms = NULL \
                 WHERE state = 'pending' AND (?1 IS NULL OR event_hash = ?1)",
                [event_hash],
            )
            .map_err(self.err())
    }

    /// How many rows wait, how many of them are parked, and since when the oldest waits.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*), COUNT(parked_at_ms), MIN(received_at_ms), MIN(next_attempt_at_ms) \
                 FROM notification WHERE state = 'pending'",
                [],
                |r| {
                    Ok(Counts {
                        pending: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        parked: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        oldest_received_at_ms: r.get(2)?,
                        next_attempt_at_ms: r.get(3)?,
                    })
                },
            )
            .map_err(self.err())
    }

    /// The error of the most recent failed attempt among the rows still waiting.
    pub fn last_pending_error(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT last_error FROM notification WHERE state = 'pending' AND last_error IS NOT NULL \
                 ORDER BY last_attempt_at_ms DESC, id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
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
        category: r.get(17)?,
        template: r.get(18)?,
        channel_id: r.get(19)?,
        masked: r.get(20)?,
        parked_at_ms: r.get(21)?,
        last_attempt_at_ms: r.get(22)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(hash: &str) -> NewRow<'_> {
        NewRow {
            event_hash: hash,
            app: "id.dana",
            title: "DANA",
            message: "Rp29.000 diterima DANA Bisnis.",
            notif_key: "0|id.dana|1|null|10001",
            post_time_ms: 1_000,
            received_at_ms: 2_000,
            verdict_json: "{}",
            category: Some("status"),
            template: None,
            channel_id: Some("payments"),
            masked: false,
        }
    }

    fn open(dir: &tempfile::TempDir) -> Store {
        Store::open(&dir.path().join("outbox.db")).expect("open")
    }

    const OK: Answer = Answer {
        http_status: 200,
        message: None,
        invoice_id: None,
    };

    fn failure(next_attempt_at_ms: i64, park: bool) -> Failure<'static> {
        Failure {
            error: "server answered HTTP 500",
            http_status: Some(500),
            at_ms: 3_000,
            next_attempt_at_ms,
            park,
        }
    }

    #[test]
    fn items_due_at_the_same_time_go_in_arrival_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        for h in ["a", "b", "c"] {
            store.insert(&row(h)).expect("insert");
        }
        let mut order = Vec::new();
        while let Some(next) = store.next_due().expect("next") {
            order.push(next.event_hash.clone());
            store.complete(next.id, &OK, 3_000).expect("complete");
        }
        assert_eq!(order, ["a", "b", "c"]);
        assert_eq!(store.counts().expect("count").pending, 0);
    }

    #[test]
    fn a_failing_item_waits_behind_the_ones_due_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        for h in ["stuck", "b", "c"] {
            store.insert(&row(h)).expect("insert");
        }
        let head = store.next_due().expect("next").expect("queued");
        assert_eq!(head.event_hash, "stuck");
        store
            .fail_attempt(head.id, &failure(9_000, false))
            .expect("fail");
        assert_eq!(
            store.next_due().expect("next").expect("queued").event_hash,
            "b",
            "the failing item's own next-try time puts it behind the others"
        );
        let stuck = store.by_event_hash("stuck").expect("q").expect("kept");
        assert_eq!((stuck.attempts, stuck.next_attempt_at_ms), (1, 9_000));
        assert_eq!(stuck.last_attempt_at_ms, Some(3_000));
    }

    #[test]
    fn parking_keeps_the_item_counted_and_a_retry_unparks_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        store.insert(&row("a")).expect("insert");
        store.insert(&row("b")).expect("insert");
        store.fail_attempt(1, &failure(99_000, true)).expect("park");
        let counts = store.counts().expect("counts");
        assert_eq!((counts.pending, counts.parked), (2, 1));
        assert_eq!(counts.oldest_received_at_ms, Some(2_000));
        assert_eq!(
            store.last_pending_error().expect("q").as_deref(),
            Some("server answered HTTP 500")
        );
        let parked = store.by_event_hash("a").expect("q").expect("kept");
        assert_eq!(parked.parked_at_ms, Some(3_000));
        assert_eq!(store.retry(Some("a")).expect("retry"), 1);
        let retried = store.by_event_hash("a").expect("q").expect("kept");
        assert_eq!(
            (
                retried.parked_at_ms,
                retried.attempts,
                retried.next_attempt_at_ms
            ),
            (None, 0, 0)
        );
        assert_eq!(store.retry(Some("missing")).expect("retry"), 0);
    }

    #[test]
    fn the_same_event_hash_is_kept_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        assert_eq!(store.insert(&row("a")).expect("insert"), Inserted::New);
        assert_eq!(
            store.insert(&row("a")).expect("insert"),
            Inserted::AlreadySeen
        );
        store.complete(1, &OK, 5).expect("complete");
        assert_eq!(
            store.insert(&row("a")).expect("insert"),
            Inserted::AlreadySeen,
            "a re-delivery after the send is absorbed too"
        );
        assert_eq!(store.counts().expect("count").pending, 0);
    }

    #[test]
    fn the_queue_survives_reopening_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = open(&dir);
            store.insert(&row("a")).expect("insert");
            store.insert(&row("b")).expect("insert");
            store.fail_attempt(1, &failure(9_000, false)).expect("fail");
        }
        let store = open(&dir);
        let a = store.by_event_hash("a").expect("q").expect("still queued");
        assert_eq!(a.attempts, 1);
        assert_eq!(a.next_attempt_at_ms, 9_000);
        assert_eq!(a.last_error.as_deref(), Some("server answered HTTP 500"));
        assert_eq!(a.category.as_deref(), Some("status"));
        assert_eq!(a.channel_id.as_deref(), Some("payments"));
        assert_eq!(store.counts().expect("count").pending, 2);
    }

    #[test]
    fn a_version_1_outbox_is_migrated_with_its_queue() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbox.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(&format!(
            "BEGIN; {} PRAGMA user_version = 1; COMMIT;
             INSERT INTO notification (event_hash, app, title, message, notif_key, post_time_ms,
                 received_at_ms, verdict, state) VALUES ('old', 'id.dana', 'DANA', 'Rp10', 'k', 1, 2, '{{}}', 'pending');",
            MIGRATIONS[0]
        ))
        .expect("a version 1 database");
        drop(conn);
        let store = Store::open(&path).expect("migrated");
        let old = store.next_due().expect("next").expect("kept");
        assert_eq!(old.event_hash, "old");
        assert_eq!(
            (old.parked_at_ms, old.masked, old.category),
            (None, false, None)
        );
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
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
        store.insert(&row("old-sent")).expect("insert");
        store.insert(&row("old-pending")).expect("insert");
        store.complete(1, &OK, 2_000).expect("complete");
        let now = 2_000 + RETENTION_MS + 1;
        assert_eq!(store.prune(now).expect("prune"), 1);
        assert!(store.by_event_hash("old-sent").expect("q").is_none());
        assert!(store.by_event_hash("old-pending").expect("q").is_some());
    }
}
