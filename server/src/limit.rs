//! A token-bucket rate limit per key (invoice creation per API token): `burst` requests at once, then
//! `per_sec` a second. In memory behind this one type, so that a multi-node deployment can later back it
//! with shared storage; keys whose bucket is full again are forgotten, so memory stays bounded by the
//! keys active within one refill period.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use webqris_core::Timestamp;

/// Keys tracked before full buckets are swept.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// Rate limits per key. Cheap to clone; clones share the buckets.
#[derive(Debug, Clone)]
pub struct RateLimit<K> {
    buckets: Arc<Mutex<HashMap<K, Bucket>>>,
    per_sec: f64,
    burst: f64,
}

impl<K: Hash + Eq + Clone> RateLimit<K> {
    /// `burst` at once, `per_sec` sustained (both at least 1).
    pub fn new(per_sec: u32, burst: u32) -> Self {
        Self {
            buckets: Arc::default(),
            per_sec: f64::from(per_sec.max(1)),
            burst: f64::from(burst.max(1)),
        }
    }

    fn refill(&self, bucket: &mut Bucket, now_ms: i64) {
        let elapsed = (now_ms - bucket.at_ms).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * self.per_sec).min(self.burst);
        bucket.at_ms = now_ms;
    }

    /// Takes one request of `key` at `now`, or `Err(seconds)` until one is allowed.
    pub fn take(&self, key: &K, now: Timestamp) -> Result<(), u64> {
        let now_ms = now.as_millis();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, b| {
                let mut b = *b;
                self.refill(&mut b, now_ms);
                b.tokens < self.burst
            });
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at_ms: now_ms,
        });
        self.refill(bucket, now_ms);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_sec;
            Err((wait.ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let limit = RateLimit::new(2, 3);
        let at = Timestamp::from_millis;
        for _ in 0..3 {
            limit.take(&1, at(0)).expect("the burst");
        }
        assert_eq!(limit.take(&1, at(0)), Err(1));
        assert!(
            limit.take(&2, at(0)).is_ok(),
            "another key has its own bucket"
        );
        limit.take(&1, at(500)).expect("refilled one at 2/s");
        assert!(limit.take(&1, at(500)).is_err());
    }
}
