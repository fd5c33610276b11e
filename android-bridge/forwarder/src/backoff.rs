//! When to try again: capped exponential schedules, and the server's `Retry-After` honoured.
//!
//! Three schedules use this arithmetic (see the README's forwarder section): an item's own retries after
//! failed attempts (doubling: 2 s, 4 s, 8 s … 5 min), the whole queue's retries while the server refuses
//! us (401, 403, 3xx: slower, ×4: 2 s, 8 s, 32 s, 128 s, 5 min) and while it cannot be reached at all
//! (doubling). Each starts at its first step, so a hiccup heals in seconds. Pure arithmetic, tested
//! without a clock.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// A retry schedule: `base · factor^(failures-1)`, at most `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Wait after the first failure.
    pub base: Duration,
    /// Each further failure multiplies the wait by this.
    pub factor: u32,
    /// The longest wait the schedule reaches.
    pub cap: Duration,
    /// The longest `Retry-After` obeyed; a server asking for more is retried after this (a bad header
    /// must not park the phone's queue for days).
    pub retry_after_cap: Duration,
}

/// The longest `Retry-After` obeyed by default.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

impl Backoff {
    /// Doubling from `base` up to `cap` (an item's retries; an unreachable server).
    pub fn doubling(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            factor: 2,
            cap,
            retry_after_cap: cap.max(RETRY_AFTER_CAP),
        }
    }

    /// The slower schedule of refusals (401, 403, 3xx): ×4 from `base` up to `cap`. A refusal is usually
    /// a configuration fault that waits for a person, but sometimes a proxy's hiccup or a secret being
    /// rotated: the first retry still comes at `base`.
    pub fn refusals(base: Duration, cap: Duration) -> Self {
        Self {
            factor: 4,
            ..Self::doubling(base, cap)
        }
    }

    /// Wait before the next try after `failures` failures in a row (`failures >= 1`).
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1);
        let growth = self.factor.max(1).checked_pow(exponent).unwrap_or(u32::MAX);
        self.base.saturating_mul(growth).min(self.cap)
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
            retry_after_cap: Duration::from_secs(60),
            ..Backoff::doubling(
                Duration::from_millis(base_ms),
                Duration::from_millis(cap_ms),
            )
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
    fn refusals_are_retried_on_a_slower_schedule_that_starts_at_the_first_step() {
        let b = Backoff::refusals(Duration::from_secs(2), Duration::from_secs(300));
        let waits: Vec<u64> = (1..=7).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(waits, [2, 8, 32, 128, 300, 300, 300]);
    }

    #[test]
    fn very_many_failures_do_not_overflow() {
        let b = schedule(2000, 300_000);
        assert_eq!(b.delay(u32::MAX), Duration::from_millis(300_000));
        let refusals = Backoff::refusals(Duration::from_secs(2), Duration::from_secs(300));
        assert_eq!(refusals.delay(u32::MAX), Duration::from_secs(300));
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
