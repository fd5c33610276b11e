//! The login and registration rate limit: attempts are counted per login name and per client address
//! over a sliding window (`dashboard.login_window_secs`) **when they start**, before the password is
//! hashed, so that twenty parallel guesses cannot all slip in while the first ones are still being
//! checked. Once a key has `dashboard.login_max_failures` attempts in the window (four times that for an
//! address, which several people behind one NAT may share), further attempts are refused with 429 until
//! the oldest one leaves the window. A successful login gives its attempt back and clears the login
//! name's count. Time is the server's clock, so tests move past the window without sleeping. The counts
//! are in the database (`db/login.rs`): every node sharing it counts the same attempts, under one lock,
//! and a restart forgets none.

use std::net::IpAddr;

use webqris_core::Timestamp;

use crate::config::DashboardConfig;
use crate::db::{AttemptKey, Db, DbError};

/// An address may fail this many times more often than one login name.
const ADDRESS_FACTOR: u32 = 4;

/// What is counted: a login name or a client address, for logins or for registrations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoginKey {
    /// A (normalised) login name being logged in to.
    Email(String),
    /// The client's address, for logins.
    Address(IpAddr),
    /// A login name being registered.
    NewEmail(String),
    /// The client's address, for registrations.
    RegisteringAddress(IpAddr),
}

impl LoginKey {
    /// The key as the database stores it: a prefix per kind, so a name never counts as an address.
    fn stored(&self) -> String {
        match self {
            Self::Email(name) => format!("email:{name}"),
            Self::Address(ip) => format!("address:{ip}"),
            Self::NewEmail(name) => format!("new-email:{name}"),
            Self::RegisteringAddress(ip) => format!("registering:{ip}"),
        }
    }
}

/// An attempt counted by [`LoginLimiter::begin`]; give it back with [`LoginLimiter::give_back`] when
/// it turned out not to be a guess (a successful login, a server too busy to check the password).
#[derive(Debug, Clone)]
#[must_use = "an attempt is either kept (a failure) or given back"]
pub struct Attempt {
    rows: Vec<i64>,
}

/// Why [`LoginLimiter::begin`] counted no attempt.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// A key has used up its attempts; a retry is admitted after this many seconds.
    #[error("too many attempts; retry in {0} s")]
    TooMany(u64),
    /// The attempt could not be counted.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Login and registration attempt counters, in the database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LoginLimiter {
    db: Db,
    max_failures: u32,
    window_ms: i64,
}

impl LoginLimiter {
    /// A limiter with the configured threshold and window, counting in `db`.
    pub fn new(config: &DashboardConfig, db: Db) -> Self {
        Self {
            db,
            max_failures: config.login_max_failures.max(1),
            window_ms: config.login_window_secs.millis().max(1),
        }
    }

    fn limit(&self, key: &LoginKey) -> u32 {
        match key {
            LoginKey::Email(_) | LoginKey::NewEmail(_) => self.max_failures,
            LoginKey::Address(_) | LoginKey::RegisteringAddress(_) => {
                self.max_failures.saturating_mul(ADDRESS_FACTOR)
            }
        }
    }

    /// Counts an attempt against every key, unless one of them has used up its attempts at `now`: then
    /// [`Refused::TooMany`], the attempt is not counted and may be retried after that many seconds.
    /// Check and count are one transaction under one lock, so parallel attempts (on any node) cannot
    /// overtake the limit.
    pub async fn begin(&self, keys: &[LoginKey], now: Timestamp) -> Result<Attempt, Refused> {
        let keys: Vec<AttemptKey> = keys
            .iter()
            .map(|key| AttemptKey {
                key: key.stored(),
                limit: self.limit(key),
            })
            .collect();
        let window_ms = self.window_ms;
        let counted = self
            .db
            .write(move |tx| tx.begin_login_attempt(&keys, now, window_ms))
            .await?;
        match counted {
            Ok(rows) => Ok(Attempt { rows }),
            Err(wait_ms) => {
                let secs = u64::try_from(wait_ms).unwrap_or(u64::MAX).div_ceil(1000);
                Err(Refused::TooMany(secs.max(1)))
            }
        }
    }

    /// Takes back an attempt counted by [`LoginLimiter::begin`].
    pub async fn give_back(&self, attempt: Attempt) -> Result<(), DbError> {
        self.db
            .write(move |tx| tx.give_back_login_attempt(&attempt.rows))
            .await
    }

    /// A login that succeeded: gives its attempt back and forgets the login name's other attempts, in
    /// one write.
    pub async fn succeeded(&self, attempt: Attempt, name: &LoginKey) -> Result<(), DbError> {
        let name = name.stored();
        self.db
            .write(move |tx| {
                tx.give_back_login_attempt(&attempt.rows)?;
                tx.forget_login_key(&name)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatabaseConfig, Seconds};

    /// A limiter on a fresh SQLite file (the directory must outlive it).
    fn limiter(max: u32, window_secs: u64) -> (tempfile::TempDir, LoginLimiter) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("webqris.db"), &DatabaseConfig::default()).expect("db");
        let config = DashboardConfig {
            login_max_failures: max,
            login_window_secs: Seconds::from_secs(window_secs),
            ..DashboardConfig::default()
        };
        (dir, LoginLimiter::new(&config, db))
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_millis(secs * 1000)
    }

    fn refused_for(result: Result<Attempt, Refused>) -> Option<u64> {
        match result {
            Err(Refused::TooMany(secs)) => Some(secs),
            Err(Refused::Db(e)) => panic!("database: {e}"),
            Ok(_) => None,
        }
    }

