//! The database: every SQL statement of the server lives under this module; callers see typed methods.
//!
//! SQLite in WAL mode with one writer connection on a dedicated thread and a few read-only connections.
//! [`Db::write`] runs a closure inside a transaction on the writer. Writes queued at the same moment are
//! committed together (group commit): each closure runs in its own savepoint, so one closure's error rolls
//! back only its own changes, and nobody is answered before the shared commit is durable. A single writer
//! is what makes "allocate a unique total, then insert" and "check seen, then mark paid" atomic without
//! retry loops; the partial unique index and the conditional updates are the database's own backstop.

mod account;
mod credential;
mod delivery;
mod device;
mod merchant;
mod notification;
mod payment;
mod retention;
pub mod schema;

use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Semaphore, oneshot};

pub use account::*;
pub use credential::*;
pub use delivery::*;
pub use device::*;
pub use merchant::*;
pub use notification::*;
pub use payment::*;
pub use retention::*;

use crate::config::DatabaseConfig;

/// Most writes committed together in one group commit.
const MAX_BATCH: usize = 128;

/// Longest free text stored from a client (a notification's text). The parser reads at most 4 KiB, so
/// nothing it could read is lost; the cut only bounds what an attacker can make the server keep.
pub const MAX_STORED_TEXT_CHARS: usize = 8192;
/// Longest title stored from a client.
pub const MAX_STORED_TITLE_CHARS: usize = 1024;
/// Longest short field stored from a client (an app package, a name, an id, a reference, a hash).
pub const MAX_STORED_FIELD_CHARS: usize = 255;

/// `text` cut to `max` characters (every string a client sends is bounded before it is stored).
pub fn capped(text: Option<&str>, max: usize) -> Option<String> {
    text.map(|t| match t.char_indices().nth(max) {
        Some((end, _)) => t[..end].to_owned(),
        None => t.to_owned(),
    })
}

/// Why a database operation failed. Variants name the file, version or column involved.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The directory of the database file could not be created.
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database file could not be opened or configured.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The file was written by a newer webqris.
    #[error(
        "database schema version {found} is newer than this webqris knows ({known}); upgrade webqris"
    )]
    TooNew {
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The newest version this binary can migrate to.
        known: i64,
    },
    /// A migration step failed (the file stays at the previous version).
    #[error("migration to schema version {version} failed: {source}")]
    Migration {
        /// The version being migrated to.
        version: i64,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A statement failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The shared commit of a group of writes failed; none of them was stored.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The writer thread is gone (the server is shutting down).
    #[error("the database writer has stopped")]
    Closed,
    /// `database.write_queue` writes are already waiting; this one was refused rather than queued.
    #[error("the database is busy with other writes; try again in a moment")]
    Busy,
    /// A database closure panicked; its changes were rolled back.
    #[error("a database operation panicked (rolled back)")]
    Panicked,
    /// A stored value does not decode (a bug or a hand-edited file).
    #[error("stored value {value:?} in column {column} is invalid")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// The value found.
        value: String,
    },
}

/// A read-only view of the database (a reader connection, or the writer inside a transaction).
#[derive(Debug)]
pub struct Conn<'c>(&'c Connection);

/// The writer inside a transaction. Every read method of [`Conn`] is available too.
#[derive(Debug)]
pub struct Tx<'c>(Conn<'c>);

impl<'c> Deref for Tx<'c> {
    type Target = Conn<'c>;

    fn deref(&self) -> &Conn<'c> {
        &self.0
    }
}

impl Tx<'_> {
    fn sql(&self) -> &Connection {
        self.0.0
    }
}

/// A write waiting for the writer thread.
trait WriteJob: Send {
    /// Runs the closure in a savepoint of the open transaction; returns what to tell the caller once the
    /// transaction's fate is known.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish>;
    /// The transaction could not even start.
    fn abort(self: Box<Self>, error: DbError);
}

/// A write that ran; its caller is answered after the commit.
trait Finish: Send {
    fn finish(self: Box<Self>, commit: Result<(), &DbError>);
}

struct PendingWrite<F, T, E> {
    f: F,
    reply: oneshot::Sender<Result<T, E>>,
}

struct FinishedWrite<T, E> {
    result: Result<T, E>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> WriteJob for PendingWrite<F, T, E>
where
    F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish> {
        let Self { f, reply } = *self;
        let result = in_savepoint(conn, f);
        Box::new(FinishedWrite { result, reply })
    }

    fn abort(self: Box<Self>, error: DbError) {
        // The caller may have given up (request cancelled); nothing else to do then.
        let _ = self.reply.send(Err(E::from(error)));
    }
}

