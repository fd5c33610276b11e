//! A string that must not leak: redacted in `Debug`/`Display`, compared in constant time.

use std::fmt;

use subtle::ConstantTimeEq;

/// A bearer secret (API token, callback secret, webhook secret). `Debug` never prints the value.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the few places that must use it (signing, hashing, showing it once).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a candidate a client sent.
    pub fn matches(&self, candidate: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate.as_bytes())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Compares two byte strings without an early exit on the first difference. Lengths are not secret.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretString::new("whsec_abc");
        assert_eq!(format!("{s:?}"), "SecretString(<redacted>)");
        assert!(!format!("{s:?}").contains("abc"));
    }

    #[test]
    fn matches_only_the_same_value() {
        let s = SecretString::new("cb_123");
        assert!(s.matches("cb_123"));
        assert!(!s.matches("cb_124"));
        assert!(!s.matches("cb_12"));
        assert!(!s.matches(""));
    }
}
