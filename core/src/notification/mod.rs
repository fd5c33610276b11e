//! Reading e-wallet and bank notifications: is this an incoming payment, and of how much, from whom?
//!
//! [`parse`] reads one notification in a fixed order, each step able to stop with a verdict:
//! 1. untrusted sources (chat, SMS, e-mail apps: anyone writes their text) are never incoming;
//! 2. the title and the text ([`effective_text`]) are normalised ([`MAX_TEXT_BYTES`] cap, invisible
//!    characters removed, spaces unified); an over-long text is not read at all;
//! 3. the system's redaction placeholder gives `redacted`; an empty text (group summaries) gives
//!    `unrecognized`;
//! 4. every money mention is read strictly (see [`parse_rupiah`]) and replaced by a marker;
//! 5. not-incoming wording anywhere in title or text gives its reason (otp, failed, pending, promo,
//!    topup, refunds as unrecognized, outgoing), before any grammar can see the text;
//! 6. the app family's grammar (the table in `family.rs`, one entry per app) reads the payments;
//! 7. otherwise the conservative generic rule: one readable amount, "received" wording, nothing else.
//!
//! Anything doubtful ends as `unrecognized`: a missed payment can be reconciled by hand from the stored
//! notification, a false "paid" cannot be taken back.

use serde::Serialize;
use serde::ser::SerializeMap;

mod amount;
mod exclusion;
mod family;
mod grammar;
pub mod mask;
#[cfg(test)]
mod tests;
mod text;

pub use amount::{AmountError, parse_rupiah};
pub use family::{AppFamily, app_family};
pub use text::MAX_TEXT_BYTES;

use amount::Marked;
use grammar::Outcome;

/// A notification as posted on the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification<'a> {
    /// Android package name, e.g. `id.dana`.
    pub app: &'a str,
    /// Title.
    pub title: &'a str,
    /// `android.text`.
    pub text: &'a str,
    /// `android.bigText`, when the app set one.
    pub big_text: Option<&'a str>,
}

/// Where the money came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentKind {
    /// A QRIS payment to the merchant.
    Qris,
    /// A transfer in (P2P, bank transfer, BI-FAST…).
    Transfer,
}

/// One payment read from a notification (grouped notifications carry several).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedPayment {
    /// Integer Rupiah.
    pub amount: u64,
    /// Who paid, when the text names them.
    pub sender: Option<String>,
    /// The app's transaction id, when the text carries one.
    pub reference: Option<String>,
}

/// Why a notification is not an incoming payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Money going out (transfer, payment, purchase).
    Outgoing,
    /// The owner's own top-up.
    Topup,
    /// Marketing, cashback, rewards.
    Promo,
    /// One-time password or security code.
    Otp,
    /// A transaction still in progress, or an instruction to pay.
    Pending,
    /// A failed transaction.
    Failed,
    /// The system hid the content from the listener (Android 15+ sensitive notifications).
    Redacted,
    /// Not understood; never guessed as incoming.
    Unrecognized,
}

/// The parser's conclusion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An incoming payment, with one or more amounts.
    Incoming {
        /// QRIS or transfer.
        kind: PaymentKind,
        /// Each payment in the text, in text order.
        payments: Vec<ParsedPayment>,
    },
    /// Not an incoming payment.
    NotIncoming {
        /// Why not.
        reason: Reason,
    },
}

impl Serialize for Verdict {
    /// `{"incoming":true,"kind":…,"payments":[…]}` or `{"incoming":false,"reason":…}`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Verdict::Incoming { kind, payments } => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("incoming", &true)?;
                map.serialize_entry("kind", kind)?;
                map.serialize_entry("payments", payments)?;
                map.end()
            }
            Verdict::NotIncoming { reason } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("incoming", &false)?;
                map.serialize_entry("reason", reason)?;
                map.end()
            }
        }
    }
}

/// The text the parser reads: the big text when it is present and not blank, else the text.
pub fn effective_text<'a>(text: &'a str, big_text: Option<&'a str>) -> &'a str {
    match big_text {
        Some(big) if !big.trim().is_empty() => big,
        _ => text,
    }
}

/// A known app: package, display name, and whether the forwarder watches it by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AppInfo {
    /// Android package name.
    pub package: &'static str,
    /// Name shown to people.
    pub name: &'static str,
    /// Enabled in a new forwarder's settings.
    pub default_enabled: bool,
}

/// Every app with a grammar, for the forwarder's settings screen; the `default_enabled` ones are watched
/// by a new install.
pub fn known_apps() -> &'static [AppInfo] {
    family::all_apps()
}

/// Reads a notification. Never panics; anything doubtful is `NotIncoming { reason: Unrecognized }`.
pub fn parse(notification: &Notification<'_>) -> Verdict {
    let not_incoming = |reason| Verdict::NotIncoming { reason };
    if family::is_untrusted_source(notification.app) {
        return not_incoming(Reason::Unrecognized);
    }
    let body = effective_text(notification.text, notification.big_text);
    let (Some(title), Some(body)) = (text::normalize(notification.title), text::normalize(body))
    else {
        return not_incoming(Reason::Unrecognized);
    };
    if exclusion::is_redacted(&title, &body) {
        return not_incoming(Reason::Redacted);
    }
    if body.is_empty() {
        // Group summaries and content-less updates. The system says "hidden" when it redacts (above);
        // an empty text alone is not proof of redaction, and never of a payment.
        return not_incoming(Reason::Unrecognized);
    }
    let title = Marked::new(&title);
    let body = Marked::new(&body);
    if let Some(reason) = exclusion::reason(&title.text, &body.text) {
        return not_incoming(reason);
    }
    for rule in family::rules_for(notification.app).unwrap_or_default() {
        match rule.apply(&title.text, &body) {
            Outcome::NoMatch => continue,
            Outcome::Payments(kind, payments) => return Verdict::Incoming { kind, payments },
            Outcome::Refused => return not_incoming(Reason::Unrecognized),
        }
    }
    match grammar::generic(&title, &body) {
        Some((kind, payment)) => Verdict::Incoming {
            kind,
            payments: vec![payment],
        },
        None => not_incoming(Reason::Unrecognized),
    }
}
