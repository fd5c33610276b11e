//! The database: every SQL statement of the server lives under this module; callers see typed methods.
//!
//! [`Db::write`] runs a closure inside a write transaction and answers once it is durable;
//! [`Db::read`] runs one on a read-only connection. The table modules (`account`, `delivery`, `device`,
//! `merchant`, `notification`, `payment`, and `schema` for the migrations) are written once against the
//! backend-neutral API of [`sql`]; the backend modules (`sqlite`, `postgres`) are the only ones that know
//! a driver.

mod account;
mod credential;
mod delivery;
mod device;
mod event;
mod login;
mod merchant;
mod notification;
mod payment;
mod postgres;
mod retention;
pub mod schema;
pub(crate) mod sql;
mod sqlite;
mod stats;
mod trust;

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use account::*;
pub use delivery::*;
pub use device::*;
pub use event::*;
pub use login::*;
pub use merchant::*;
pub use notification::*;
pub use payment::*;
pub use retention::*;
pub use stats::*;
pub use trust::*;

use crate::config::DatabaseConfig;
use sql::Backend;

/// Longest title or free text stored from a client (a notification's), in characters: the parser's own
/// bound, so nothing it could read is lost and what settlement already cut (at as many bytes, marked "…")
/// is never cut again here; the cut only bounds what an attacker can make the server keep.
pub const MAX_STORED_TEXT_CHARS: usize = webqris_core::notification::MAX_TEXT_BYTES;
/// Longest short field stored from a client (an app package, a channel, a name, an id, a reference, a
/// hash).
pub const MAX_STORED_FIELD_CHARS: usize = 256;

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
    /// A migration step failed (the database stays at the previous version).
    #[error("migration to schema version {version} failed: {source}")]
    Migration {
        /// The version being migrated to.
        version: i64,
        /// What the database said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The PostgreSQL database could not be reached or refused the connection.
    #[error("cannot connect to the database {target}: {source}")]
    Connect {
        /// The URL without its password.
        target: String,
        /// What the client said (it never contains the password).
        source: ::postgres::Error,
    },
    /// The PostgreSQL database did not answer in time.
    #[error("cannot connect to the database {target}: no answer within {secs} s")]
    ConnectTimeout {
        /// The URL without its password.
        target: String,
        /// The deadline (`database.connect_timeout_secs`).
        secs: u64,
    },
    /// A statement failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A statement failed.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// A statement read a column it does not have (a bug).
    #[error("no column {0} in the row")]
    NoColumn(usize),
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
    #[error("stored value {value} in column {column} is invalid")]
    Corrupt {
        /// The column.
        column: String,
        /// The value found, as SQL shows it (text quoted).
        value: String,
    },
    /// A statement that always returns a row returned none (a bug).
    #[error("expected a row from: {0}")]
    NoRow(&'static str),
}

/// Told about every commit of the writer: how many writes it carried together and how long the commit
/// took to become durable (the server's metrics).
pub type CommitObserver = Arc<dyn Fn(usize, Duration) + Send + Sync>;

/// What a database file holds, as a backup or a restore checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyCheck {
    /// `PRAGMA integrity_check`: `ok`, or the problems found.
    pub integrity: String,
    /// Its schema version.
    pub schema_version: i64,
    /// Whether it has webqris's tables at all.
    pub is_webqris: bool,
    /// Rows per table, when the file is intact and at this binary's schema version.
    pub rows: Option<RowCounts>,
}

/// A consistent copy of the SQLite database `source`, taken while a server may be writing it, in the new
/// file `dest` (SQLite's online backup API; the copy is one self-contained file).
pub fn backup_sqlite(source: &Path, dest: &Path, busy_timeout: Duration) -> Result<(), DbError> {
    sqlite::backup_file(source, dest, busy_timeout)
}

/// Replaces the content of the SQLite database `target` with the copy `backup`. The caller makes sure
/// no server holds `target` (see `crate::backup`).
pub fn restore_sqlite(backup: &Path, target: &Path, busy_timeout: Duration) -> Result<(), DbError> {
    sqlite::restore_file(backup, target, busy_timeout)
}

/// Checks a SQLite database file without changing it.
pub fn check_sqlite(path: &Path, busy_timeout: Duration) -> Result<CopyCheck, DbError> {
    sqlite::check_file(path, busy_timeout)
}

/// A read-only view of the database (a reader connection, or the writer inside a transaction).
#[derive(Debug)]
pub struct Conn<'c>(Backend<'c>);

