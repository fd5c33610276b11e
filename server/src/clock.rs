//! The server's notion of "now". Production reads the system clock; tests move it forward to expire
//! invoices or end a cooldown without sleeping. Time keeps flowing in both cases, so timers (webhook
//! retries, the expiry sweep) behave normally.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use webqris_core::Timestamp;

/// The system clock plus an offset that only tests change. Clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        let offset = self.offset_ms.load(Ordering::Relaxed);
        Timestamp::from_millis(Timestamp::now().as_millis().saturating_add(offset))
    }

    /// Jumps every clone of this clock forward by `by` (tests only: expiry and cooldowns without sleeping).
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = other.now();
        clock.advance(Duration::from_secs(3600));
        assert!(other.now().as_millis() - before.as_millis() >= 3_600_000);
    }
}