    async fn stored_rows(limiter: &LoginLimiter) -> i64 {
        limiter
            .db
            .read(|c| c.login_attempt_rows())
            .await
            .expect("rows")
    }

    #[tokio::test]
    async fn a_name_is_locked_after_its_attempts_until_the_oldest_leaves_the_window() {
        let (_dir, limiter) = limiter(3, 60);
        let name = [LoginKey::Email("a@example.com".into())];
        for t in 0..3 {
            let _kept = limiter.begin(&name, at(t)).await.expect("admitted");
        }
        assert_eq!(refused_for(limiter.begin(&name, at(10)).await), Some(50));
        let other = [LoginKey::Email("b@example.com".into())];
        assert_eq!(
            refused_for(limiter.begin(&other, at(10)).await),
            None,
            "other names are not affected"
        );
        assert_eq!(
            refused_for(limiter.begin(&name, at(60)).await),
            None,
            "the first attempt left"
        );
        assert_eq!(
            refused_for(limiter.begin(&name, at(60)).await),
            Some(1),
            "the attempt admitted at 60 s took the freed place; the next leaves at 61 s"
        );
    }

    #[tokio::test]
    async fn parallel_attempts_are_counted_before_any_password_is_checked() {
        let (_dir, limiter) = limiter(5, 900);
        let name = [LoginKey::Email("a@example.com".into())];
        // Twenty attempts start before any of them has finished: only five are let through.
        let tries = (0..20).map(|_| limiter.begin(&name, at(0)));
        let admitted = futures_util::future::join_all(tries)
            .await
            .into_iter()
            .filter(|r| r.is_ok())
            .count();
        assert_eq!(admitted, 5);
    }

    #[tokio::test]
    async fn an_attempt_given_back_frees_its_place() {
        let (_dir, limiter) = limiter(1, 60);
        let keys = [
            LoginKey::Email("a@example.com".into()),
            LoginKey::Address("192.0.2.1".parse().expect("ip")),
        ];
        let attempt = limiter.begin(&keys, at(0)).await.expect("admitted");
        assert!(refused_for(limiter.begin(&keys, at(1)).await).is_some());
        limiter.give_back(attempt).await.expect("given back");
        assert_eq!(refused_for(limiter.begin(&keys, at(1)).await), None);
    }

    #[tokio::test]
    async fn an_address_gets_more_room_than_a_name_but_not_unlimited() {
        let (_dir, limiter) = limiter(2, 60);
        let address = LoginKey::Address("192.0.2.1".parse().expect("ip"));
        for n in 0..8 {
            let keys = [
                LoginKey::Email(format!("user{n}@example.com")),
                address.clone(),
            ];
            let _kept = limiter.begin(&keys, at(0)).await.expect("admitted");
        }
        let keys = [LoginKey::Email("fresh@example.com".into()), address];
        assert!(
            refused_for(limiter.begin(&keys, at(1)).await).is_some(),
            "spraying names from one address is stopped"
        );
    }

    #[tokio::test]
    async fn a_success_clears_the_name_but_not_the_address() {
        let (_dir, limiter) = limiter(2, 60);
        let name = LoginKey::Email("a@example.com".into());
        let address = LoginKey::Address("192.0.2.1".parse().expect("ip"));
        let keys = [name.clone(), address.clone()];
        let _failed = limiter.begin(&keys, at(0)).await.expect("admitted");
        let right = limiter.begin(&keys, at(1)).await.expect("admitted");
        limiter.succeeded(right, &name).await.expect("stored");
        assert_eq!(
            stored_rows(&limiter).await,
            1,
            "only the address's failed attempt is left"
        );
        // The address keeps counting (it may fail four times as often as a name): the cleared name
        // and then another name are still admitted from it.
        let _again = limiter.begin(&keys, at(2)).await.expect("admitted");
        let stranger = [LoginKey::Email("b@example.com".into()), address];
        assert_eq!(refused_for(limiter.begin(&stranger, at(3)).await), None);
    }

    #[tokio::test]
    async fn rows_are_bounded_by_the_window_and_the_limits() {
        let (_dir, limiter) = limiter(3, 60);
        // One name tried from many addresses: the name keeps at most its limit of rows.
        for n in 0..3_u8 {
            let keys = [
                LoginKey::Email("a@example.com".into()),
                LoginKey::Address(IpAddr::from([192, 0, 2, n])),
            ];
            let _kept = limiter.begin(&keys, at(0)).await.expect("admitted");
        }
        assert_eq!(stored_rows(&limiter).await, 6);
        // Once the window has passed, the next attempt finds only itself.
        let keys = [LoginKey::NewEmail("b@example.com".into())];
        let _kept = limiter.begin(&keys, at(61)).await.expect("admitted");
        assert_eq!(stored_rows(&limiter).await, 1);
    }

    #[tokio::test]
    async fn attempts_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("webqris.db");
        let config = DashboardConfig {
            login_max_failures: 2,
            login_window_secs: Seconds::from_secs(60),
            ..DashboardConfig::default()
        };
        let name = [LoginKey::Email("a@example.com".into())];
        {
            let db = Db::open(&path, &DatabaseConfig::default()).expect("db");
            let limiter = LoginLimiter::new(&config, db);
            for t in 0..2 {
                let _kept = limiter.begin(&name, at(t)).await.expect("admitted");
            }
        }
        let db = Db::open(&path, &DatabaseConfig::default()).expect("reopened");
        let limiter = LoginLimiter::new(&config, db);
        assert_eq!(refused_for(limiter.begin(&name, at(5)).await), Some(55));
    }
}
