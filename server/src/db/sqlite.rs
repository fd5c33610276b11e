//! The SQLite backend, the only place rusqlite is used: WAL mode, one writer connection on a dedicated
//! thread with group commit, a few read-only connections, migrations by `PRAGMA user_version`, and the
//! statement execution behind [`super::sql`].
//!
//! Writes queued at the same moment are committed together (group commit): each closure runs in its own
//! savepoint, so one closure's error rolls back only its own changes, and nobody is answered before the
//! shared commit is durable. The single writer is what makes "allocate a unique total, then insert" and
//! "check seen, then mark paid" atomic without retry loops; the partial unique index and the conditional
//! updates are the database's own backstop.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OpenFlags, TransactionBehavior};
use tokio::sync::{Semaphore, oneshot};

use super::schema;
use super::sql::{self, Backend, RowImpl, ToParam, Value};
use super::{CommitObserver, Conn, CopyCheck, DbError, Tx};
use crate::config::DatabaseConfig;

pub(super) use rusqlite::{Connection, Row};

/// Most writes committed together in one group commit.
const MAX_BATCH: usize = 128;

/// Prepared statements kept per connection: more than the server has, so none is ever prepared twice.
const STATEMENT_CACHE: usize = 256;

/// The node name stored with events written here: on SQLite this process is the only node.
pub(super) const ORIGIN: &str = "sqlite";

/// The open database: the writer thread's queue and the idle reader connections.
pub(super) struct Sqlite {
    path: PathBuf,
    writer: mpsc::SyncSender<Box<dyn WriteJob>>,
    readers: Mutex<Vec<Connection>>,
    reader_permits: Semaphore,
    observer: Arc<OnceLock<CommitObserver>>,
}

impl Sqlite {
    /// Opens (creating when missing) the database at `path`, brings its schema up to date and starts
    /// the writer thread.
    pub(super) fn open(path: &Path, config: &DatabaseConfig) -> Result<Self, DbError> {
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
        migrate(&mut writer)?;
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
        let observer = Arc::new(OnceLock::new());
        let told = Arc::clone(&observer);
        std::thread::Builder::new()
            .name("webqris-db-writer".into())
            .spawn(move || writer_loop(writer, jobs, &told))
            .map_err(|e| DbError::Commit(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            path: path.to_owned(),
            reader_permits: Semaphore::new(readers.len()),
            readers: Mutex::new(readers),
            writer: sender,
            observer,
        })
    }

    /// Sets who is told about every group commit (the first one set stays).
    pub(super) fn observe_commits(&self, observer: CommitObserver) {
        // Set once, by the server at startup; a second call changes nothing.
        let _ = self.observer.set(observer);
    }

    /// The database file.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Queues `f` for the writer thread; answers once its group commit is durable. [`DbError::Busy`] at
    /// once when `database.write_queue` writes are already waiting.
    pub(super) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let span = tracing::Span::current();
        self.writer
            .try_send(Box::new(PendingWrite { f, reply, span }))
            .map_err(|e| match e {
                mpsc::TrySendError::Full(_) => E::from(DbError::Busy),
                mpsc::TrySendError::Disconnected(_) => E::from(DbError::Closed),
            })?;
        answer.await.map_err(|_| E::from(DbError::Closed))?
    }

    /// Runs `f` on an idle reader connection on a blocking thread.
    pub(super) async fn read<T, E, F>(self: &Arc<Self>, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let permit = self
            .reader_permits
            .acquire()
            .await
            .map_err(|_| E::from(DbError::Closed))?;
        let this = Arc::clone(self);
        let span = tracing::Span::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            this.on_idle_reader(f)
        })
        .await;
        drop(permit);
        joined.unwrap_or_else(|_| Err(read_panicked()))
    }

    /// Runs `f` on an idle reader connection, taken and given back around it; the caller holds one of
    /// `reader_permits`, so there is one. A panic in `f` becomes [`DbError::Panicked`].
    fn on_idle_reader<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E>,
        E: From<DbError>,
    {
        let conn = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .expect("a reader permit guarantees an idle reader connection");
        let result = catch_unwind(AssertUnwindSafe(|| f(&Conn(Backend::Sqlite(&conn)))));
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        result.unwrap_or_else(|_| Err(read_panicked()))
    }
}

/// What a read whose closure panicked answers (logged once here).
fn read_panicked<E: From<DbError>>() -> E {
    tracing::error!("a database read closure panicked");
    E::from(DbError::Panicked)
}

impl Sqlite {
    /// Runs `f`, a short indexed read, on an idle reader connection **on the calling thread**: the hop
    /// to the blocking pool and back costs more than such a read (a point lookup by a unique index, tens
    /// of microseconds; WAL readers never wait for the writer). When every reader is busy, it waits for
    /// one on the blocking pool like [`Sqlite::read`].
    pub(super) async fn lookup<T, E, F>(self: &Arc<Self>, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let Ok(permit) = self.reader_permits.try_acquire() else {
            return self.read(f).await;
        };
        let result = self.on_idle_reader(f);
        drop(permit);
        result
    }
}

