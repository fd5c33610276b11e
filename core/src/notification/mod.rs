//! Reading e-wallet and bank notifications: is this an incoming payment, and of how much, from whom?
//!
//! SKELETON: the grammars are filled by the core notification work; the types and signatures are the
//! contract the server and the forwarder build on.

use serde::Serialize;
use serde::ser::SerializeMap;

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

/// Every app with a grammar, for the forwarder's settings screen.
pub fn known_apps() -> &'static [AppInfo] {
    &[]
}

/// Reads a notification. Never panics; anything doubtful is `NotIncoming { reason: Unrecognized }`.
pub fn parse(notification: &Notification<'_>) -> Verdict {
    let _ = notification;
    Verdict::NotIncoming {
        reason: Reason::Unrecognized,
    }
}
