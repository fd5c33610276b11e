//! Any app, title and text: parsing never panics and an incoming verdict always carries at least one
//! positive amount.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webqris_core::notification::{self, Notification, Verdict};

fuzz_target!(|input: (&str, &str, &str)| {
    let (app, title, text) = input;
    let verdict = notification::parse(&Notification {
        app,
        title,
        text,
        big_text: None,
    });
    if let Verdict::Incoming { payments, .. } = verdict {
        assert!(!payments.is_empty());
        assert!(payments.iter().all(|p| p.amount > 0));
    }
});
