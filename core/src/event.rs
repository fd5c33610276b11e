//! Identities of notification events, computed the same way on the phone and on the server.
//!
//! Every identity is a lowercase hex SHA-256 over a domain tag and a list of fields, each field written as
//! `<byte length in decimal>:<UTF-8 bytes>\n` after the tag line `<tag>\n`. Length prefixes make the
//! encoding unambiguous (no field can run into the next), and the scheme is a few lines in any language.
//! Text fields are normalised first: `\r\n` and `\r` become `\n`, and leading/trailing whitespace is
//! removed; the package name is also lowercased.
//!
//! Three identities, three jobs (see "Money rules" in the design):
//! - [`event_hash`] — one *posting* of a notification: `(app, key, post_time_ms, title, text)`. Android
//!   re-delivering a notification on listener reconnect repeats key and post time, so it hashes the same;
//!   a new post (even with identical text) is a new event. Sent by our forwarder as `event_hash`.
//! - [`content_fingerprint`] — the content without any time: `(app, title, text)`. The server treats an
//!   identical fingerprint within its short duplicate window as a re-post of the same payment, and outside
//!   the window as a new payment.
//! - [`reference_key`] — `(app, reference)` for texts that carry the app's own transaction id: that id
//!   identifies the payment, whatever the post time or wording.

use sha2::{Digest, Sha256};

/// Domain tag of [`event_hash`].
pub const EVENT_HASH_TAG: &str = "webqris-event-v1";
/// Domain tag of [`content_fingerprint`].
pub const CONTENT_FINGERPRINT_TAG: &str = "webqris-content-v1";
/// Domain tag of [`reference_key`].
pub const REFERENCE_KEY_TAG: &str = "webqris-reference-v1";

/// One notification as the phone's listener saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationEvent<'a> {
    /// Android package name of the posting app, e.g. `id.dana`.
    pub app: &'a str,
    /// `StatusBarNotification.getKey()`; empty when the source has none.
    pub key: &'a str,
    /// `StatusBarNotification.getPostTime()`, milliseconds since the epoch.
    pub post_time_ms: i64,
    /// Notification title.
    pub title: &'a str,
    /// The text the parser reads (big text when present, see [`crate::notification::effective_text`]).
    pub text: &'a str,
}

/// SHA-256 over `tag` and `fields` in the length-prefixed encoding of this module, lowercase hex.
pub fn digest(tag: &str, fields: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(tag.as_bytes());
    hasher.update(b"\n");
    for field in fields {
        hasher.update(field.len().to_string().as_bytes());
        hasher.update(b":");
        hasher.update(field.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// Normalises a title or text: unified line endings, no outer whitespace.
pub fn normalize_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_owned()
}

/// Normalises a package name: trimmed and lowercased.
pub fn normalize_app(app: &str) -> String {
    app.trim().to_ascii_lowercase()
}

/// Identity of one posting of a notification (stable across Android re-deliveries).
pub fn event_hash(event: &NotificationEvent<'_>) -> String {
    digest(
        EVENT_HASH_TAG,
        &[
            &normalize_app(event.app),
            event.key,
            &event.post_time_ms.to_string(),
            &normalize_text(event.title),
            &normalize_text(event.text),
        ],
    )
}

/// Identity of the content of a notification, without time.
pub fn content_fingerprint(app: &str, title: &str, text: &str) -> String {
    digest(
        CONTENT_FINGERPRINT_TAG,
        &[
            &normalize_app(app),
            &normalize_text(title),
            &normalize_text(text),
        ],
    )
}

/// Identity of a payment by the app's own transaction reference.
pub fn reference_key(app: &str, reference: &str) -> String {
    digest(REFERENCE_KEY_TAG, &[&normalize_app(app), reference.trim()])
}

/// The `notif_id` our forwarder sends: unique per posting, because Android reuses notification ids
/// (GoPay posts every payment with id -1).
pub fn forwarder_notif_id(key: &str, post_time_ms: i64) -> String {
    format!("{key}@{post_time_ms}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dana(post_time_ms: i64, key: &'static str) -> NotificationEvent<'static> {
        NotificationEvent {
            app: "id.dana",
            key,
            post_time_ms,
            title: "DANA",
            text: "Kamu berhasil menerima Rp25.042 dari JOHN DOE",
        }
    }

    #[test]
    fn the_encoding_is_documented_and_stable() {
        // Pinned so that a change of encoding (which would split phone and server) fails loudly.
        assert_eq!(
            digest("t", &["ab", ""]),
            hex::encode(Sha256::digest(b"t\n2:ab\n0:\n"))
        );
        assert_eq!(
            event_hash(&dana(1_774_088_123_000, "0|id.dana|-1|null|10123")),
            digest(
                EVENT_HASH_TAG,
                &[
                    "id.dana",
                    "0|id.dana|-1|null|10123",
                    "1774088123000",
                    "DANA",
                    "Kamu berhasil menerima Rp25.042 dari JOHN DOE"
                ]
            )
        );
    }

    #[test]
    fn a_redelivery_hashes_the_same_and_a_new_post_differs() {
        let first = event_hash(&dana(1000, "k"));
        assert_eq!(first, event_hash(&dana(1000, "k")));
        assert_ne!(
            first,
            event_hash(&dana(1001, "k")),
            "new post time: new event"
        );
        assert_ne!(
            first,
            event_hash(&dana(1000, "k2")),
            "other notification key: new event"
        );
    }

    #[test]
    fn normalisation_ignores_line_endings_case_of_package_and_outer_space() {
        let a = content_fingerprint("id.dana", "DANA", "line1\r\nline2 ");
        let b = content_fingerprint(" ID.DANA", "DANA", "line1\nline2");
        assert_eq!(a, b);
        assert_ne!(a, content_fingerprint("id.dana", "DANA", "line1\nline3"));
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        assert_ne!(
            content_fingerprint("a", "bc", "d"),
            content_fingerprint("a", "b", "cd")
        );
        assert_ne!(reference_key("a.b", "c"), reference_key("a", "b.c"));
    }

    #[test]
    fn forwarder_notif_id_is_unique_per_posting() {
        assert_eq!(forwarder_notif_id("-1", 5), "-1@5");
        assert_ne!(forwarder_notif_id("-1", 5), forwarder_notif_id("-1", 6));
    }
}