impl<T: Send, E: From<DbError> + Send> Finish for FinishedWrite<T, E> {
    fn finish(self: Box<Self>, commit: Result<(), &DbError>) {
        let result = match commit {
            Ok(()) => self.result,
            Err(e) => Err(E::from(DbError::Commit(e.to_string()))),
        };
        // The caller may have given up (request cancelled); the write stands regardless.
        let _ = self.reply.send(result);
    }
}

/// Runs `f` between `SAVEPOINT` and `RELEASE`, rolling its changes back if it fails or panics.
fn in_savepoint<T, E: From<DbError>>(
    conn: &Connection,
    f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
) -> Result<T, E> {
    conn.execute_batch("SAVEPOINT write_job")
        .map_err(|e| E::from(e.into()))?;
    let tx = Tx(Conn(conn));
    let result = catch_unwind(AssertUnwindSafe(|| f(&tx))).unwrap_or_else(|_| {
        tracing::error!("a database write closure panicked; its changes are rolled back");
        Err(E::from(DbError::Panicked))
    });
    let end = if result.is_ok() {
        "RELEASE write_job"
    } else {
        "ROLLBACK TO write_job; RELEASE write_job"
    };
    conn.execute_batch(end).map_err(|e| E::from(e.into()))?;
    result
}

/// Handle to the database. Cheap to clone; the writer thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.path)
            .finish()
    }
}

struct Inner {
    path: PathBuf,
    writer: mpsc::SyncSender<Box<dyn WriteJob>>,
    readers: Mutex<Vec<Connection>>,
    reader_permits: Semaphore,
}

impl Db {
    /// Opens (creating when missing) the database at `path`, brings its schema up to date and starts the
    /// writer thread.
    pub fn open(path: &Path, config: &DatabaseConfig) -> Result<Self, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let open_err = |source| DbError::Open {
            path: path.to_owned(),
            source,
        };
        let mut writer = Connection::open(path).map_err(open_err)?;
        configure(&writer, config, true).map_err(open_err)?;
        schema::migrate(&mut writer)?;
        let readers = (0..config.readers.max(1))
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(open_err)?;
                configure(&conn, config, false).map_err(open_err)?;
                Ok(conn)
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        // Bounded: a flood of writes is refused at once (DbError::Busy) instead of growing memory.
        let (sender, jobs) = mpsc::sync_channel::<Box<dyn WriteJob>>(config.write_queue.max(1));
        std::thread::Builder::new()
            .name("webqris-db-writer".into())
            .spawn(move || writer_loop(writer, jobs))
            .map_err(|e| DbError::Commit(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                reader_permits: Semaphore::new(readers.len()),
                readers: Mutex::new(readers),
                writer: sender,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in a write transaction on the single writer; its changes commit together or not at all,
    /// and the answer comes after the commit is durable. [`DbError::Busy`] at once when the writer's
    /// queue is full.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.inner
            .writer
            .try_send(Box::new(PendingWrite { f, reply }))
            .map_err(|e| match e {
                mpsc::TrySendError::Full(_) => E::from(DbError::Busy),
                mpsc::TrySendError::Disconnected(_) => E::from(DbError::Closed),
            })?;
        answer.await.map_err(|_| E::from(DbError::Closed))?
    }

    /// Runs `f` on a read-only connection, off the async executor.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let permit = self
            .inner
            .reader_permits
            .acquire()
            .await
            .map_err(|_| E::from(DbError::Closed))?;
        let inner = Arc::clone(&self.inner);
        let joined = tokio::task::spawn_blocking(move || {
            let conn = inner
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .expect("a reader permit guarantees an idle reader connection");
            let result = catch_unwind(AssertUnwindSafe(|| f(&Conn(&conn))));
            inner
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
            result
        })
        .await;
        drop(permit);
        match joined {
            Ok(Ok(result)) => result,
            Ok(Err(_)) | Err(_) => {
                tracing::error!("a database read closure panicked");
                Err(E::from(DbError::Panicked))
            }
        }
    }
}

fn configure(conn: &Connection, config: &DatabaseConfig, writer: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_millis(config.busy_timeout_ms))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if writer {
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL mode; continuing in this journal mode");
        }
        conn.pragma_update(None, "synchronous", config.synchronous.as_str())?;
    }
    Ok(())
}

