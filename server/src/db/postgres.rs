//! The PostgreSQL backend, the only place the `postgres` crate is used: a pool of connections, each write
//! closure in its own transaction on one of them, reads on another, the statements of [`super::sql`]
//! translated once (`?N` → `$N`) and prepared once per connection, and migrations recorded in
//! `webqris_schema` under an advisory lock.
//!
//! The client is sfackler's synchronous `postgres` (tokio-postgres driven on the calling thread), so a
//! closure runs exactly as on SQLite: synchronously, on a blocking thread, its statements one after the
//! other without a hop to another task. Several nodes may share the database: the money rules rest on
//! the database (the partial unique index, per-merchant row locks taken by [`Tx::lock_merchant`], the
//! conditional paid update, primary keys), never on this process.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};
use tokio::sync::Semaphore;

use super::event::CHANNEL;
use super::schema;
use super::sql::{self, Backend, RowImpl, ToParam, Value};
use super::{CommitObserver, Conn, DbError, EventWakes, MerchantId, Tx};
use crate::config::DatabaseConfig;

pub(super) use postgres::Row;

/// Serialises migrators across every node: an arbitrary constant (`sql::Serial` holds the others).
const MIGRATION_LOCK: i64 = 0x7765_6271_7269_7301;

/// Whether `target` names a PostgreSQL database rather than a SQLite file.
pub(super) fn is_url(target: &str) -> bool {
    target.starts_with("postgres://") || target.starts_with("postgresql://")
}

/// `target` with its password (user info after `:`, or a `password=` parameter) replaced by `***`, for
/// logs, errors and `webqris config`.
pub(super) fn redact(target: &str) -> String {
    let (scheme, rest) = target.split_once("://").unwrap_or(("", target));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<&str> = query
                .split('&')
                .map(|pair| {
                    if pair.to_ascii_lowercase().starts_with("password=") {
                        "password=***"
                    } else {
                        pair
                    }
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// `text` as PostgreSQL can store it: its text cannot hold NUL (SQLite's can), so a NUL from a client
/// (garbage in a notification, a hostile path, a receiver's answer) is stored and looked up as U+FFFD
/// alike, never refused. Every text parameter goes through it, and text sent inside JSON too.
pub(super) fn storable_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}").into()
    } else {
        text.into()
    }
}

/// One pooled connection with the statements prepared on it, and the node it belongs to.
pub(super) struct PgConn(RefCell<Session>, Arc<str>);

struct Session {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// The node a connection belongs to (see [`Conn::origin`]).
pub(super) fn origin(conn: &PgConn) -> &str {
    &conn.1
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgConn")
    }
}

/// The database: how to connect, and the idle connections.
pub(super) struct Postgres {
    target: String,
    origin: Arc<str>,
    config: postgres::Config,
    idle: Mutex<Vec<PgConn>>,
    permits: Semaphore,
    observer: Arc<OnceLock<CommitObserver>>,
}