/// The writer inside a transaction. Every read method of [`Conn`] is available too.
#[derive(Debug)]
pub struct Tx<'c>(Conn<'c>);

impl<'c> Deref for Tx<'c> {
    type Target = Conn<'c>;

    fn deref(&self) -> &Conn<'c> {
        &self.0
    }
}

/// Handle to the database. Cheap to clone; the backend's connections close when the last clone is
/// dropped.
#[derive(Clone)]
pub struct Db {
    store: Store,
}

/// The backend behind a [`Db`].
#[derive(Clone)]
enum Store {
    Sqlite(Arc<sqlite::Sqlite>),
    Postgres(Arc<postgres::Postgres>),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("location", &self.location())
            .finish()
    }
}

/// A database location as it may be shown (logs, errors, `webqris config`): a PostgreSQL URL with its
/// password replaced by `***`, a SQLite path as it is.
pub fn shown_location(target: &Path) -> String {
    let text = target.to_string_lossy();
    if postgres::is_url(&text) {
        postgres::redact(&text)
    } else {
        text.into_owned()
    }
}

impl Db {
    /// Opens the database `target` names and brings its schema up to date: a `postgres://` or
    /// `postgresql://` URL is a PostgreSQL database (which must exist), anything else the path of a
    /// SQLite file (created, with its directory, when missing).
    pub fn open(target: &Path, config: &DatabaseConfig) -> Result<Self, DbError> {
        let store = match target.to_str().filter(|t| postgres::is_url(t)) {
            Some(url) => Store::Postgres(Arc::new(postgres::Postgres::open(url, config)?)),
            None => Store::Sqlite(Arc::new(sqlite::Sqlite::open(target, config)?)),
        };
        Ok(Self { store })
    }

    /// Starts waking the returned [`EventWakes`] when other nodes store events (PostgreSQL: a
    /// `LISTEN` connection of its own, stopping once the returned handle is dropped). `None` on SQLite,
    /// where this process is the only node.
    pub fn event_wakes(&self) -> Result<Option<Arc<EventWakes>>, DbError> {
        match &self.store {
            Store::Sqlite(_) => Ok(None),
            Store::Postgres(pg) => {
                let wakes = Arc::new(EventWakes::default());
                pg.listen(Arc::clone(&wakes))?;
                Ok(Some(wakes))
            }
        }
    }

    /// This node, as stored with the events it writes ([`Conn::origin`]).
    pub fn origin(&self) -> &str {
        match &self.store {
            Store::Sqlite(_) => sqlite::ORIGIN,
            Store::Postgres(pg) => pg.origin(),
        }
    }

    /// Where the data is, for logs: the SQLite file, or the PostgreSQL URL without its password.
    pub fn location(&self) -> String {
        match &self.store {
            Store::Sqlite(sqlite) => sqlite.path().display().to_string(),
            Store::Postgres(pg) => pg.target().to_owned(),
        }
    }

    /// Whether other nodes may share this database (PostgreSQL), so that events are relayed between
    /// them; SQLite has one server.
    pub fn is_shared(&self) -> bool {
        matches!(self.store, Store::Postgres(_))
    }

    /// Tells `observer` about every commit from now on (the first observer set stays): on SQLite each
    /// group commit of the writer, on PostgreSQL each write transaction's (a batch of one).
    pub fn observe_commits(&self, observer: CommitObserver) {
        match &self.store {
            Store::Sqlite(sqlite) => sqlite.observe_commits(observer),
            Store::Postgres(pg) => pg.observe_commits(observer),
        }
    }

    /// Runs `f` in a write transaction; its changes commit together or not at all, and the answer
    /// comes after the commit is durable. On SQLite, writes run one at a time on the single writer
    /// (group commit, each closure in its own savepoint).
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match &self.store {
            Store::Sqlite(sqlite) => sqlite.write(f).await,
            Store::Postgres(pg) => pg.write(f).await,
        }
    }

    /// Runs `f`, a short read by a unique index (a credential, one invoice), on a read-only connection
    /// as cheaply as the backend allows: on SQLite on the calling thread when a reader is idle (no hop to
    /// the blocking pool), else like [`Db::read`]. Anything that scans or may wait goes to [`Db::read`].
    pub async fn lookup<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match &self.store {
            Store::Sqlite(sqlite) => sqlite.lookup(f).await,
            Store::Postgres(pg) => pg.read(f).await,
        }
    }

    /// Runs `f` on a read-only connection, off the async executor.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match &self.store {
            Store::Sqlite(sqlite) => sqlite.read(f).await,
            Store::Postgres(pg) => pg.read(f).await,
        }
    }
}