/// The writer thread: takes every write waiting, runs them in one transaction, commits, answers.
fn writer_loop(conn: Connection, jobs: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "cannot begin a write transaction");
            let message = e.to_string();
            for job in batch {
                job.abort(DbError::Commit(message.clone()));
            }
            continue;
        }
        let finished: Vec<Box<dyn Finish>> = batch.into_iter().map(|job| job.run(&conn)).collect();
        let commit = conn.execute_batch("COMMIT").map_err(DbError::from);
        if let Err(e) = &commit {
            tracing::error!(error = %e, "group commit failed; rolling back");
            if let Err(rollback) = conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %rollback, "rollback after a failed commit failed");
            }
        }
        for f in finished {
            f.finish(commit.as_ref().map(|_| ()));
        }
    }
    tracing::debug!("database writer stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_temp() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(
            &dir.path().join("sub/dir/webqris.db"),
            &DatabaseConfig::default(),
        )
        .expect("opens");
        (dir, db)
    }

    #[tokio::test]
    async fn open_creates_the_directory_and_uses_wal() {
        let (dir, db) = open_temp();
        assert!(dir.path().join("sub/dir/webqris.db").exists());
        let mode: String = db
            .read(|c| {
                c.0.pragma_query_value(None, "journal_mode", |r| r.get(0))
                    .map_err(DbError::from)
            })
            .await
            .expect("pragma");
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn a_failed_write_rolls_back_only_itself_and_others_commit() {
        let (_dir, db) = open_temp();
        let create = |name: &'static str| {
            db.write(move |tx| {
                tx.sql().execute(
                    "INSERT INTO operator_tokens (token_hash, prefix, created_at) VALUES (?1, 'p', 0)",
                    [name],
                )?;
                Ok::<_, DbError>(())
            })
        };
        let failing = db.write(|tx| {
            tx.sql().execute(
                "INSERT INTO operator_tokens (token_hash, prefix, created_at) VALUES ('doomed', 'p', 0)",
                [],
            )?;
            Err::<(), _>(DbError::Panicked)
        });
        let (a, b, c) = tokio::join!(create("a"), failing, create("b"));
        a.expect("a commits");
        assert!(b.is_err());
        c.expect("b commits");
        let names: Vec<String> = db
            .read(|c| {
                let mut stmt =
                    c.0.prepare("SELECT token_hash FROM operator_tokens ORDER BY 1")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                rows.collect::<Result<Vec<String>, _>>()
                    .map_err(DbError::from)
            })
            .await
            .expect("read");
        assert_eq!(names, ["a", "b"]);
    }

    #[tokio::test]
    async fn a_full_write_queue_refuses_at_once_instead_of_growing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(
            &dir.path().join("q.db"),
            &DatabaseConfig {
                write_queue: 1,
                ..DatabaseConfig::default()
            },
        )
        .expect("opens");
        // Hold the writer inside a write until the test lets it go.
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let writer = db.clone();
        let held = tokio::spawn(async move {
            writer
                .write(move |_| {
                    let _ = started_tx.send(());
                    let _ = gate.recv();
                    Ok::<_, DbError>(())
                })
                .await
        });
        tokio::task::spawn_blocking(move || started.recv())
            .await
            .expect("join")
            .expect("the writer runs the first write");
        // A second write takes the queue's one place (sent on its first poll)...
        let mut queued = Box::pin(db.write(|_| Ok::<_, DbError>(())));
        assert!(
            tokio::time::timeout(Duration::ZERO, &mut queued)
                .await
                .is_err(),
            "it waits for the held writer"
        );
        // ...so a third is refused at once.
        assert!(matches!(
            db.write(|_| Ok::<_, DbError>(())).await,
            Err(DbError::Busy)
        ));
        release.send(()).expect("release");
        held.await.expect("join").expect("first write");
        queued.await.expect("the queued write commits");
        db.write(|_| Ok::<_, DbError>(()))
            .await
            .expect("room again");
    }

    #[tokio::test]
    async fn a_panicking_write_is_rolled_back_and_the_writer_survives() {
        let (_dir, db) = open_temp();
        let result: Result<(), DbError> = db
            .write(|tx| {
                tx.sql().execute(
                    "INSERT INTO operator_tokens (token_hash, prefix, created_at) VALUES ('x', 'p', 0)",
                    [],
                )?;
                panic!("boom");
            })
            .await;
        assert!(matches!(result, Err(DbError::Panicked)));
        let count: i64 = db
            .write(|tx| {
                tx.sql()
                    .query_row("SELECT COUNT(*) FROM operator_tokens", [], |r| r.get(0))
                    .map_err(DbError::from)
            })
            .await
            .expect("writer still alive");
        assert_eq!(count, 0);
    }
}
