//! The login rate limit: failed logins are counted per login name and per client address over a sliding
//! window (`dashboard.login_window_secs`); once a key has `dashboard.login_max_failures` failures (four
//! times that for an address, which several people behind one NAT may share), further attempts are
//! refused with 429 until the oldest failure leaves the window. Time is the server's clock, so tests
//! move past the window without sleeping. Counters live in memory: a restart forgets them, which only
//! gives an attacker one more window.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use webqris_core::Timestamp;

use crate::config::DashboardConfig;

/// Keys tracked at once before expired ones are swept (bounds memory under a spray of names).
const SWEEP_ABOVE: usize = 10_000;
/// An address may fail this many times more often than one login name.
const ADDRESS_FACTOR: u32 = 4;

/// What is counted: a login name or a client address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoginKey {
    /// A (normalised) login name.
    Email(String),
    /// The client's address.
    Address(IpAddr),
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
            LoginKey::Email(_) => self.max_failures,
            LoginKey::Address(_) => self.max_failures.saturating_mul(ADDRESS_FACTOR),
        };
        usize::try_from(max).unwrap_or(usize::MAX)
    }

    /// `Err(seconds)` when one of `keys` has used up its failures at `now`: the attempt must be refused
    /// and may be retried after that many seconds.
    pub fn check(&self, keys: &[LoginKey], now: Timestamp) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let window_start = now.as_millis() - self.window_ms;
        let mut wait_ms = 0_i64;
        for key in keys {
            let Some(times) = map.get_mut(key) else {
                continue;
            };
            while times.front().is_some_and(|t| t.as_millis() <= window_start) {
                times.pop_front();
            }
            if times.len() >= self.limit(key) {
                // Allowed again once enough failures have left the window for one more attempt.
                let freeing = times.len() + 1 - self.limit(key);
                if let Some(t) = times.get(freeing - 1) {
                    wait_ms = wait_ms.max(t.as_millis() + self.window_ms - now.as_millis());
                }
            }
        }
        if wait_ms > 0 {
            let secs = u64::try_from(wait_ms).unwrap_or(u64::MAX).div_ceil(1000);
            Err(secs.max(1))
        } else {
            Ok(())
        }
    }

    /// Counts a failed login against every key.
    pub fn record_failure(&self, keys: &[LoginKey], now: Timestamp) {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > SWEEP_ABOVE {
            let window_start = now.as_millis() - self.window_ms;
            map.retain(|_, times| times.back().is_some_and(|t| t.as_millis() > window_start));
        }
        for key in keys {
            let times = map.entry(key.clone()).or_default();
            times.push_back(now);
            // Older failures beyond the limit can never matter again.
            while times.len() > self.limit(key) {
                times.pop_front();
            }
        }
    }

    /// Forgets a key's failures (the login name after a successful login).
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
    fn a_name_is_locked_after_its_failures_until_the_oldest_leaves_the_window() {
        let limiter = limiter(3, 60);
        let name = [LoginKey::Email("a@example.com".into())];
        for t in 0..3 {
            assert_eq!(limiter.check(&name, at(t)), Ok(()));
            limiter.record_failure(&name, at(t));
        }
        assert_eq!(limiter.check(&name, at(10)), Err(50));
        assert_eq!(
            limiter.check(&[LoginKey::Email("b@example.com".into())], at(10)),
            Ok(()),
            "other names are not affected"
        );
        assert_eq!(
            limiter.check(&name, at(60)),
            Ok(()),
            "the first failure left"
        );
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
            assert_eq!(limiter.check(&keys, at(0)), Ok(()), "attempt {n}");
            limiter.record_failure(&keys, at(0));
        }
        let keys = [LoginKey::Email("fresh@example.com".into()), address];
        assert!(
            limiter.check(&keys, at(1)).is_err(),
            "spraying names from one address is stopped"
        );
    }

    #[test]
    fn forgetting_a_name_clears_its_failures() {
        let limiter = limiter(1, 60);
        let name = LoginKey::Email("a@example.com".into());
        limiter.record_failure(std::slice::from_ref(&name), at(0));
        assert!(limiter.check(std::slice::from_ref(&name), at(1)).is_err());
        limiter.forget(&name);
        assert_eq!(limiter.check(&[name], at(1)), Ok(()));
    }
}
