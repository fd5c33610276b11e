//! When to try a delivery again: capped exponential backoff, and the server's `Retry-After` honoured.
//!
//! Pure arithmetic on milliseconds, so that the schedule is tested without a clock.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// The retry schedule of the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Wait after the first failed attempt; each further failure doubles it.
    pub base: Duration,
    /// The longest wait the doubling reaches.
    pub cap: Duration,
    /// The longest `Retry-After` obeyed; a server asking for more is retried after this (a bad header
    /// must not park the phone's queue for days).
    pub retry_after_cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(300),
            retry_after_cap: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    /// Wait before the next attempt after `failures` failed attempts in a row (`failures >= 1`):
    /// `base · 2^(failures-1)`, at most `cap`.
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(31);
        let doubled = self.base.saturating_mul(1_u32 << exponent);
        doubled.min(self.cap)
    }

    /// Wait before the next attempt when the server answered with `retry_after`: the server's wish
    /// (capped by `retry_after_cap`) when it is longer than our own schedule, else the schedule.
    pub fn delay_with_retry_after(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let own = self.delay(failures);
        match retry_after {
            Some(asked) => own.max(asked.min(self.retry_after_cap)),
            None => own,
        }
    }
}

/// Reads a `Retry-After` value: delay-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`),
/// relative to `now_ms`. A date in the past means "now" (zero). Anything else is `None` (ignored).
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // IMF-fixdate is a subset of RFC 2822 ("GMT" is an accepted zone there).
    let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    let at_ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
    let wait_ms = at_ms.saturating_sub(now_ms).max(0);
    Some(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(base_ms: u64, cap_ms: u64) -> Backoff {
        Backoff {
            base: Duration::from_millis(base_ms),
            cap: Duration::from_millis(cap_ms),
            retry_after_cap: Duration::from_secs(60),
        }
    }

    #[test]
    fn each_failure_doubles_the_wait_up_to_the_cap() {
        let b = schedule(2000, 300_000);
        let waits: Vec<u64> = (1..=10).map(|n| b.delay(n).as_millis() as u64).collect();
        assert_eq!(
            waits,
            [
                2000, 4000, 8000, 16000, 32000, 64000, 128_000, 256_000, 300_000, 300_000
            ]
        );
    }

    #[test]
    fn very_many_failures_do_not_overflow() {
        let b = schedule(2000, 300_000);
        assert_eq!(b.delay(u32::MAX), Duration::from_millis(300_000));
        assert_eq!(b.delay(0), Duration::from_millis(2000));
    }

    #[test]
    fn a_longer_retry_after_wins_and_is_capped() {
        let b = schedule(1000, 10_000);
        assert_eq!(
            b.delay_with_retry_after(1, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(
            b.delay_with_retry_after(1, Some(Duration::from_secs(86_400))),
            Duration::from_secs(60),
            "a day-long Retry-After is capped"
        );
        assert_eq!(
            b.delay_with_retry_after(3, Some(Duration::from_millis(10))),
            Duration::from_millis(4000),
            "a shorter Retry-After does not speed up the schedule"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = 1_445_412_480_000; // 2015-10-21T07:28:00Z
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