/// Runs a transaction-control statement (`BEGIN`, `COMMIT`, savepoints) from the connection's statement
/// cache: `execute_batch` would parse it again for every write.
fn control(conn: &Connection, sql: &'static str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn configure(conn: &Connection, config: &DatabaseConfig, writer: bool) -> rusqlite::Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(Duration::from_millis(config.busy_timeout_ms))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if writer {
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL mode; continuing in this journal mode");
        }
        conn.pragma_update(None, "synchronous", config.synchronous.as_str())?;
        // Every write runs in a savepoint of its group's transaction, and SQLite keeps the original
        // of each page a savepoint changes in a statement journal, a temporary file once it outgrows
        // 64 KiB: a write() per page and write job. In memory it is a copy. The journal lives until
        // the group commits, so it is bounded by one group's pages (and so are the few temporary
        // tables the writer makes, retention's batches of ids).
        conn.pragma_update(None, "temp_store", "MEMORY")?;
    }
    Ok(())
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
    /// The caller's span (a request's, with its request id), entered while the closure runs.
    span: tracing::Span,
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
        let Self { f, reply, span } = *self;
        let result = span.in_scope(|| in_savepoint(conn, f));
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
    control(conn, "SAVEPOINT write_job").map_err(|e| E::from(e.into()))?;
    let tx = Tx(Conn(Backend::Sqlite(conn)));
    let result = catch_unwind(AssertUnwindSafe(|| f(&tx))).unwrap_or_else(|_| {
        tracing::error!("a database write closure panicked; its changes are rolled back");
        Err(E::from(DbError::Panicked))
    });
    let end = if result.is_ok() {
        control(conn, "RELEASE write_job")
    } else {
        control(conn, "ROLLBACK TO write_job").and_then(|()| control(conn, "RELEASE write_job"))
    };
    end.map_err(|e| E::from(e.into()))?;
    result
}

/// The writer thread: takes every write waiting, runs them in one transaction, commits, answers.
fn writer_loop(
    conn: Connection,
    jobs: mpsc::Receiver<Box<dyn WriteJob>>,
    observer: &OnceLock<CommitObserver>,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = control(&conn, "BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "cannot begin a write transaction");
            let message = e.to_string();
            for job in batch {
                job.abort(DbError::Commit(message.clone()));
            }
            continue;
        }
        let finished: Vec<Box<dyn Finish>> = batch.into_iter().map(|job| job.run(&conn)).collect();
        let committing = Instant::now();
        let commit = control(&conn, "COMMIT").map_err(DbError::from);
        if let (Ok(()), Some(observe)) = (&commit, observer.get()) {
            observe(finished.len(), committing.elapsed());
        }
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

/// The file's schema version (`PRAGMA user_version`: the number of steps applied).
fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Applies the missing steps.
fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    migrate_to(conn, schema::SCHEMA_VERSION)
}

/// Applies steps up to `target`, each in its own transaction together with the version bump. Safe
/// against a concurrent migrator (the CLI and the server): the version is re-read under the write lock.
///
/// Foreign keys are switched off while steps run (SQLite only allows that outside a transaction): a step
/// that rebuilds a table, the only way SQLite changes a constraint, would otherwise fail on the rows that
/// refer to it. Each step instead checks every reference before it commits, and the connection's setting
/// is restored afterwards.
fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), DbError> {
    let enforced: bool = conn.pragma_query_value(None, "foreign_keys", |row| row.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = apply_steps(conn, target);
    conn.pragma_update(None, "foreign_keys", enforced)?;
    result
}

fn apply_steps(conn: &mut Connection, target: i64) -> Result<(), DbError> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some((next, step)) = schema::next_step(version(&tx)?, target)? else {
            return Ok(());
        };
        tx.execute_batch(step.sqlite())
            .and_then(|()| references_hold(&tx))
            .and_then(|()| tx.pragma_update(None, "user_version", next))
            .map_err(|source| DbError::Migration {
                version: next,
                source: Box::new(source),
            })?;
        tx.commit()?;
        tracing::info!(version = next, "database schema migrated");
    }
}

/// Opens an existing database file (`access`: read-write or read-only) for the backup API or a check,
/// never creating one and never migrating it.
fn open_existing(
    path: &Path,
    access: OpenFlags,
    busy_timeout: Duration,
) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|source| DbError::Open {
            path: path.to_owned(),
            source,
        })?;
    conn.busy_timeout(busy_timeout)?;
    Ok(conn)
}

