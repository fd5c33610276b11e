//! The core's reading of a notification, as uniffi records for Kotlin: what the phone concluded.

use serde::{Deserialize, Serialize};
use webqris_core::event::{self, NotificationEvent};
use webqris_core::notification::{self, Notification, PaymentKind, Reason, Verdict};

/// Where the money came from (mirrors `notification::PaymentKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, uniffi::Enum)]
#[serde(rename_all = "lowercase")]
pub enum PaymentSource {
    /// A QRIS payment.
    Qris,
    /// A transfer in.
    Transfer,
}

/// Why a notification is not an incoming payment (mirrors `notification::Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, uniffi::Enum)]
#[serde(rename_all = "lowercase")]
pub enum IgnoreReason {
    /// Money going out.
    Outgoing,
    /// The owner's own top-up.
    Topup,
    /// Marketing, cashback, rewards.
    Promo,
    /// One-time password or security code.
    Otp,
    /// In progress, or an instruction to pay.
    Pending,
    /// A failed transaction.
    Failed,
    /// The system hid the content from the listener.
    Redacted,
    /// Not understood.
    Unrecognized,
}

/// One payment read from a notification (mirrors `notification::ParsedPayment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct Payment {
    /// Integer Rupiah.
    pub amount: u64,
    /// Who paid, when the text names them.
    pub sender: Option<String>,
    /// The app's transaction id, when the text carries one.
    pub reference: Option<String>,
}

/// The core's conclusion (mirrors `notification::Verdict`; same JSON as `webqris notif parse --json`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum NotificationVerdict {
    /// An incoming payment.
    Incoming {
        /// QRIS or transfer.
        source: PaymentSource,
        /// Each payment in the text, in text order.
        payments: Vec<Payment>,
    },
    /// Not an incoming payment.
    NotIncoming {
        /// Why not.
        reason: IgnoreReason,
    },
}

/// The verdict's JSON: `{"incoming":true,"kind":…,"payments":[…]}` or `{"incoming":false,"reason":…}`.
#[derive(Debug, Serialize, Deserialize)]
struct VerdictJson {
    incoming: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<PaymentSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payments: Option<Vec<Payment>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<IgnoreReason>,
}

impl NotificationVerdict {
    /// Whether this is an incoming payment.
    pub fn is_incoming(&self) -> bool {
        matches!(self, Self::Incoming { .. })
    }

    /// The stored (JSON) form.
    pub fn to_json(&self) -> String {
        let json = match self {
            Self::Incoming { source, payments } => VerdictJson {
                incoming: true,
                kind: Some(*source),
                payments: Some(payments.clone()),
                reason: None,
            },
            Self::NotIncoming { reason } => VerdictJson {
                incoming: false,
                kind: None,
                payments: None,
                reason: Some(*reason),
            },
        };
        serde_json::to_string(&json).unwrap_or_else(|_| r#"{"incoming":false}"#.to_owned())
    }

    /// Reads the stored form; anything unreadable is `NotIncoming { Unrecognized }` (it is only shown).
    pub fn from_json(text: &str) -> Self {
        match serde_json::from_str::<VerdictJson>(text) {
            Ok(VerdictJson {
                incoming: true,
                kind: Some(source),
                payments: Some(payments),
                ..
            }) => Self::Incoming { source, payments },
            Ok(VerdictJson {
                incoming: false,
                reason: Some(reason),
                ..
            }) => Self::NotIncoming { reason },
            _ => Self::NotIncoming {
                reason: IgnoreReason::Unrecognized,
            },
        }
    }
}

impl From<Verdict> for NotificationVerdict {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Incoming { kind, payments } => Self::Incoming {
                source: match kind {
                    PaymentKind::Qris => PaymentSource::Qris,
                    PaymentKind::Transfer => PaymentSource::Transfer,
                },
                payments: payments
                    .into_iter()
                    .map(|p| Payment {
                        amount: p.amount,
                        sender: p.sender,
                        reference: p.reference,
                    })
                    .collect(),
            },
            Verdict::NotIncoming { reason } => Self::NotIncoming {
                reason: match reason {
                    Reason::Outgoing => IgnoreReason::Outgoing,
                    Reason::Topup => IgnoreReason::Topup,
                    Reason::Promo => IgnoreReason::Promo,
                    Reason::Otp => IgnoreReason::Otp,
                    Reason::Pending => IgnoreReason::Pending,
                    Reason::Failed => IgnoreReason::Failed,
                    Reason::Redacted => IgnoreReason::Redacted,
                    Reason::Unrecognized => IgnoreReason::Unrecognized,
                },
            },
        }
    }
}

