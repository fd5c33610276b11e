//! Online backups and restores of the SQLite database (`webqris backup`, `webqris restore`), and the
//! lock that keeps a restore away from a running server.
//!
//! A backup is SQLite's online backup API copying the whole database in one read transaction: a
//! consistent copy as of one commit, taken while the server goes on writing, written next to its
//! destination under a temporary name, checked (`PRAGMA integrity_check`), synced, and only then renamed
//! into place, so a failed backup never leaves a half copy under the name an operator trusts.
//!
//! Every running server holds a shared `flock` on `<db>.lock` for as long as it runs (the kernel drops
//! it when the process dies, even by SIGKILL); a restore takes it exclusively, so it refuses to start
//! while a server holds the database, and a server refuses to start while a restore runs. Before a
//! restore overwrites a database, the database is kept aside (`<db>.before-restore-<time>`): nothing a
//! mistaken restore replaces is lost.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use webqris_core::Timestamp;

use crate::db::{self, DbError, RowCounts, schema::SCHEMA_VERSION};

/// Why a backup or a restore did nothing.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database is PostgreSQL, which has its own tools. (The URL is not repeated: it may hold a
    /// password.)
    #[error(
        "the database is PostgreSQL: back it up with pg_dump (e.g. `pg_dump --format=custom --file=webqris.dump \"$WEBQRIS_DB\"`) and restore it with pg_restore (stop every webqris node first)"
    )]
    Postgres,
    /// There is no database file to read.
    #[error("no database at {0}")]
    Missing(PathBuf),
    /// The two paths are the same database.
    #[error("{0} is the database itself; choose another file")]
    SameFile(PathBuf),
    /// The destination's directory does not exist.
    #[error("the directory of {0} does not exist")]
    NoDirectory(PathBuf),
    /// A running server holds the database.
    #[error(
        "a running webqris server holds {0}; stop it first (e.g. `systemctl stop webqris`), then restore"
    )]
    Held(PathBuf),
    /// A restore holds the database.
    #[error("a restore of {0} is in progress; start the server once it has finished")]
    Restoring(PathBuf),
    /// The file is not an intact webqris database.
    #[error("{path} is not a usable webqris database: {reason}")]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What `webqris backup` made.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    /// The backup file.
    pub backup: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its schema version.
    pub schema_version: i64,
    /// `PRAGMA integrity_check` of the copy (always `ok`: a copy that is not ok is not kept).
    pub integrity: String,
    /// Rows in the copy.
    pub rows: Option<RowCounts>,
    /// How long it took, milliseconds.
    pub duration_ms: u64,
}

/// What `webqris restore` did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The database restored.
    pub restored: PathBuf,
    /// The backup it was restored from.
    pub from: PathBuf,
    /// Where the database it replaced was kept (`None` when there was none).
    pub previous: Option<PathBuf>,
    /// The restored schema version (the server migrates it on start when older).
    pub schema_version: i64,
    /// Rows restored (when at this binary's schema version).
    pub rows: Option<RowCounts>,
}

/// A lock on `<db>.lock`: shared by running servers, exclusive during a restore. Released when dropped
/// (or when the process ends, however it ends). None on PostgreSQL, which `restore` refuses.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: Option<File>,
}

impl DatabaseLock {
    /// The lock a running server holds on `db` for as long as it runs; refused while a restore runs.
    pub fn for_server(db: &Path) -> Result<Self, BackupError> {
        if is_postgres(db) {
            return Ok(Self { _file: None });
        }
        Self::take(db, false).map_err(|e| match e {
            BackupError::Held(path) => BackupError::Restoring(path),
            other => other,
        })
    }

    /// The lock a restore holds; refused while a server holds `db`.
    pub fn for_restore(db: &Path) -> Result<Self, BackupError> {
        Self::take(db, true)
    }

    fn take(db: &Path, exclusive: bool) -> Result<Self, BackupError> {
        let path = lock_path(db);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| BackupError::Io {
                what: "cannot create the directory of",
                path: path.clone(),
                source,
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| BackupError::Io {
                what: "cannot open the lock file",
                path: path.clone(),
                source,
            })?;
        let taken = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match taken {
            Ok(()) => Ok(Self { _file: Some(file) }),
            Err(TryLockError::WouldBlock) => Err(BackupError::Held(db.to_owned())),
            Err(TryLockError::Error(source)) => Err(BackupError::Io {
                what: "cannot lock",
                path,
                source,
            }),
        }
    }
}