/// Copies every page of `from` into `to` with SQLite's online backup API, in one step: the whole copy
/// is read in one read transaction, so it is the database as of one commit even while another process
/// (the server) goes on writing. (Copying a few pages per step would restart after every write of
/// another process and might never finish under a steady stream of writes.)
fn copy_pages(
    from: &Connection,
    to: &mut Connection,
    busy_timeout: Duration,
) -> Result<(), DbError> {
    let backup = Backup::new(from, to)?;
    let deadline = Instant::now() + busy_timeout;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            // A lock held by another connection (a writer checkpointing, say): wait for it, within
            // the busy timeout.
            StepResult::Busy | StepResult::Locked if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            StepResult::Busy | StepResult::Locked => {
                return Err(DbError::Commit(format!(
                    "the database stayed locked for {busy_timeout:?}; try again"
                )));
            }
            // Only a positive page count stops early; -1 copies everything. Go on if it ever does.
            _ => {}
        }
    }
}

/// A consistent copy of the SQLite database at `source` (which a running server may be writing) in the
/// new file `dest`, as a single self-contained file (rollback journal, not WAL).
pub(super) fn backup_file(
    source: &Path,
    dest: &Path,
    busy_timeout: Duration,
) -> Result<(), DbError> {
    let from = open_existing(source, OpenFlags::SQLITE_OPEN_READ_WRITE, busy_timeout)?;
    let mut to = Connection::open(dest).map_err(|source| DbError::Open {
        path: dest.to_owned(),
        source,
    })?;
    copy_pages(&from, &mut to, busy_timeout)?;
    let mode: String = to.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(DbError::Commit(format!(
            "the copy stayed in journal mode {mode}"
        )));
    }
    Ok(())
}

/// Replaces the content of the database `target` (created when missing) with the database `backup`,
/// through SQLite itself (so the target's own WAL is dealt with), and checkpoints it into the main file.
pub(super) fn restore_file(
    backup: &Path,
    target: &Path,
    busy_timeout: Duration,
) -> Result<(), DbError> {
    let from = open_existing(backup, OpenFlags::SQLITE_OPEN_READ_ONLY, busy_timeout)?;
    let open_err = |source| DbError::Open {
        path: target.to_owned(),
        source,
    };
    let mut to = Connection::open(target).map_err(open_err)?;
    to.busy_timeout(busy_timeout).map_err(open_err)?;
    copy_pages(&from, &mut to, busy_timeout)?;
    to.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
    to.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// What a database file holds, read without changing it: `PRAGMA integrity_check`, its schema version,
/// and (when it is at this binary's version) its row counts.
pub(super) fn check_file(path: &Path, busy_timeout: Duration) -> Result<CopyCheck, DbError> {
    let conn = open_existing(path, OpenFlags::SQLITE_OPEN_READ_ONLY, busy_timeout)?;
    let problems: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let integrity = problems.join("; ");
    let schema_version = version(&conn)?;
    let is_webqris: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'merchants')",
        [],
        |r| r.get(0),
    )?;
    let rows = if integrity == "ok" && schema_version == schema::SCHEMA_VERSION {
        Some(Conn(Backend::Sqlite(&conn)).row_counts()?)
    } else {
        None
    };
    Ok(CopyCheck {
        integrity,
        schema_version,
        is_webqris,
        rows,
    })
}

/// Fails, as a foreign-key constraint failure, when a row refers to a row that does not exist.
fn references_hold(conn: &Connection) -> rusqlite::Result<()> {
    let broken: i64 = conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken == 0 {
        return Ok(());
    }
    Err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
        Some(format!("{broken} rows refer to rows that do not exist")),
    ))
}

