//! Dashboard login and registration attempts, counted per key (a login name, a client address) over a
//! sliding window, in the database so that every node sharing it counts the same attempts and a
//! restart forgets none. The rules are the limiter's (`dashboard/limiter.rs`); this module stores them:
//! one row per key per attempt, only those still inside the window and at most the key's limit of them.

use webqris_core::Timestamp;

use super::sql::{Serial, params};
use super::{Conn, DbError, Tx};

/// A key an attempt counts against, with how many attempts it may have in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKey {
    /// The key as stored (`email:…`, `address:…`, …).
    pub key: String,
    /// Attempts allowed in the window.
    pub limit: u32,
}

impl Tx<'_> {
    /// Counts an attempt against every key at `now`, unless one of them already has its limit of
    /// attempts after `now - window_ms` (so no key ever stores more than its limit inside the window):
    /// then `Ok(Err(wait_ms))`, nothing is counted and a retry is
    /// admitted in that many milliseconds (once enough of the key's attempts have left the window).
    /// Otherwise `Ok(Ok(ids))`, the rows counted, for [`Tx::give_back_login_attempt`]. Check and count
    /// run under one lock across nodes, so parallel attempts cannot overtake a limit.
    pub fn begin_login_attempt(
        &self,
        keys: &[AttemptKey],
        now: Timestamp,
        window_ms: i64,
    ) -> Result<Result<Vec<i64>, i64>, DbError> {
        self.serialise(Serial::LoginAttempts)?;
        let window_start = Timestamp::from_millis(now.as_millis().saturating_sub(window_ms));
        // Attempts that left the window can never count again (the index on `at` finds them).
        self.execute(
            "DELETE FROM login_attempts WHERE at <= ?1",
            params![window_start],
        )?;
        let mut wait_ms = 0_i64;
        for key in keys {
            let limit = i64::from(key.limit.max(1));
            let count: i64 = self.query_one(
                "SELECT COUNT(*) FROM login_attempts WHERE key = ?1",
                params![key.key],
                |r| r.get(0),
            )?;
            if count >= limit {
                // Admitted again once `count + 1 - limit` of its attempts have left the window.
                let freeing: Option<Timestamp> = self.query_opt(
                    "SELECT at FROM login_attempts WHERE key = ?1 ORDER BY at, id LIMIT 1 OFFSET ?2",
                    params![key.key, count - limit],
                    |r| r.get(0),
                )?;
                if let Some(at) = freeing {
                    wait_ms = wait_ms.max(at.as_millis() + window_ms - now.as_millis());
                }
            }
        }
        if wait_ms > 0 {
            return Ok(Err(wait_ms));
        }
        let mut ids = Vec::with_capacity(keys.len());
        for key in keys {
            ids.push(self.query_one(
                "INSERT INTO login_attempts (key, at) VALUES (?1, ?2) RETURNING id",
                params![key.key, now],
                |r| r.get(0),
            )?);
        }
        Ok(Ok(ids))
    }

    /// Takes back the attempt rows `ids` counted (a login that succeeded, a password never checked).
    pub fn give_back_login_attempt(&self, ids: &[i64]) -> Result<(), DbError> {
        for id in ids {
            self.execute("DELETE FROM login_attempts WHERE id = ?1", params![id])?;
        }
        Ok(())
    }

    /// Forgets every attempt of `key` (a login name after a successful login).
    pub fn forget_login_key(&self, key: &str) -> Result<(), DbError> {
        self.execute("DELETE FROM login_attempts WHERE key = ?1", params![key])?;
        Ok(())
    }
}

impl Conn<'_> {
    /// How many attempt rows are stored (tests: the window and the limits bound them).
    #[cfg(test)]
    pub fn login_attempt_rows(&self) -> Result<i64, DbError> {
        self.query_one("SELECT COUNT(*) FROM login_attempts", params![], |r| {
            r.get(0)
        })
    }
}
