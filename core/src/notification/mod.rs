//! Reading e-wallet and bank notifications: is this an incoming payment, and of how much, from whom?
//!
//! [`read`] reads the words of one notification in a fixed order, each step able to stop with a verdict:
//! 1. the title and the text ([`effective_text`]) are normalised ([`MAX_TEXT_BYTES`] cap, invisible
//!    characters removed, spaces unified); an over-long text is not read at all;
//! 2. the system's redaction placeholder gives `redacted`; an empty text (group summaries) gives
//!    `unrecognized`;
//! 3. every money mention is read strictly (see [`parse_rupiah`]) and replaced by a marker;
//! 4. the app family's wordings (the table in `family.rs`, one entry per family) locate the payments
//!    and the names in them; not-incoming wording (otp, failed, pending, promo, topup, refunds as
//!    unrecognized, outgoing) anywhere in title or text, outside those names, gives its reason; a grouped
//!    notification is judged line by line;
//! 5. otherwise not-incoming wording anywhere gives its reason, and then the conservative generic rule:
//!    one readable amount, "received" wording, nothing else.
//!
//! Whether what was read may pay is not the parser's call: [`trust::decide`] weighs who posted it (a
//! family's package, a source the merchant trusts), its title, its Android category and template, and
//! the channels that paid before. [`parse`] is [`read`] with the sources that can never pay refused.
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
pub mod trust;

pub use amount::{AmountError, parse_rupiah};
pub use family::{AppFamily, app_family};
pub use text::MAX_TEXT_BYTES;

use amount::Marked;
use grammar::{Found, Outcome};

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

impl Reason {
    /// The stored and wire spelling (the serialised form).
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Outgoing => "outgoing",
            Reason::Topup => "topup",
            Reason::Promo => "promo",
            Reason::Otp => "otp",
            Reason::Pending => "pending",
            Reason::Failed => "failed",
            Reason::Redacted => "redacted",
            Reason::Unrecognized => "unrecognized",
        }
    }
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

/// Which reader made an incoming verdict: the trust decision ([`trust`]) lets only an app family's own
/// wording pay by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadBy {
    /// A wording of the app's family table entry (`family.rs`).
    Family,
    /// The generic rule, over the text.
    Generic,
    /// The generic rule over the title alone: the text names no amount.
    GenericTitle,
}

/// A verdict and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// What the words say.
    pub verdict: Verdict,
    /// Which reader found the payments (`None` unless the verdict is incoming).
    pub read_by: Option<ReadBy>,
}

impl Reading {
    fn not_incoming(reason: Reason) -> Self {
        Self {
            verdict: Verdict::NotIncoming { reason },
            read_by: None,
        }
    }

    fn incoming(kind: PaymentKind, payments: Vec<ParsedPayment>, read_by: ReadBy) -> Self {
        Self {
            verdict: Verdict::Incoming { kind, payments },
            read_by: Some(read_by),
        }
    }
}

/// Reads a notification the way the forwarder's log and `webqris notif parse` show it: [`read`], except
/// that a source that can never pay (chat, SMS, e-mail, browsers…, see [`trust`]) is never incoming.
/// Never panics; anything doubtful is `NotIncoming { reason: Unrecognized }`.
pub fn parse(notification: &Notification<'_>) -> Verdict {
    if trust::never_pays(notification.app) {
        return Verdict::NotIncoming {
            reason: Reason::Unrecognized,
        };
    }
    read(notification).verdict
}

/// Reads the words of a notification, whoever posted it (the server stores what a chat message would
/// have claimed, and [`trust`] decides whether it may pay). Never panics.
pub fn read(notification: &Notification<'_>) -> Reading {
    let body = effective_text(notification.text, notification.big_text);
    let (Some(title), Some(body)) = (text::normalize(notification.title), text::normalize(body))
    else {
        return Reading::not_incoming(Reason::Unrecognized);
    };
    if exclusion::is_redacted(&title, &body) {
        return Reading::not_incoming(Reason::Redacted);
    }
    if body.is_empty() {
        // Group summaries and content-less updates. The system says "hidden" when it redacts (above);
        // an empty text alone is not proof of redaction, and never of a payment.
        return Reading::not_incoming(Reason::Unrecognized);
    }
    let title = Marked::new(&title);
    let body = Marked::new(&body);
    for rule in family::rules_for(notification.app).unwrap_or_default() {
        if let Outcome::Found(kind, found) = rule.apply(&title.text, &body) {
            return if rule.is_grouped() {
                grouped(kind, &found, &title, &body)
            } else {
                single(kind, &found, &title, &body)
            };
        }
    }
    if let Some(reason) = exclusion::reason(&title.text, &body.text, &body.text) {
        return Reading::not_incoming(reason);
    }
    match grammar::generic(&title, &body) {
        Some(generic) => Reading::incoming(
            generic.kind,
            vec![generic.payment],
            if generic.in_title {
                ReadBy::GenericTitle
            } else {
                ReadBy::Generic
            },
        ),
        None => Reading::not_incoming(Reason::Unrecognized),
    }
}

/// A one-payment wording of the family: its not-incoming wording (outside the names it located) first,
/// then its amount.
fn single(kind: PaymentKind, found: &[Found], title: &Marked, body: &Marked) -> Reading {
    let names: Vec<_> = found.iter().flat_map(|f| f.names.iter().cloned()).collect();
    let unnamed = exclusion::blank_names(&body.text, &names);
    if let Some(reason) = exclusion::reason(&title.text, &body.text, &unnamed) {
        return Reading::not_incoming(reason);
    }
    match found.first().and_then(|f| f.payment.clone()) {
        Some(payment) => Reading::incoming(kind, vec![payment], ReadBy::Family),
        None => Reading::not_incoming(Reason::Unrecognized),
    }
}

/// A grouped wording (GoBiz: one payment per line), read line by line: a line with not-incoming wording
/// ("gagal") is set aside and the others still pay; a line holding an amount that neither the wording
/// nor an exclusion accounts for refuses the whole text (it could be a payment we would silently drop).
fn grouped(kind: PaymentKind, found: &[Found], title: &Marked, body: &Marked) -> Reading {
    if let Some(reason) = exclusion::reason(&title.text, "", "") {
        return Reading::not_incoming(reason);
    }
    let mut payments = Vec::new();
    let mut set_aside = None;
    let mut start = 0;
    for line in body.text.split('\n') {
        let range = start..start + line.len();
        start = range.end + 1;
        let here: Vec<&Found> = found
            .iter()
            .filter(|f| f.span.start >= range.start && f.span.end <= range.end)
            .collect();
        let names: Vec<_> = here
            .iter()
            .flat_map(|f| f.names.iter())
            .map(|n| n.start - range.start..n.end - range.start)
            .collect();
        if let Some(reason) = exclusion::reason("", line, &exclusion::blank_names(line, &names)) {
            set_aside.get_or_insert(reason);
            continue;
        }
        if here.len() != Marked::mentions_in(line) {
            return Reading::not_incoming(Reason::Unrecognized);
        }
        for f in here {
            match &f.payment {
                Some(p) => payments.push(p.clone()),
                None => return Reading::not_incoming(Reason::Unrecognized),
            }
        }
    }
    if payments.is_empty() {
        return Reading::not_incoming(set_aside.unwrap_or(Reason::Unrecognized));
    }
    Reading::incoming(kind, payments, ReadBy::Family)
}