/// A parameter as rusqlite binds it, borrowing the text or bytes.
impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(i),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn bind<'p>(params: &'p [&'p dyn ToParam]) -> impl rusqlite::Params + 'p {
    rusqlite::params_from_iter(params.iter().map(|p| p.to_param()))
}

/// Every row of `sql`, in order, through `each`.
pub(super) fn query_each(
    conn: &Connection,
    sql: &'static str,
    params: &[&dyn ToParam],
    mut each: impl FnMut(&sql::Row<'_>) -> Result<(), DbError>,
) -> Result<(), DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(bind(params))?;
    while let Some(row) = rows.next()? {
        each(&sql::Row(RowImpl::Sqlite(row)))?;
    }
    Ok(())
}

/// Runs a statement without result rows; the number of rows changed.
pub(super) fn execute(
    conn: &Connection,
    sql: &'static str,
    params: &[&dyn ToParam],
) -> Result<usize, DbError> {
    Ok(conn.prepare_cached(sql)?.execute(bind(params))?)
}

/// Column `idx` of `row` as a [`Value`], decoded by `decode`; the inner `Err` is a value no
/// [`sql::FromColumn`] type reads (a real number, text that is not UTF-8).
pub(super) fn column<T>(
    row: &Row<'_>,
    idx: usize,
    decode: impl FnOnce(Value<'_>) -> Result<T, String>,
) -> Result<Result<T, String>, DbError> {
    Ok(match row.get_ref(idx)? {
        ValueRef::Null => decode(Value::Null),
        ValueRef::Integer(i) => decode(Value::Int(i)),
        ValueRef::Real(r) => Err(r.to_string()),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => decode(Value::Text(s)),
            Err(_) => Err(format!("<{} bytes of text that is not UTF-8>", t.len())),
        },
        ValueRef::Blob(b) => decode(Value::Blob(b)),
    })
}

/// The name of column `idx` (for error messages).
pub(super) fn column_name(row: &Row<'_>, idx: usize) -> String {
    row.as_ref()
        .column_name(idx)
        .map_or_else(|_| format!("#{idx}"), str::to_owned)
}

#[cfg(test)]
mod tests {
    use rusqlite::OptionalExtension;

    use super::*;
    use crate::db::Db;
    use crate::db::schema::{SCHEMA_VERSION, fixtures};
    use crate::db::sql::params;

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
            .read(|c| c.query_one("PRAGMA journal_mode", params![], |r| r.get(0)))
            .await
            .expect("pragma");
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn a_failed_write_rolls_back_only_itself_and_others_commit() {
        let (_dir, db) = open_temp();
        let create = |name: &'static str| {
            db.write(move |tx| {
                tx.execute(
                    "INSERT INTO operator_tokens (token_hash, prefix, created_at) VALUES (?1, 'p', 0)",
                    params![name],
                )?;
                Ok::<_, DbError>(())
            })
        };
        let failing = db.write(|tx| {
            tx.execute(
                "INSERT INTO operator_tokens (token_hash, prefix, created_at) VALUES ('doomed', 'p', 0)",
                params![],
            )?;
            Err::<(), _>(DbError::Panicked)
        });
        let (a, b, c) = tokio::join!(create("a"), failing, create("b"));
        a.expect("a commits");
        assert!(b.is_err());
        c.expect("b commits");
        let names: Vec<String> = db
            .read(|c| {
                c.query_all(
                    "SELECT token_hash FROM operator_tokens ORDER BY 1",
                    params![],
                    |r| r.get(0),
                )
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
                tx.execute(
                    "INSERT INTO operator_tokens (token_hash, prefix, created_at) VALUES ('x', 'p', 0)",
                    params![],
                )?;
                panic!("boom");
            })
            .await;
        assert!(matches!(result, Err(DbError::Panicked)));
        let count: i64 = db
            .write(|tx| {
                tx.query_one("SELECT COUNT(*) FROM operator_tokens", params![], |r| {
                    r.get(0)
                })
            })
            .await
            .expect("writer still alive");
        assert_eq!(count, 0);
    }

    #[tokio::test]
    async fn a_stored_value_that_does_not_decode_is_reported_with_its_column() {
        let (_dir, db) = open_temp();
        let err = db
            .read(|c| {
                c.query_one("SELECT 'sideways' AS status", params![], |r| {
                    r.get::<crate::db::DeliveryStatus>(0)
                })
            })
            .await
            .expect_err("an unknown spelling fails the row");
        assert!(
            matches!(&err, DbError::Corrupt { column, value } if column == "status" && value == "\"sideways\""),
            "{err}"
        );
    }

    #[test]
    fn a_version_1_file_with_data_upgrades_to_the_current_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        {
            let mut conn = Connection::open(&path).expect("open");
            migrate_to(&mut conn, 1).expect("first schema");
            assert_eq!(version(&conn).expect("version"), 1);
            conn.execute_batch(fixtures::V1_SEED).expect("seed v1 data");
        }
        let mut conn = Connection::open(&path).expect("reopen");
        migrate(&mut conn).expect("upgrade");
        assert_eq!(version(&conn).expect("version"), SCHEMA_VERSION);
        let (total, page): (i64, Option<String>) = conn
            .query_row(fixtures::V1_PAYMENT, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("v1 data survives");
        assert_eq!(total, 25042);
        assert_eq!(
            page, None,
            "invoices from before version 3 have no payment page"
        );
        conn.execute_batch(fixtures::LATER_USE)
            .expect("the later tables usable");
        migrate(&mut conn).expect("migrating twice is a no-op");
    }

    /// The step number of the `AUTOINCREMENT` rebuild (the version before it).
    fn rebuild_step() -> i64 {
        let step = schema::MIGRATIONS
            .iter()
            .position(|step| step.sqlite() == schema::V8_IDS_NEVER_REUSED_SQLITE)
            .expect("the rebuild is a step");
        i64::try_from(step).expect("small")
    }

    /// Everything about each table that the rebuild must keep: its columns (name, type, NOT NULL,
    /// default, key), its foreign keys (with their actions), its indexes (columns, uniqueness, the
    /// partial condition) and its CHECK constraints. Whitespace and comments do not count.
    fn table_shapes(conn: &Connection) -> Vec<(String, Vec<String>)> {
        let strings = |sql: &str| -> Vec<String> {
            let mut statement = conn.prepare(sql).expect("prepare");
            statement
                .query_map([], |r| {
                    let mut fields = Vec::new();
                    for i in 0..r.as_ref().column_count() {
                        let value: rusqlite::types::Value = r.get(i)?;
                        fields.push(format!("{value:?}"));
                    }
                    Ok(fields.join("|"))
                })
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        };
        let squeeze = |sql: &str| -> String {
            sql.lines()
                .map(|line| line.split("--").next().unwrap_or(""))
                .collect::<String>()
                .split_whitespace()
                .collect()
        };
        let tables: Vec<(String, String)> = {
            let mut statement = conn
                .prepare(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .expect("prepare");
            statement
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        };
        tables
            .into_iter()
            .map(|(table, sql)| {
                let mut shape = strings(&format!(
                    "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo('{table}')"
                ));
                shape.extend(strings(&format!(
                    "SELECT \"table\", \"from\", \"to\", on_update, on_delete \
                     FROM pragma_foreign_key_list('{table}') ORDER BY id, seq"
                )));
                // Automatic indexes (UNIQUE, PRIMARY KEY) by their columns, named ones by their DDL.
                shape.extend(strings(&format!(
                    "SELECT l.\"unique\", l.origin, l.partial, \
                            (SELECT group_concat(name) FROM pragma_index_info(l.name)), \
                            CASE WHEN l.origin = 'c' THEN l.name END \
                     FROM pragma_index_list('{table}') l ORDER BY 5, 4"
                )));
                let mut statement = conn
                    .prepare(
                        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 \
                         AND sql IS NOT NULL ORDER BY name",
                    )
                    .expect("prepare");
                let indexes: Vec<String> = statement
                    .query_map([&table], |r| r.get(0))
                    .expect("query")
                    .collect::<Result<_, _>>()
                    .expect("rows");
                shape.extend(indexes.iter().map(|sql| squeeze(sql)));
                // CHECK ( … ) with balanced parentheses, wherever it stands in the table's DDL.
                let ddl = squeeze(&sql);
                let mut rest = ddl.as_str();
                while let Some(at) = rest.find("CHECK(") {
                    let clause = &rest[at..];
                    let mut depth = 0;
                    let end = clause
                        .char_indices()
                        .find_map(|(i, c)| {
                            match c {
                                '(' => depth += 1,
                                ')' => depth -= 1,
                                _ => return None,
                            }
                            (depth == 0).then_some(i + 1)
                        })
                        .expect("balanced");
                    shape.push(clause[..end].to_owned());
                    rest = &clause[end..];
                }
                (table, shape)
            })
            .collect()
    }

    #[test]
    fn the_rebuild_keeps_every_column_constraint_index_and_table() {
        let mut conn = Connection::open_in_memory().expect("open");
        let before = rebuild_step();
        migrate_to(&mut conn, before).expect("the schema before the rebuild");
        let expected = table_shapes(&conn);
        migrate_to(&mut conn, before + 1).expect("the rebuild");
        let rebuilt = table_shapes(&conn);
        let names = |shapes: &[(String, Vec<String>)]| -> Vec<String> {
            shapes.iter().map(|(name, _)| name.clone()).collect()
        };
        assert_eq!(names(&rebuilt), names(&expected), "the same tables");
        for ((table, after), (_, before)) in rebuilt.iter().zip(&expected) {
            assert_eq!(after, before, "{table} kept its shape");
        }
        for table in [
            "merchants",
            "api_tokens",
            "operator_tokens",
            "payments",
            "notifications",
            "deliveries",
            "accounts",
            "sessions",
        ] {
            let sql: String = conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .expect("table");
            assert!(sql.contains("AUTOINCREMENT"), "{table}: {sql}");
        }
    }

    #[test]
    fn after_the_rebuild_deleted_ids_are_never_handed_out_again_and_old_rows_survive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("before-rebuild.db");
        {
            let mut conn = Connection::open(&path).expect("open");
            conn.pragma_update(None, "foreign_keys", true).expect("fk");
            migrate_to(&mut conn, rebuild_step()).expect("the schema before the rebuild");
            conn.execute_batch(
                "INSERT INTO accounts (id, email, password_hash, is_operator, created_at)
                 VALUES (1, 'owner@example.com', '$argon2id$x', 1, 0);
                 INSERT INTO sessions (id, account_id, token_hash, csrf_token, created_at, expires_at)
                 VALUES (1, 1, 'sh', 'c', 0, 9);
                 INSERT INTO merchants (id, name, webhook_secret, callback_secret_hash,
                                        callback_secret_prefix, owner_account_id, created_at)
                 VALUES (1, 'Toko A', 'whsec_a', 'ha', 'wqcb_a', 1, 0),
                        (2, 'Toko B', 'whsec_b', 'hb', 'wqcb_b', NULL, 0);
                 INSERT INTO api_tokens (id, merchant_id, token_hash, prefix, created_at, last_used_at)
                 VALUES (1, 1, 'ta', 'wqk_a', 0, 7), (2, 2, 'tb', 'wqk_b', 0, NULL);
                 INSERT INTO operator_tokens (id, token_hash, prefix, created_at) VALUES (1, 'oa', 'wqadm_a', 0);
                 INSERT INTO payments (id, invoice_id, merchant_id, amount, unique_code, total_amount,
                                       qris_payload, status, payment_method, created_at, expired_at,
                                       paid_at, closed_at, page_token)
                 VALUES (1, 'INV-1', 1, 25000, 42, 25042, 'q', 'paid', 'manual', 0, 9, 5, 5, 'pt1'),
                        (2, 'INV-2', 2, 1000, 1, 1001, 'q', 'pending', NULL, 0, 9, NULL, NULL, NULL);
                 INSERT INTO notifications (id, merchant_id, source, received_at, message, outcome, payment_id)
                 VALUES (1, 1, 'forwarder', 5, 'Rp25.042 diterima', 'paid', 1);
                 INSERT INTO notifications (id, merchant_id, source, received_at, app, outcome,
                                            channel_id, trust, trust_reason)
                 VALUES (2, 1, 'forwarder', 6, 'id.dana', 'held', 'payments-2', 'held', 'new_channel');
                 INSERT INTO notification_payments (notification_id, position, amount, outcome, payment_id)
                 VALUES (1, 0, 25042, 'paid', 1);
                 INSERT INTO seen (merchant_id, kind, key, seen_at, notification_id)
                 VALUES (1, 'content', 'k', 5, 1);
                 INSERT INTO deliveries (id, message_id, merchant_id, payment_id, event, body,
                                         next_attempt_at, created_at)
                 VALUES (1, 'msg_1', 1, 1, 'payment.paid', x'7b7d', 5, 5);
                 INSERT INTO delivery_attempts (delivery_id, attempt, url, started_at, duration_ms)
                 VALUES (1, 1, 'https://shop.example/hook', 5, 10);
                 INSERT INTO manual_confirmations (payment_id, account_id, reason, notification_id, confirmed_at)
                 VALUES (1, 1, 'seen', 1, 5);
                 INSERT INTO devices (merchant_id, device_id, first_seen_at, last_seen_at)
                 VALUES (1, 'device-01', 0, 0);",
            )
            .expect("a populated file");
        }
        let mut conn = Connection::open(&path).expect("reopen");
        conn.pragma_update(None, "foreign_keys", true).expect("fk");
        migrate(&mut conn).expect("upgrade");
        assert_eq!(version(&conn).expect("version"), SCHEMA_VERSION);
        let fk: bool = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .expect("pragma");
        assert!(fk, "foreign keys are enforced again after the migration");
        let broken: Option<String> = conn
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()
            .expect("check");
        assert_eq!(broken, None, "every reference survived the rebuild");
        let kept: (String, i64, Option<String>, Option<i64>) = conn
            .query_row(
                "SELECT p.invoice_id, p.total_amount, p.page_token, t.last_used_at
                 FROM payments p JOIN api_tokens t ON t.merchant_id = p.merchant_id WHERE p.id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("old rows");
        assert_eq!(kept, ("INV-1".into(), 25042, Some("pt1".into()), Some(7)));
        let held: (String, String, String) = conn
            .query_row(
                "SELECT outcome, channel_id, trust_reason FROM notifications WHERE id = 2",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("the held notification");
        assert_eq!(
            held,
            ("held".into(), "payments-2".into(), "new_channel".into())
        );
        // The pending-total invariant's index came back with the table.
        let clash = conn.execute(
            "INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, created_at, expired_at)
             VALUES ('INV-x', 2, 1000, 1, 1001, 'q', 0, 9)",
            [],
        );
        assert!(clash.is_err(), "two pending payments of one total refused");
        // Delete the newest merchant (and its rows), then make a new one: its id is new.
        conn.execute_batch(
            "DELETE FROM payments WHERE merchant_id = 2;
             DELETE FROM api_tokens WHERE merchant_id = 2;
             DELETE FROM merchants WHERE id = 2;
             INSERT INTO merchants (name, webhook_secret, callback_secret_hash, callback_secret_prefix,
                                    created_at)
             VALUES ('Toko C', 'whsec_c', 'hc', 'wqcb_c', 0);
             INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, created_at, expired_at)
             VALUES ('INV-3', 1, 1000, 2, 1002, 'q', 0, 9);",
        )
        .expect("delete and insert");
        let ids: (i64, i64) = conn
            .query_row(
                "SELECT (SELECT id FROM merchants WHERE name = 'Toko C'),
                        (SELECT id FROM payments WHERE invoice_id = 'INV-3')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("ids");
        assert_eq!(
            ids,
            (3, 3),
            "the deleted merchant 2's and payment 2's ids are not reused"
        );
    }

    #[test]
    fn old_rows_go_in_batches_and_nothing_is_left_dangling() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "foreign_keys", true).expect("fk");
        migrate(&mut conn).expect("schema");
        conn.execute_batch(
            "INSERT INTO merchants (id, name, webhook_secret, callback_secret_hash,
                                    callback_secret_prefix, created_at)
             VALUES (1, 'A', 's', 'h', 'p', 0);
             INSERT INTO payments (id, invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, status, payment_method, created_at, expired_at,
                                   paid_at, closed_at)
             VALUES (1, 'INV-old', 1, 1000, 1, 1001, 'q', 'paid', 'manual', 0, 10, 10, 10),
                    (2, 'INV-new', 1, 1000, 2, 1002, 'q', 'paid', 'manual', 0, 10, 900, 900);
             INSERT INTO notifications (id, merchant_id, source, received_at, outcome, payment_id)
             VALUES (1, 1, 'forwarder', 5, 'paid', 1), (2, 1, 'forwarder', 6, 'no_match', NULL),
                    (3, 1, 'forwarder', 7, 'late', NULL), (4, 1, 'forwarder', 950, 'paid', 2);
             INSERT INTO notification_payments (notification_id, position, amount, outcome, payment_id)
             VALUES (1, 0, 1001, 'paid', 1);
             INSERT INTO seen (merchant_id, kind, key, seen_at, notification_id)
             VALUES (1, 'content', 'old', 5, 1), (1, 'content', 'new', 950, 4);
             INSERT INTO manual_confirmations (payment_id, reason, notification_id, confirmed_at)
             VALUES (2, 'kept', 3, 900);
             INSERT INTO deliveries (id, message_id, merchant_id, payment_id, event, body, status,
                                     next_attempt_at, created_at)
             VALUES (1, 'm1', 1, 1, 'payment.paid', x'00', 'delivered', 10, 10);
             INSERT INTO delivery_attempts (delivery_id, attempt, url, started_at, duration_ms)
             VALUES (1, 1, 'u', 10, 1);",
        )
        .expect("rows");
        let cutoff = webqris_core::Timestamp::from_millis(100);
        let tx = Tx(Conn(Backend::Sqlite(&conn)));
        // Notifications 1 and 2 are old; 3 is old but a manual confirmation refers to it.
        assert_eq!(
            tx.prune(crate::db::Prunable::Notifications, cutoff, 1)
                .expect("prune"),
            1
        );
        assert_eq!(
            tx.prune(crate::db::Prunable::Notifications, cutoff, 10)
                .expect("prune"),
            1
        );
        assert_eq!(
            tx.prune(crate::db::Prunable::Notifications, cutoff, 10)
                .expect("prune"),
            0
        );
        assert_eq!(
            tx.prune(crate::db::Prunable::SeenKeys, cutoff, 10)
                .expect("prune"),
            1
        );
        assert_eq!(
            tx.prune(crate::db::Prunable::DeliveryAttempts, cutoff, 10)
                .expect("prune"),
            1
        );
        assert_eq!(
            tx.prune(crate::db::Prunable::FinishedInvoices, cutoff, 10)
                .expect("prune"),
            1
        );
        let left: (i64, i64, i64, i64) = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM notifications), (SELECT COUNT(*) FROM seen),
                        (SELECT COUNT(*) FROM payments), (SELECT COUNT(*) FROM deliveries)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("counts");
        assert_eq!(
            left,
            (2, 1, 1, 0),
            "the new rows and the reconciled notification stay"
        );
        let broken: Option<String> = conn
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()
            .expect("check");
        assert_eq!(broken, None);
    }

    #[test]
    fn a_version_3_file_with_notifications_keeps_them_and_their_references_through_the_trust_step()
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v3.db");
        {
            let mut conn = Connection::open(&path).expect("open");
            conn.pragma_update(None, "foreign_keys", "ON")
                .expect("foreign keys");
            migrate_to(&mut conn, 3).expect("version 3");
            conn.execute_batch(
                "INSERT INTO merchants (id, name, webhook_secret, callback_secret_hash,
                                        callback_secret_prefix, created_at)
                 VALUES (1, 'Toko ABC', 'whsec_x', 'h', 'wqcb_', 0);
                 INSERT INTO payments (id, invoice_id, merchant_id, amount, unique_code, total_amount,
                                       qris_payload, created_at, expired_at)
                 VALUES (1, 'INV-1-aaaaaa', 1, 25000, 42, 25042, 'qris', 0, 1800000);
                 INSERT INTO notifications (id, merchant_id, source, received_at, app, title, message,
                                            outcome, reason, parsed_amount, payment_id)
                 VALUES (7, 1, 'forwarder', 5, 'id.dana', 'DANA', 'Rp25.042 diterima DANA Bisnis.',
                         'no_match', NULL, 25042, 1),
                        (8, 1, 'forwarder', 6, 'id.dana', 'DANA', 'halo', 'no_amount', 'unrecognized',
                         NULL, NULL);
                 INSERT INTO notification_payments (notification_id, position, amount, outcome)
                 VALUES (7, 0, 25042, 'no_match');
                 INSERT INTO seen (merchant_id, kind, key, seen_at, notification_id)
                 VALUES (1, 'content', 'k', 5, 7);
                 INSERT INTO manual_confirmations (payment_id, reason, notification_id, confirmed_at)
                 VALUES (1, 'by hand', 7, 9);",
            )
            .expect("seed v3 data");
        }
        let mut conn = Connection::open(&path).expect("reopen");
        conn.pragma_update(None, "foreign_keys", "ON")
            .expect("foreign keys");
        migrate(&mut conn).expect("upgrade with foreign keys enforced");
        assert_eq!(version(&conn).expect("version"), schema::SCHEMA_VERSION);
        let kept: Vec<(i64, String, Option<i64>)> = conn
            .prepare("SELECT id, outcome, parsed_amount FROM notifications ORDER BY id")
            .expect("query")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("read");
        assert_eq!(
            kept,
            vec![
                (7, "no_match".to_owned(), Some(25042)),
                (8, "no_amount".to_owned(), None)
            ]
        );
        let broken: i64 = conn
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .expect("check");
        assert_eq!(broken, 0, "children still refer to their notifications");
        let refers: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'notification_payments'",
                [],
                |r| r.get(0),
            )
            .expect("schema");
        assert!(refers.contains("REFERENCES notifications (id)"), "{refers}");
        conn.execute_batch(
            "INSERT INTO notifications (merchant_id, source, received_at, app, outcome, trust,
                                        trust_reason, category, template, channel_id)
             VALUES (1, 'forwarder', 10, 'com.whatsapp', 'untrusted', 'untrusted',
                     'untrusted_source', 'msg', 'android.app.Notification$MessagingStyle', 'chat');
             INSERT INTO trusted_titles (merchant_id, package, title, created_at)
             VALUES (1, 'com.example.pos', 'Pembayaran diterima', 0);
             INSERT INTO merchant_channels (merchant_id, app, channel_id, learned_by, created_at)
             VALUES (1, 'com.gojek.resto', 'payments', 'payment', 0);",
        )
        .expect("the trust step's tables and outcomes usable");
        let refused = conn.execute(
            "INSERT INTO notifications (merchant_id, source, received_at, outcome)
             VALUES (1, 'forwarder', 11, 'maybe')",
            [],
        );
        assert!(refused.is_err(), "outcomes are still checked");
        migrate(&mut conn).expect("migrating twice is a no-op");
    }

    #[test]
    fn a_file_from_a_newer_webqris_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = Connection::open(dir.path().join("new.db")).expect("open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("set version");
        let err = migrate(&mut conn).expect_err("refused");
        assert!(matches!(err, DbError::TooNew { .. }), "{err}");
    }

    #[test]
    fn the_pending_total_index_refuses_a_second_pending_payment_with_the_same_total() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("schema");
        conn.execute_batch(
            "INSERT INTO merchants (id, name, webhook_secret, callback_secret_hash,
                                    callback_secret_prefix, created_at)
             VALUES (1, 'A', 's', 'h', 'p', 0);
             INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, created_at, expired_at)
             VALUES ('INV-1', 1, 25000, 42, 25042, 'q', 0, 1);",
        )
        .expect("first");
        let second = conn.execute(
            "INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, created_at, expired_at)
             VALUES ('INV-2', 1, 25041, 1, 25042, 'q', 0, 1)",
            [],
        );
        assert!(second.is_err(), "same pending total refused by the index");
        conn.execute(
            "UPDATE payments SET status = 'expired', closed_at = 1 WHERE invoice_id = 'INV-1'",
            [],
        )
        .expect("expire");
        conn.execute(
            "INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, created_at, expired_at)
             VALUES ('INV-2', 1, 25041, 1, 25042, 'q', 0, 1)",
            [],
        )
        .expect("allowed once the first is no longer pending");
    }

    #[test]
    fn the_event_cursor_index_refuses_a_cursor_handed_out_twice() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("schema");
        let event = |seq: i64| {
            conn.execute(
                "INSERT INTO events (merchant_id, seq, event, data, ts, origin)
                 VALUES (1, ?1, 'new_payment', '{}', 0, 'local')",
                [seq],
            )
        };
        conn.execute_batch(
            "INSERT INTO merchants (id, name, webhook_secret, callback_secret_hash,
                                    callback_secret_prefix, created_at)
             VALUES (1, 'A', 's', 'h', 'p', 0);",
        )
        .expect("merchant");
        event(1).expect("first");
        event(2).expect("second");
        assert!(event(2).is_err(), "cursor 2 stored once");
    }
}