impl Postgres {
    /// Connects to `url`, brings the schema up to date and keeps the connection for the pool. Runs on
    /// its own thread: the client drives its own small runtime, which may not start inside the caller's.
    pub(super) fn open(url: &str, config: &DatabaseConfig) -> Result<Self, DbError> {
        let target = redact(url);
        let connect_err = |source| DbError::Connect {
            target: target.clone(),
            source,
        };
        let mut pg: postgres::Config = url.parse().map_err(connect_err)?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(config.connect_timeout_secs.duration());
        }
        pg.application_name("webqris");
        // Connecting and migrating run on their own thread, and the connection has a deadline there
        // even when the server accepts TCP and then says nothing (the driver's timeout covers only the
        // socket).
        let deadline = config.connect_timeout_secs.duration();
        let (stage, stages) = std::sync::mpsc::channel::<Result<Option<PgConn>, DbError>>();
        let connect = pg.clone();
        let origin: Arc<str> = format!("{:016x}", rand::random::<u64>()).into();
        let first_origin = Arc::clone(&origin);
        std::thread::Builder::new()
            .name("webqris-pg-open".into())
            .spawn(move || {
                let opened = connect.connect(NoTls).map_err(DbError::from);
                let mut client = match opened {
                    Ok(client) => client,
                    Err(e) => return drop(stage.send(Err(e))),
                };
                let _ = stage.send(Ok(None));
                let migrated = migrate(&mut client, schema::SCHEMA_VERSION);
                let _ = stage.send(migrated.map(|()| Some(PgConn::new(client, first_origin))));
            })
            .map_err(|e| DbError::Commit(format!("cannot start a connection thread: {e}")))?;
        let first = match stages.recv_timeout(deadline + std::time::Duration::from_secs(1)) {
            Ok(Ok(None)) => stages.recv().unwrap_or(Err(DbError::Panicked)),
            Ok(Err(DbError::Postgres(source))) => Err(connect_err(source)),
            Ok(other) => other,
            Err(_) => Err(DbError::ConnectTimeout {
                target: target.clone(),
                secs: deadline.as_secs(),
            }),
        }?
        .ok_or(DbError::Panicked)?;
        Ok(Self {
            target,
            origin,
            config: pg,
            idle: Mutex::new(vec![first]),
            permits: Semaphore::new(config.pool.max(1)),
            observer: Arc::new(OnceLock::new()),
        })
    }

    /// This node's name in the events it writes.
    pub(super) fn origin(&self) -> &str {
        &self.origin
    }

    /// The database, without its password.
    pub(super) fn target(&self) -> &str {
        &self.target
    }

    /// Starts listening for other nodes' events on a connection of its own (a thread, because the
    /// client blocks): each notification wakes `wakes` for its merchant, and every (re)connection and
    /// every [`RESCAN_EVERY`] asks for a full rescan, so that nothing missed while the connection was
    /// down, or lost otherwise, stays unrelayed. The thread ends soon after the last other holder of
    /// `wakes` drops it.
    pub(super) fn listen(&self, wakes: Arc<EventWakes>) -> Result<(), DbError> {
        let (config, target) = (self.config.clone(), self.target.clone());
        let origin = Arc::clone(&self.origin);
        std::thread::Builder::new()
            .name("webqris-pg-listen".into())
            .spawn(move || listen(&config, &target, &origin, &wakes))
            .map(drop)
            .map_err(|e| DbError::Commit(format!("cannot start the event listener: {e}")))
    }

    /// Runs `job` on a pooled connection (opening one when none is idle) on a blocking thread.
    async fn with_conn<R: Send + 'static>(
        self: &Arc<Self>,
        job: impl FnOnce(&PgConn) -> R + Send + 'static,
    ) -> Result<R, DbError> {
        let permit = self.permits.acquire().await.map_err(|_| DbError::Closed)?;
        let this = Arc::clone(self);
        let joined = tokio::task::spawn_blocking(move || {
            let idle = this
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .filter(|c| !c.0.borrow().client.is_closed());
            let conn = match idle {
                Some(conn) => conn,
                None => PgConn::new(
                    this.config
                        .connect(NoTls)
                        .map_err(|source| DbError::Connect {
                            target: this.target.clone(),
                            source,
                        })?,
                    Arc::clone(&this.origin),
                ),
            };
            let result = catch_unwind(AssertUnwindSafe(|| job(&conn)));
            if !conn.0.borrow().client.is_closed() {
                this.idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(conn);
            }
            result.map_err(|_| DbError::Panicked)
        })
        .await;
        drop(permit);
        joined.unwrap_or(Err(DbError::Panicked))
    }

    /// Sets who is told about every commit (the first one set stays).
    pub(super) fn observe_commits(&self, observer: CommitObserver) {
        // Set once, by the server at startup; a second call changes nothing.
        let _ = self.observer.set(observer);
    }

    /// Runs `f` in its own transaction; answers after the commit.
    pub(super) async fn write<T, E, F>(self: &Arc<Self>, f: F) -> Result<T, E>
    where
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let observer = Arc::clone(&self.observer);
        self.with_conn(move |conn| in_transaction(conn, f, observer.get()))
            .await
            .unwrap_or_else(|e| {
                if matches!(e, DbError::Panicked) {
                    tracing::error!(
                        "a database write closure panicked; its changes are rolled back"
                    );
                }
                Err(E::from(e))
            })
    }

    /// Runs `f` on a pooled connection outside any explicit transaction.
    pub(super) async fn read<T, E, F>(self: &Arc<Self>, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.with_conn(move |conn| f(&Conn(Backend::Postgres(conn))))
            .await
            .unwrap_or_else(|e| {
                if matches!(e, DbError::Panicked) {
                    tracing::error!("a database read closure panicked");
                }
                Err(E::from(e))
            })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A client closes its connection by blocking on its own runtime, which may not happen on a
        // thread that drives async tasks (where the last handle is usually dropped).
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(PoisonError::into_inner));
        if !idle.is_empty() {
            std::thread::spawn(move || drop(idle));
        }
    }
}