/// `<db>.lock`.
fn lock_path(db: &Path) -> PathBuf {
    suffixed(db, ".lock")
}

/// `path` with `suffix` appended to its file name.
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Whether `db` names a PostgreSQL database rather than a file.
fn is_postgres(db: &Path) -> bool {
    let text = db.to_string_lossy();
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// Whether `a` and `b` are the same database (the same file, or one is the other's `-wal`/`-shm`).
fn same_database(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| {
        // A file that does not exist yet: its directory's canonical form plus its name.
        p.canonicalize().ok().or_else(|| {
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty())?;
            Some(dir.canonicalize().ok()?.join(p.file_name()?))
        })
    };
    let (Some(a), Some(b)) = (canonical(a), canonical(b)) else {
        return false;
    };
    a == b
        || [suffixed(&a, "-wal"), suffixed(&a, "-shm"), lock_path(&a)].contains(&b)
        || [suffixed(&b, "-wal"), suffixed(&b, "-shm"), lock_path(&b)].contains(&a)
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_owned();
    move |source| BackupError::Io { what, path, source }
}

/// Makes `file` and its directory entry durable.
fn sync(file: &Path) -> Result<(), BackupError> {
    File::open(file)
        .and_then(|f| f.sync_all())
        .map_err(io("cannot sync", file))?;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Directories cannot be opened for syncing everywhere; the rename itself is what matters.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Takes a consistent copy of the database `source` into `dest` (replaced atomically if it exists).
pub fn backup(
    source: &Path,
    dest: &Path,
    busy_timeout: Duration,
) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    if is_postgres(source) {
        return Err(BackupError::Postgres);
    }
    if !source.is_file() {
        return Err(BackupError::Missing(source.to_owned()));
    }
    if same_database(source, dest) {
        return Err(BackupError::SameFile(dest.to_owned()));
    }
    let dir = dest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = dest.file_name() else {
        return Err(BackupError::NoDirectory(dest.to_owned()));
    };
    if !dir.is_dir() {
        return Err(BackupError::NoDirectory(dest.to_owned()));
    }
    let mut partial_name = std::ffi::OsString::from(".");
    partial_name.push(name);
    partial_name.push(format!(".partial-{}", std::process::id()));
    let partial = dir.join(partial_name);
    let made = copy_and_check(source, &partial, busy_timeout);
    let check = match made {
        Ok(check) => check,
        Err(e) => {
            // Whatever was written under the temporary name is worthless.
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, dest).map_err(io("cannot move the copy to", dest))?;
    sync(dest)?;
    let bytes = std::fs::metadata(dest)
        .map_err(io("cannot read", dest))?
        .len();
    Ok(BackupReport {
        backup: dest.to_owned(),
        bytes,
        schema_version: check.schema_version,
        integrity: check.integrity,
        rows: check.rows,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// Copies `source` into the new file `partial`, checks the copy and syncs it.
fn copy_and_check(
    source: &Path,
    partial: &Path,
    busy_timeout: Duration,
) -> Result<db::CopyCheck, BackupError> {
    if partial.exists() {
        std::fs::remove_file(partial).map_err(io("cannot remove the stale", partial))?;
    }
    db::backup_sqlite(source, partial, busy_timeout)?;
    let check = db::check_sqlite(partial, busy_timeout)?;
    if check.integrity != "ok" {
        return Err(BackupError::Unusable {
            path: source.to_owned(),
            reason: format!("the copy fails its integrity check: {}", check.integrity),
        });
    }
    sync(partial)?;
    Ok(check)
}

/// Restores the database `target` from the backup `from`, refusing while a server holds `target`. The
/// database it replaces is kept as `<target>.before-restore-<time>`.
pub fn restore(
    from: &Path,
    target: &Path,
    now: Timestamp,
    busy_timeout: Duration,
) -> Result<RestoreReport, BackupError> {
    if is_postgres(target) {
        return Err(BackupError::Postgres);
    }
    if !from.is_file() {
        return Err(BackupError::Missing(from.to_owned()));
    }
    if same_database(from, target) {
        return Err(BackupError::SameFile(from.to_owned()));
    }
    let unusable = |reason: String| BackupError::Unusable {
        path: from.to_owned(),
        reason,
    };
    let check = db::check_sqlite(from, busy_timeout).map_err(|e| unusable(e.to_string()))?;
    if check.integrity != "ok" {
        return Err(unusable(format!(
            "integrity check failed: {}",
            check.integrity
        )));
    }
    if !check.is_webqris || check.schema_version < 1 {
        return Err(unusable("it has no webqris tables".to_owned()));
    }
    if check.schema_version > SCHEMA_VERSION {
        return Err(unusable(format!(
            "its schema version {} is newer than this webqris knows ({SCHEMA_VERSION}); upgrade webqris first",
            check.schema_version
        )));
    }
    let _lock = DatabaseLock::for_restore(target)?;
    let previous = if target.exists() {
        let kept = suffixed(
            target,
            &format!(".before-restore-{}", now.to_iso().replace([':', '-'], "")),
        );
        keep_aside(target, &kept, busy_timeout)?;
        Some(kept)
    } else {
        None
    };
    db::restore_sqlite(from, target, busy_timeout)?;
    let restored = db::check_sqlite(target, busy_timeout)?;
    if restored.integrity != "ok" || restored.schema_version != check.schema_version {
        return Err(BackupError::Unusable {
            path: target.to_owned(),
            reason: format!(
                "after the restore: integrity {}, schema version {}",
                restored.integrity, restored.schema_version
            ),
        });
    }
    Ok(RestoreReport {
        restored: target.to_owned(),
        from: from.to_owned(),
        previous,
        schema_version: restored.schema_version,
        rows: restored.rows,
    })
}

/// Keeps the database `target` as `kept` before a restore replaces it: a consistent copy when SQLite
/// can read it, else (a damaged file, the usual reason to restore) its raw files.
fn keep_aside(target: &Path, kept: &Path, busy_timeout: Duration) -> Result<(), BackupError> {
    if db::backup_sqlite(target, kept, busy_timeout).is_ok() {
        return sync(kept);
    }
    let _ = std::fs::remove_file(kept);
    std::fs::copy(target, kept).map_err(io("cannot keep a copy of", target))?;
    let wal = suffixed(target, "-wal");
    if wal.exists() {
        let kept_wal = suffixed(kept, "-wal");
        std::fs::copy(&wal, &kept_wal).map_err(io("cannot keep a copy of", &wal))?;
        sync(&kept_wal)?;
    }
    sync(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_is_refused_while_a_server_holds_the_database_and_the_reverse() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("webqris.db");
        let server = DatabaseLock::for_server(&db).expect("the first server");
        let second = DatabaseLock::for_server(&db).expect("servers share the lock");
        assert!(matches!(
            DatabaseLock::for_restore(&db),
            Err(BackupError::Held(_))
        ));
        drop((server, second));
        let restore = DatabaseLock::for_restore(&db).expect("no server any more");
        assert!(matches!(
            DatabaseLock::for_server(&db),
            Err(BackupError::Restoring(_))
        ));
        drop(restore);
        DatabaseLock::for_server(&db).expect("the restore is over");
    }

    #[test]
    fn a_server_on_postgresql_takes_no_lock_file() {
        let url = Path::new("postgres://webqris:secret@db.internal/webqris");
        let lock = DatabaseLock::for_server(url).expect("nothing to lock");
        assert!(lock._file.is_none());
        assert!(!Path::new("postgres:").exists(), "no directory made");
    }

    #[test]
    fn the_database_its_wal_and_its_lock_are_the_same_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("webqris.db");
        std::fs::write(&db, b"").expect("file");
        assert!(same_database(&db, &dir.path().join("./webqris.db")));
        assert!(same_database(&db, &dir.path().join("webqris.db-wal")));
        assert!(same_database(&dir.path().join("webqris.db.lock"), &db));
        assert!(!same_database(&db, &dir.path().join("copy.db")));
        assert!(is_postgres(Path::new("postgres://u@h/db")));
        assert!(!is_postgres(Path::new("./data/webqris.db")));
    }
}
