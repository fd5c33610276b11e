//! The forwarding device's id: one bound, applied once, on every path that records it (notifications,
//! connection tests, heartbeats).

use std::fmt;

/// A forwarding device's id: trimmed, never empty, at most [`DeviceId::MAX_CHARS`] characters. A longer
/// id is cut rather than refused: nothing a phone sends is dropped for its device name, and the devices
/// table keeps one row per (cut) id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(String);

impl DeviceId {
    /// Longest id kept, in characters.
    pub const MAX_CHARS: usize = 128;

    /// The id a phone sent, trimmed and cut at [`DeviceId::MAX_CHARS`]; `None` when nothing is left.
    pub fn new(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return None;
        }
        let cut = match trimmed.char_indices().nth(Self::MAX_CHARS) {
            Some((end, _)) => trimmed[..end].trim_end(),
            None => trimmed,
        };
        Some(Self(cut.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DeviceId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_trimmed_and_blank_ones_are_none() {
        assert_eq!(
            DeviceId::new("  device-01 \n").map(|d| d.to_string()),
            Some("device-01".into())
        );
        assert_eq!(DeviceId::new(""), None);
        assert_eq!(DeviceId::new(" \t "), None);
    }

    #[test]
    fn long_ids_are_cut_at_the_bound_in_characters_not_bytes() {
        let id = DeviceId::new(&"é".repeat(20_000)).expect("id");
        assert_eq!(id.as_str(), "é".repeat(DeviceId::MAX_CHARS));
        let exact = "a".repeat(DeviceId::MAX_CHARS);
        assert_eq!(DeviceId::new(&exact).expect("id").as_str(), exact);
    }
}