/// A known app, for the settings screen (mirrors `notification::AppInfo`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KnownApp {
    /// Android package name.
    pub package: String,
    /// Name shown to people.
    pub name: String,
    /// Enabled in a new forwarder's settings.
    pub default_enabled: bool,
}

/// Reads a notification as the server would.
#[uniffi::export]
pub fn parse_notification(
    app: String,
    title: String,
    text: String,
    big_text: Option<String>,
) -> NotificationVerdict {
    notification::parse(&Notification {
        app: &app,
        title: &title,
        text: &text,
        big_text: big_text.as_deref(),
    })
    .into()
}

/// The text the parser reads and the forwarder sends: the big text when present and not blank.
#[uniffi::export]
pub fn effective_text(text: String, big_text: Option<String>) -> String {
    notification::effective_text(&text, big_text.as_deref()).to_owned()
}

/// The identity of one posting of a notification (`event::event_hash`), over the effective text.
#[uniffi::export]
pub fn event_hash(
    app: String,
    key: String,
    post_time_ms: i64,
    title: String,
    text: String,
    big_text: Option<String>,
) -> String {
    event::event_hash(&NotificationEvent {
        app: &app,
        key: &key,
        post_time_ms,
        title: &title,
        text: notification::effective_text(&text, big_text.as_deref()),
    })
}

/// Every app the core has a grammar for.
#[uniffi::export]
pub fn known_apps() -> Vec<KnownApp> {
    notification::known_apps()
        .iter()
        .map(|a| KnownApp {
            package: a.package.to_owned(),
            name: a.name.to_owned(),
            default_enabled: a.default_enabled,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_form_is_the_cli_json_and_round_trips() {
        let paid = NotificationVerdict::Incoming {
            source: PaymentSource::Qris,
            payments: vec![Payment {
                amount: 25042,
                sender: Some("JOHN DOE".into()),
                reference: None,
            }],
        };
        let core_json = serde_json::to_value(Verdict::Incoming {
            kind: PaymentKind::Qris,
            payments: vec![notification::ParsedPayment {
                amount: 25042,
                sender: Some("JOHN DOE".into()),
                reference: None,
            }],
        })
        .expect("core verdict serialises");
        let ours: serde_json::Value = serde_json::from_str(&paid.to_json()).expect("json");
        assert_eq!(ours, core_json);
        assert_eq!(NotificationVerdict::from_json(&paid.to_json()), paid);
        let promo = NotificationVerdict::NotIncoming {
            reason: IgnoreReason::Promo,
        };
        assert_eq!(promo.to_json(), r#"{"incoming":false,"reason":"promo"}"#);
        assert_eq!(NotificationVerdict::from_json(&promo.to_json()), promo);
        assert_eq!(
            NotificationVerdict::from_json("garbage"),
            NotificationVerdict::NotIncoming {
                reason: IgnoreReason::Unrecognized
            }
        );
    }

    #[test]
    fn the_event_hash_reads_the_big_text_when_there_is_one() {
        let with_big = event_hash(
            "id.dana".into(),
            "k".into(),
            1,
            "DANA".into(),
            "short".into(),
            Some("long text".into()),
        );
        let plain = event_hash(
            "id.dana".into(),
            "k".into(),
            1,
            "DANA".into(),
            "long text".into(),
            None,
        );
        assert_eq!(with_big, plain);
    }
}
