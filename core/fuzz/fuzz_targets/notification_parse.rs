//! Any app, title, text and big text: parsing never panics and gives the same verdict twice; an incoming
//! verdict carries at least one positive amount, senders that are trimmed and free of control characters,
//! and references made of the characters a transaction id may have. The trust decision over the same
//! input (the big text standing in for the category) never panics either, and never lets a source that
//! can never pay through. The input is split at U+001F (unit separator) into app, title, text and big
//! text, so that seeds stay readable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webqris_core::notification::trust::{self, Envelope, History, Trust};
use webqris_core::notification::{self, Notification, Verdict};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mut fields = input.splitn(4, '\u{1f}');
    let app = fields.next().unwrap_or_default();
    let title = fields.next().unwrap_or_default();
    let text = fields.next().unwrap_or_default();
    let big_text = fields.next();
    let notification = Notification {
        app,
        title,
        text,
        big_text,
    };

    let verdict = notification::parse(&notification);
    assert_eq!(
        verdict,
        notification::parse(&notification),
        "parse is deterministic"
    );
    if let Verdict::Incoming { payments, .. } = &verdict {
        assert!(!payments.is_empty());
        for payment in payments {
            assert!(payment.amount > 0);
            if let Some(sender) = &payment.sender {
                assert!(!sender.is_empty());
                assert_eq!(sender.trim(), sender);
                assert!(!sender.chars().any(char::is_control));
            }
            if let Some(reference) = &payment.reference {
                assert!(!reference.is_empty());
                assert!(
                    reference
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                );
            }
        }
    }
    let reading = notification::read(&notification);
    let envelope = Envelope {
        app,
        title,
        category: big_text,
        template: None,
        channel_id: None,
    };
    let decision = trust::decide(&envelope, &reading, &History::default());
    if trust::never_pays(app) {
        assert_ne!(decision, Trust::Trusted, "{app:?} can never pay");
    }
    if let Ok(amount) = notification::parse_rupiah(text) {
        assert!(amount > 0);
    }
});