impl PgConn {
    fn new(client: Client, origin: Arc<str>) -> Self {
        Self(
            RefCell::new(Session {
                client,
                statements: HashMap::new(),
            }),
            origin,
        )
    }

    fn batch(&self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.borrow_mut().client.batch_execute(sql)?)
    }
}

/// How often the listener asks for a full rescan even when no notification came.
const RESCAN_EVERY: Duration = Duration::from_secs(5);

/// How long the listener waits for a notification before it looks whether it should stop or rescan.
const LISTEN_TICK: Duration = Duration::from_millis(500);

fn listen(config: &postgres::Config, target: &str, origin: &str, wakes: &Arc<EventWakes>) {
    while Arc::strong_count(wakes) > 1 {
        let mut client = match config.connect(NoTls) {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(db = target, error = %e, "event listener cannot connect; retrying");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")) {
            tracing::warn!(error = %e, "event listener cannot LISTEN; retrying");
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        // Listening from here on: whatever committed before is found by this rescan.
        wakes.rescan();
        let mut rescanned = Instant::now();
        while Arc::strong_count(wakes) > 1 {
            let mut notifications = client.notifications();
            let mut batch = notifications.timeout_iter(LISTEN_TICK);
            let failed = loop {
                match batch.next() {
                    Ok(Some(n)) => match n.payload().split_once(' ') {
                        // This node's own events were published when they committed.
                        Some((_, from)) if from == origin => {}
                        Some((id, _)) => match id.parse() {
                            Ok(id) => wakes.merchant(MerchantId(id)),
                            Err(_) => wakes.rescan(),
                        },
                        None => wakes.rescan(),
                    },
                    Err(e) => break Some(e),
                    Ok(None) => break None,
                }
            };
            if let Some(e) = failed {
                tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                break;
            }
            if rescanned.elapsed() >= RESCAN_EVERY {
                wakes.rescan();
                rescanned = Instant::now();
            }
        }
    }
}

/// `BEGIN`, the closure, then `COMMIT`; `ROLLBACK` if it fails or panics (the panic goes on to
/// [`Postgres::with_conn`], which reports it).
fn in_transaction<T, E: From<DbError>>(
    conn: &PgConn,
    f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    observer: Option<&CommitObserver>,
) -> Result<T, E> {
    conn.batch("BEGIN").map_err(E::from)?;
    let tx = Tx(Conn(Backend::Postgres(conn)));
    let result = catch_unwind(AssertUnwindSafe(|| f(&tx)));
    match result {
        Ok(Ok(value)) => {
            let committing = Instant::now();
            let committed = conn.batch("COMMIT");
            if let (Ok(()), Some(observe)) = (&committed, observer) {
                observe(1, committing.elapsed());
            }
            match committed {
                Ok(()) => Ok(value),
                Err(e) => Err(E::from(DbError::Commit(e.to_string()))),
            }
        }
        Ok(Err(e)) => {
            rollback(conn);
            Err(e)
        }
        Err(panic) => {
            rollback(conn);
            std::panic::resume_unwind(panic)
        }
    }
}

fn rollback(conn: &PgConn) {
    if let Err(e) = conn.batch("ROLLBACK") {
        tracing::error!(error = %e, "rollback failed");
    }
}

/// Applies steps up to `target`, each in its own transaction together with the version, under an
/// advisory lock so that nodes starting together migrate one after the other.
fn migrate(client: &mut Client, target: i64) -> Result<(), DbError> {
    loop {
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS webqris_schema (version BIGINT NOT NULL)")?;
        let current: i64 = tx
            .query_opt("SELECT version FROM webqris_schema", &[])?
            .map_or(0, |row| row.get(0));
        let Some((next, step)) = schema::next_step(current, target)? else {
            return Ok(());
        };
        let ddl = step.postgres();
        tx.batch_execute(&ddl)
            .and_then(|()| tx.execute("DELETE FROM webqris_schema", &[]).map(drop))
            .and_then(|()| {
                tx.execute("INSERT INTO webqris_schema (version) VALUES ($1)", &[&next])
                    .map(drop)
            })
            .map_err(|source| DbError::Migration {
                version: next,
                source: Box::new(source),
            })?;
        tx.commit()?;
        tracing::info!(version = next, "database schema migrated");
    }
}

/// A statement in PostgreSQL's spelling: `?N` placeholders become `$N` (outside string literals).
fn translate(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => out.push('$'),
            c => out.push(c),
        }
    }
    out
}

