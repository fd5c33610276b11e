//! What the forwarder keeps of a posted notification. Every notification of a watched app is sent (the
//! server is authoritative: it can be upgraded, and it stores everything); the phone's own reading is
//! kept for its log only. Skipped on the phone: apps that are not watched, notifications without text
//! (group summaries), and exact re-deliveries (the outbox's unique event hash). A text that reads like a
//! one-time code is sent with its codes masked ([`webqris_core::notification::mask`]).

use webqris_core::event::{self, NotificationEvent};
use webqris_core::notification::{self, Notification, Reason, Verdict, mask};

/// Longest `category`, `template` or `channel_id` kept (Android's are short identifiers).
const MAX_KIND_CHARS: usize = 200;

/// A notification as the listener saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// `StatusBarNotification.getPackageName()`.
    pub app: String,
    /// `android.title`.
    pub title: String,
    /// `android.text`.
    pub text: String,
    /// `android.bigText` (or the joined `android.textLines`), when set.
    pub big_text: Option<String>,
    /// `StatusBarNotification.getKey()`.
    pub key: String,
    /// `StatusBarNotification.getPostTime()`, epoch milliseconds.
    pub post_time_ms: i64,
    /// `Notification.category` (`msg`, `email`, `status`…).
    pub category: Option<String>,
    /// `Notification.EXTRA_TEMPLATE` (`android.app.Notification$MessagingStyle`…).
    pub template: Option<String>,
    /// `Notification.getChannelId()`.
    pub channel_id: Option<String>,
}

/// What `submit` did with a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// In the outbox; it will be delivered.
    Queued {
        /// Its event hash.
        event_hash: String,
    },
    /// Already kept (Android re-delivered it): nothing done.
    AlreadySeen {
        /// Its event hash.
        event_hash: String,
    },
    /// The app is not watched: neither kept nor sent.
    AppNotEnabled,
    /// No text (a group summary): neither kept nor sent.
    Empty,
}

/// A notification made ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prepared {
    /// Over the title and text *as sent* (a hash of an unmasked code could be brute-forced).
    pub(crate) event_hash: String,
    pub(crate) title: String,
    pub(crate) message: String,
    /// What the phone's parser read (on the original text).
    pub(crate) verdict: Verdict,
    pub(crate) masked: bool,
    pub(crate) category: Option<String>,
    pub(crate) template: Option<String>,
    pub(crate) channel_id: Option<String>,
}

/// Reads `n` for the outbox; `None` when it has no text.
pub(crate) fn prepare(n: &Incoming) -> Option<Prepared> {
    let text = notification::effective_text(&n.text, n.big_text.as_deref());
    if text.trim().is_empty() {
        return None;
    }
    let verdict = notification::parse(&Notification {
        app: &n.app,
        title: &n.title,
        text: &n.text,
        big_text: n.big_text.as_deref(),
    });
    // What the phone's parser calls an OTP, and what merely looks like one, never leaves with its codes.
    let masked = verdict
        == (Verdict::NotIncoming {
            reason: Reason::Otp,
        })
        || mask::looks_like_one_time_code(&n.title, text);
    let (title, message) = if masked {
        (
            mask::mask_codes(&n.title).into_owned(),
            mask::mask_codes(text).into_owned(),
        )
    } else {
        (n.title.clone(), text.to_owned())
    };
    let event_hash = event::event_hash(&NotificationEvent {
        app: &n.app,
        key: &n.key,
        post_time_ms: n.post_time_ms,
        title: &title,
        text: &message,
    });
    Some(Prepared {
        event_hash,
        title,
        message,
        verdict,
        masked,
        category: kind(n.category.as_deref()),
        template: kind(n.template.as_deref()),
        channel_id: kind(n.channel_id.as_deref()),
    })
}

/// A blank identifier is absent; a long one is cut.
fn kind(value: Option<&str>) -> Option<String> {
    let value = value?.trim();
    (!value.is_empty()).then(|| value.chars().take(MAX_KIND_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(title: &str, text: &str) -> Incoming {
        Incoming {
            app: "id.dana".into(),
            title: title.into(),
            text: text.into(),
            big_text: None,
            key: "0|id.dana|-1|null|10123".into(),
            post_time_ms: 1_774_088_123_000,
            category: Some("msg".into()),
            template: Some(" ".into()),
            channel_id: None,
        }
    }

    #[test]
    fn a_one_time_code_never_leaves_unmasked_and_its_hash_is_over_the_masked_text() {
        let n = posted(
            "DANA",
            "Kode OTP kamu 482913. JANGAN BERIKAN kode ini ke siapa pun.",
        );
        let p = prepare(&n).expect("has text");
        assert!(p.masked);
        assert_eq!(
            p.message,
            "Kode OTP kamu ******. JANGAN BERIKAN kode ini ke siapa pun."
        );
        assert!(!p.message.contains("482913"));
        let over_original = event::event_hash(&NotificationEvent {
            app: &n.app,
            key: &n.key,
            post_time_ms: n.post_time_ms,
            title: &n.title,
            text: &n.text,
        });
        assert_ne!(p.event_hash, over_original);
    }

    #[test]
    fn a_code_in_the_title_is_masked_too() {
        let p = prepare(&posted("123456 adalah kode OTP", "Berlaku 5 menit")).expect("text");
        assert_eq!(p.title, "****** adalah kode OTP");
        assert_eq!(p.message, "Berlaku * menit");
    }

    #[test]
    fn a_payment_is_kept_as_posted_with_the_phones_reading() {
        let p = prepare(&posted(
            "DANA",
            "Kamu berhasil menerima Rp25.042 dari JOHN DOE",
        ))
        .expect("text");
        assert!(!p.masked);
        assert_eq!(p.message, "Kamu berhasil menerima Rp25.042 dari JOHN DOE");
        assert!(matches!(p.verdict, Verdict::Incoming { .. }));
        assert_eq!(p.category.as_deref(), Some("msg"));
        assert_eq!(p.template, None, "a blank template is absent");
    }

    #[test]
    fn a_notification_without_text_is_not_kept() {
        assert_eq!(prepare(&posted("DANA", "  ")), None);
    }
}
