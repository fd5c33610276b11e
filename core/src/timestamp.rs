//! Instants as the API writes them: ISO-8601 UTC with milliseconds and `Z` (`2026-03-09T10:30:00.000Z`),
//! stored and compared as milliseconds since the Unix epoch.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Milliseconds since the Unix epoch, UTC. Rendered on the wire as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// A text that is not an RFC 3339 / ISO-8601 instant with an offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {input:?}: expected ISO-8601 such as 2026-03-09T10:30:00.000Z")]
pub struct TimestampError {
    /// The text that was refused (truncated to 64 characters).
    pub input: String,
}

impl Timestamp {
    /// The instant `ms` milliseconds after the Unix epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// The current time of the system clock.
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Self((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// This instant plus `secs` seconds (saturating).
    pub fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// Parses any RFC 3339 instant (`Z` or an offset, with or without fractional seconds).
    pub fn parse(input: &str) -> Result<Self, TimestampError> {
        let err = || TimestampError {
            input: input.chars().take(64).collect(),
        };
        let parsed = OffsetDateTime::parse(input.trim(), &Rfc3339).map_err(|_| err())?;
        let ms = parsed.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ms).map(Self).map_err(|_| err())
    }

    /// The wire form, always UTC with exactly three fractional digits and `Z`.
    pub fn to_iso(self) -> String {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(dt) => dt
                .to_offset(UtcOffset::UTC)
                .format(&format)
                // The format has no component that can fail for an in-range UTC date.
                .unwrap_or_default(),
            // Outside year ±9999: not a date this system produces; keep the raw number visible.
            Err(_) => format!("@{}ms", self.0),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_iso())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_utc_with_milliseconds_and_z() {
        assert_eq!(
            Timestamp::from_millis(1_710_000_000_000).to_iso(),
            "2024-03-09T16:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(1_710_000_000_007).to_iso(),
            "2024-03-09T16:00:00.007Z"
        );
        assert_eq!(
            Timestamp::from_millis(0).to_iso(),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn parses_offsets_and_round_trips() {
        let t = Timestamp::parse("2026-03-21T10:15:23.000Z").expect("valid");
        assert_eq!(t.to_iso(), "2026-03-21T10:15:23.000Z");
        let jakarta = Timestamp::parse("2026-03-21T17:15:23+07:00").expect("valid");
        assert_eq!(jakarta, t);
        assert!(Timestamp::parse("yesterday").is_err());
        assert!(Timestamp::parse("2026-03-21 10:15").is_err());
    }

    #[test]
    fn serde_uses_the_wire_form() {
        let t = Timestamp::from_millis(1_773_051_000_000);
        let json = serde_json::to_string(&t).expect("serialize");
        assert_eq!(json, "\"2026-03-09T10:10:00.000Z\"");
        let back: Timestamp = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, t);
    }
}