/// The prepared statement for `sql` on this connection (prepared on first use).
fn prepared(session: &mut Session, sql: &'static str) -> Result<Statement, DbError> {
    if let Some(statement) = session.statements.get(sql) {
        return Ok(statement.clone());
    }
    let statement = session.client.prepare(&translate(sql))?;
    session.statements.insert(sql, statement.clone());
    Ok(statement)
}

/// Runs `call` with the prepared statement of `sql` and the parameters as the client binds them.
fn with_statement<R>(
    conn: &PgConn,
    sql: &'static str,
    params: &[&dyn ToParam],
    call: impl FnOnce(&mut Client, &Statement, &[&(dyn ToSql + Sync)]) -> Result<R, postgres::Error>,
) -> Result<R, DbError> {
    let values: Vec<Value<'_>> = params.iter().map(|p| p.to_param()).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
    let mut session = conn.0.borrow_mut();
    let statement = prepared(&mut session, sql)?;
    Ok(call(&mut session.client, &statement, &refs)?)
}

/// Every row of `sql`, in order, through `each`.
pub(super) fn query_each(
    conn: &PgConn,
    sql: &'static str,
    params: &[&dyn ToParam],
    mut each: impl FnMut(&sql::Row<'_>) -> Result<(), DbError>,
) -> Result<(), DbError> {
    let rows = with_statement(conn, sql, params, |client, statement, params| {
        client.query(statement, params)
    })?;
    rows.iter()
        .try_for_each(|row| each(&sql::Row(RowImpl::Postgres(row))))
}

/// Runs a statement without result rows; the number of rows changed.
pub(super) fn execute(
    conn: &PgConn,
    sql: &'static str,
    params: &[&dyn ToParam],
) -> Result<usize, DbError> {
    let changed = with_statement(conn, sql, params, |client, statement, params| {
        client.execute(statement, params)
    })?;
    Ok(usize::try_from(changed).unwrap_or(usize::MAX))
}

/// A parameter in the type PostgreSQL inferred for its placeholder (integers fit the column's width
/// or fail the statement; a BOOL placeholder, which our SQL never has, would take 0/1 as false/true).
impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Value::Text(s) => storable_text(s).as_ref().to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Column `idx` of `row` as a [`Value`], decoded by `decode`; the inner `Err` is a value of a type no
/// [`sql::FromColumn`] reads (a numeric: cast SUMs to BIGINT).
pub(super) fn column<T>(
    row: &Row,
    idx: usize,
    decode: impl FnOnce(Value<'_>) -> Result<T, String>,
) -> Result<Result<T, String>, DbError> {
    let ty = row
        .columns()
        .get(idx)
        .map(|c| c.type_().clone())
        .ok_or(DbError::NoColumn(idx))?;
    let value = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(idx)?.map(Value::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(idx)?
            .map(|i| Value::Int(i.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(idx)?
            .map(|i| Value::Int(i.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(idx)?
            .map(|b| Value::Int(b.into())),
        Type::BYTEA => row.try_get::<_, Option<&[u8]>>(idx)?.map(Value::Blob),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            row.try_get::<_, Option<&str>>(idx)?.map(Value::Text)
        }
        other => return Ok(Err(format!("<a value of type {other}>"))),
    };
    Ok(decode(value.unwrap_or(Value::Null)))
}

/// The name of column `idx` (for error messages).
pub(super) fn column_name(row: &Row, idx: usize) -> String {
    row.columns()
        .get(idx)
        .map_or_else(|| format!("#{idx}"), |c| c.name().to_owned())
}

/// The URL of a new empty database `name` on the server `WEBQRIS_TEST_POSTGRES` names
/// (scripts/test.d/10-postgres.sh), or `None` on a SQLite-only run. Blocks (call it outside a runtime,
/// or on a thread of its own).
#[cfg(test)]
pub(super) fn fresh_test_database(name: &str) -> Option<String> {
    let server = std::env::var("WEBQRIS_TEST_POSTGRES").ok()?;
    let name = format!("u{}_{name}", std::process::id());
    let mut admin = Client::connect(&server, NoTls).expect("test PostgreSQL");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::{SCHEMA_VERSION, fixtures};

    /// A client on a new empty database ([`fresh_test_database`]), or `None` on a SQLite-only run.
    fn fresh_client(name: &str) -> Option<Client> {
        let url = fresh_test_database(name)?;
        Some(Client::connect(&url, NoTls).expect("connect"))
    }

    fn version(client: &mut Client) -> i64 {
        client
            .query_one("SELECT version FROM webqris_schema", &[])
            .expect("version")
            .get(0)
    }

    #[test]
    fn a_version_1_database_with_data_upgrades_to_the_current_schema() {
        let Some(mut client) = fresh_client("upgrade") else {
            return; // Runs in the PostgreSQL suite; SQLite's twin is in sqlite.rs.
        };
        migrate(&mut client, 1).expect("first schema");
        assert_eq!(version(&mut client), 1);
        client
            .batch_execute(fixtures::V1_SEED)
            .expect("seed v1 data");
        migrate(&mut client, SCHEMA_VERSION).expect("upgrade");
        assert_eq!(version(&mut client), SCHEMA_VERSION);
        let row = client
            .query_one(fixtures::V1_PAYMENT, &[])
            .expect("v1 data survives");
        assert_eq!(row.get::<_, i64>(0), 25042);
        assert_eq!(row.get::<_, Option<String>>(1), None);
        client
            .batch_execute(fixtures::LATER_USE)
            .expect("the later tables usable");
        migrate(&mut client, SCHEMA_VERSION).expect("migrating twice is a no-op");
        client
            .execute(
                "UPDATE webqris_schema SET version = $1",
                &[&(SCHEMA_VERSION + 1)],
            )
            .expect("pretend a newer webqris");
        let err = migrate(&mut client, SCHEMA_VERSION).expect_err("refused");
        assert!(matches!(err, DbError::TooNew { .. }), "{err}");
    }

    #[test]
    fn the_pending_total_index_refuses_a_second_pending_payment_with_the_same_total() {
        let Some(mut client) = fresh_client("pending_total") else {
            return;
        };
        migrate(&mut client, SCHEMA_VERSION).expect("schema");
        client.batch_execute(fixtures::V1_SEED).expect("first");
        let second =
            "INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                            qris_payload, created_at, expired_at)
                      VALUES ('INV-2', 1, 25041, 1, 25042, 'q', 0, 1)";
        assert!(
            client.batch_execute(second).is_err(),
            "refused by the index"
        );
        client
            .batch_execute(
                "UPDATE payments SET status = 'expired', closed_at = 1 WHERE invoice_id = 'INV-1-aaaaaa'",
            )
            .expect("expire");
        client
            .batch_execute(second)
            .expect("allowed once the first is no longer pending");
    }

    #[test]
    fn placeholders_become_dollar_numbers_outside_string_literals() {
        assert_eq!(
            translate("SELECT '?1', x FROM t WHERE a = ?1 AND b LIKE ?12 ESCAPE '\\'"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b LIKE $12 ESCAPE '\\'"
        );
    }

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redact("postgres://webqris:s3cret@db.example:5432/webqris?sslmode=disable"),
            "postgres://webqris:***@db.example:5432/webqris?sslmode=disable"
        );
        assert_eq!(
            redact("postgresql://u@h/db?password=s3cret&connect_timeout=2"),
            "postgresql://u@h/db?password=***&connect_timeout=2"
        );
        assert_eq!(
            redact("postgres://h/db?PASSWORD=s3cret"),
            "postgres://h/db?password=***"
        );
        assert_eq!(redact("postgres://u:p:q@h/db"), "postgres://u:***@h/db");
        assert!(is_url("postgresql://h/db") && is_url("postgres://h/db"));
        assert!(!is_url("./data/postgres://x"));
    }
}
