//! The login and registration rate limit: attempts are counted per login name and per client address
//! over a sliding window (`dashboard.login_window_secs`) **when they start**, before the password is
//! hashed, so that twenty parallel guesses cannot all slip in while the first ones are still being
//! checked. Once a key has `dashboard.login_max_failures` attempts in the window (four times that for an
//! address, which several people behind one NAT may share), further attempts are refused with 429 until
//! the oldest one leaves the window. A successful login gives its attempt back and clears the login
//! name's count. Time is the server's clock, so tests move past the window without sleeping. Counters
//! live in memory behind this one type: a restart forgets them, which only gives an attacker one more
//! window.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use webqris_core::Timestamp;

use crate::config::DashboardConfig;

/// Keys tracked at once before expired ones are swept (bounds memory under a spray of names).
const SWEEP_ABOVE: usize = 10_000;
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

/// An attempt counted by [`LoginLimiter::begin`]; give it back with [`LoginLimiter::give_back`] when
/// it turned out not to be a guess (a successful login, a server too busy to check the password).
#[derive(Debug, Clone)]
#[must_use = "an attempt is either kept (a failure) or given back"]
pub struct Attempt {
    keys: Vec<LoginKey>,
    at: Timestamp,
}

/// Failed login counters. Cheap to clone; clones share the counters.
#[derive(Debug, Clone)]
pub struct LoginLimiter {
    failures: Arc<Mutex<HashMap<LoginKey, VecDeque<Timestamp>>>>,
    max_failures: u32,
    window_ms: i64,
}

impl LoginLimiter {
    /// A limiter with the configured threshold and window.
    pub fn new(config: &DashboardConfig) -> Self {
        Self {
            failures: Arc::default(),
            max_failures: config.login_max_failures.max(1),
            window_ms: config.login_window_secs.millis().max(1),
        }
    }

    fn limit(&self, key: &LoginKey) -> usize {
        let max = match key {
            LoginKey::Email(_) | LoginKey::NewEmail(_) => self.max_failures,
            LoginKey::Address(_) | LoginKey::RegisteringAddress(_) => {
                self.max_failures.saturating_mul(ADDRESS_FACTOR)
            }
        };
        usize::try_from(max).unwrap_or(usize::MAX)
    }

    /// Counts an attempt against every key, unless one of them has used up its attempts at `now`: then
    /// `Err(seconds)`, the attempt is refused (and not counted) and may be retried after that many
    /// seconds. Check and count happen under one lock, so parallel attempts cannot overtake the limit.
    pub fn begin(&self, keys: &[LoginKey], now: Timestamp) -> Result<Attempt, u64> {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let window_start = now.as_millis() - self.window_ms;
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, times| times.back().is_some_and(|t| t.as_millis() > window_start));
        }
        let mut wait_ms = 0_i64;
        for key in keys {
            let Some(times) = map.get_mut(key) else {
                continue;
            };
            while times.front().is_some_and(|t| t.as_millis() <= window_start) {
                times.pop_front();
            }
            if times.len() >= self.limit(key) {
                // Allowed again once enough attempts have left the window for one more.
                let freeing = times.len() + 1 - self.limit(key);
                if let Some(t) = times.get(freeing - 1) {
                    wait_ms = wait_ms.max(t.as_millis() + self.window_ms - now.as_millis());
                }
            }
        }
        if wait_ms > 0 {
            let secs = u64::try_from(wait_ms).unwrap_or(u64::MAX).div_ceil(1000);
            return Err(secs.max(1));
        }
        for key in keys {
            let times = map.entry(key.clone()).or_default();
            times.push_back(now);
            // Older attempts beyond the limit can never matter again.
            while times.len() > self.limit(key) {
                times.pop_front();
            }
        }
        Ok(Attempt {
            keys: keys.to_vec(),
            at: now,
        })
    }

    /// Takes back an attempt counted by [`LoginLimiter::begin`].
    pub fn give_back(&self, attempt: Attempt) {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        for key in &attempt.keys {
            if let Some(times) = map.get_mut(key) {
                if let Some(i) = times.iter().rposition(|t| *t == attempt.at) {
                    times.remove(i);
                }
                if times.is_empty() {
                    map.remove(key);
                }
            }
        }
    }

    /// Forgets a key's attempts (the login name after a successful login).
    pub fn forget(&self, key: &LoginKey) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Seconds;

    fn limiter(max: u32, window_secs: u64) -> LoginLimiter {
        LoginLimiter::new(&DashboardConfig {
            login_max_failures: max,
            login_window_secs: Seconds::from_secs(window_secs),
            ..DashboardConfig::default()
        })
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_millis(secs * 1000)
    }

    #[test]
    fn a_name_is_locked_after_its_attempts_until_the_oldest_leaves_the_window() {
        let limiter = limiter(3, 60);
        let name = [LoginKey::Email("a@example.com".into())];
        for t in 0..3 {
            let _kept = limiter.begin(&name, at(t)).expect("admitted");
        }
        assert_eq!(limiter.begin(&name, at(10)).map(drop), Err(50));
        assert!(
            limiter
                .begin(&[LoginKey::Email("b@example.com".into())], at(10))
                .is_ok(),
            "other names are not affected"
        );
        assert!(
            limiter.begin(&name, at(60)).is_ok(),
            "the first attempt left"
        );
    }

    #[test]
    fn parallel_attempts_are_counted_before_any_password_is_checked() {
        let limiter = limiter(5, 900);
        let name = [LoginKey::Email("a@example.com".into())];
        // Twenty attempts start before any of them has finished: only five are let through.
        let admitted: Vec<Attempt> = (0..20)
            .filter_map(|_| limiter.begin(&name, at(0)).ok())
            .collect();
        assert_eq!(admitted.len(), 5);
    }

    #[test]
    fn an_attempt_given_back_frees_its_place() {
        let limiter = limiter(1, 60);
        let keys = [
            LoginKey::Email("a@example.com".into()),
            LoginKey::Address("192.0.2.1".parse().expect("ip")),
        ];
        let attempt = limiter.begin(&keys, at(0)).expect("admitted");
        assert!(limiter.begin(&keys, at(1)).is_err());
        limiter.give_back(attempt);
        assert!(limiter.begin(&keys, at(1)).is_ok());
    }

    #[test]
    fn an_address_gets_more_room_than_a_name_but_not_unlimited() {
        let limiter = limiter(2, 60);
        let address = LoginKey::Address("192.0.2.1".parse().expect("ip"));
        for n in 0..8 {
            let keys = [
                LoginKey::Email(format!("user{n}@example.com")),
                address.clone(),
            ];
            let _kept = limiter.begin(&keys, at(0)).expect("admitted");
        }
        let keys = [LoginKey::Email("fresh@example.com".into()), address];
        assert!(
            limiter.begin(&keys, at(1)).is_err(),
            "spraying names from one address is stopped"
        );
    }

    #[test]
    fn forgetting_a_name_clears_its_attempts() {
        let limiter = limiter(1, 60);
        let name = LoginKey::Email("a@example.com".into());
        let _kept = limiter.begin(std::slice::from_ref(&name), at(0));
        assert!(limiter.begin(std::slice::from_ref(&name), at(1)).is_err());
        limiter.forget(&name);
        assert!(limiter.begin(&[name], at(1)).is_ok());
    }
}
