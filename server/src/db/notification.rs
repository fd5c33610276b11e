//! Inbound notifications, each stored with its outcome, the payments read from them, and the per-merchant
//! duplicate keys (`seen`).

use webqris_core::Timestamp;

use super::sql::{Row, params};
use super::{
    Conn, DbError, MAX_STORED_FIELD_CHARS, MAX_STORED_TEXT_CHARS, MerchantId, PaymentId, Scope, Tx,
    capped,
};

/// A notification's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationId(pub i64);

/// An unknown outcome, source or key kind spelling in the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownSpelling {
    what: &'static str,
    value: String,
}

/// Declares a stored enum with its spellings, `as_str` and `FromStr`.
macro_rules! spelled {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// The stored spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownSpelling;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownSpelling { what: $what, value: other.to_owned() }),
                }
            }
        }
    };
}

spelled!(
    /// What became of a notification.
    NotificationOutcome, "notification outcome" {
        /// It paid an invoice.
        Paid = "paid",
        /// Already seen (re-delivery or re-post).
        Duplicate = "duplicate",
        /// No amount could be read.
        NoAmount = "no_amount",
        /// Not an incoming payment (outgoing, promo, OTP…).
        NotIncoming = "not_incoming",
        /// An amount, but no pending invoice with that total.
        NoMatch = "no_match",
        /// For an invoice that had expired (its total still in cooldown).
        Late = "late",
        /// A connection test.
        Test = "test",
        /// From a source that may not pay (see `webqris_core::notification::trust`); stored, never paid.
        Untrusted = "untrusted",
        /// A payment notification waiting for a person (a channel never seen paying).
        Held = "held",
    }
);

spelled!(
    /// The trust decision taken on a notification (`webqris_core::notification::trust::Trust`).
    TrustOutcome, "trust outcome" {
        /// It may pay.
        Trusted = "trusted",
        /// It never pays.
        Untrusted = "untrusted",
        /// It waits for a person.
        Held = "held",
    }
);

spelled!(
    /// How a merchant came to know an `(app, channel)` pair.
    LearnedBy, "channel origin" {
        /// A payment on it paid an invoice.
        Payment = "payment",
        /// A person confirmed it in the dashboard.
        Person = "person",
    }
);

spelled!(
    /// What became of one payment read from a notification.
    PaymentOutcome, "payment outcome" {
        /// It paid an invoice.
        Paid = "paid",
        /// Its reference was already seen.
        Duplicate = "duplicate",
        /// No pending invoice with that total.
        NoMatch = "no_match",
        /// Its invoice had expired.
        Late = "late",
    }
);

spelled!(
    /// Where a notification came from.
    NotificationSource, "notification source" {
        /// `POST /api/webhook/payment` (the forwarder app).
        Forwarder = "forwarder",
        /// `POST /api/callback/notify`.
        Callback = "callback",
    }
);

spelled!(
    /// The kinds of duplicate key.
    SeenKind, "seen kind" {
        /// The client's `event_hash`: seen ever → duplicate.
        EventHash = "event_hash",
        /// `event::reference_key(app, reference)`: that payment, seen ever → duplicate.
        Reference = "reference",
        /// `event::content_fingerprint(app, title, text)`: duplicate within the window.
        Content = "content",
        /// `/api/callback/notify`'s `reference`: seen ever → duplicate.
        CallbackReference = "callback_reference",
    }
);

impl std::fmt::Display for PaymentOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A notification to store.
#[derive(Debug, Clone)]
pub struct NewNotification {
    /// Owner.
    pub merchant_id: MerchantId,
    /// Forwarder or callback.
    pub source: NotificationSource,
    /// When it arrived.
    pub received_at: Timestamp,
    /// Posting app's package.
    pub app: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Text.
    pub message: Option<String>,
    /// Forwarding device.
    pub device_id: Option<String>,
    /// The forwarder's notification id.
    pub notif_id: Option<String>,
    /// The client's event hash.
    pub event_hash: Option<String>,
    /// The phone's timestamp, as sent.
    pub client_timestamp: Option<String>,
    /// The callback's reference.
    pub reference: Option<String>,
    /// Outcome.
    pub outcome: NotificationOutcome,
    /// The parser's reason, or the duplicate key kind.
    pub reason: Option<String>,
    /// The (first) amount read.
    pub parsed_amount: Option<i64>,
    /// The (first) sender read.
    pub sender_name: Option<String>,
    /// The invoice concerned.
    pub payment_id: Option<PaymentId>,
    /// Android's `Notification.category`.
    pub category: Option<String>,
    /// Android's `Notification.EXTRA_TEMPLATE`.
    pub template: Option<String>,
    /// The notification channel.
    pub channel_id: Option<String>,
    /// The trust decision, when one was taken.
    pub trust: Option<TrustOutcome>,
    /// Its reason (`untrusted_source`, `new_channel`…).
    pub trust_reason: Option<String>,
    /// A synthetic report made by `simulate` for a sandbox invoice.
    pub test: bool,
}

/// One payment read from a notification, with its outcome.
#[derive(Debug, Clone)]
pub struct NotificationPaymentRow {
    /// Position in the text, 0-based.
    pub position: i64,
    /// Amount.
    pub amount: i64,
    /// Sender.
    pub sender_name: Option<String>,
    /// The app's transaction reference.
    pub reference: Option<String>,
    /// Outcome.
    pub outcome: PaymentOutcome,
    /// The invoice concerned.
    pub payment_id: Option<PaymentId>,
}

/// A stored notification as listed (tests, dashboard).
#[derive(Debug, Clone)]
pub struct StoredNotification {
    /// Row id.
    pub id: NotificationId,
    /// Source.
    pub source: NotificationSource,
    /// Outcome.
    pub outcome: NotificationOutcome,
    /// Reason.
    pub reason: Option<String>,
    /// Posting app's package.
    pub app: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Text.
    pub message: Option<String>,
    /// First amount read.
    pub parsed_amount: Option<i64>,
    /// The invoice concerned.
    pub payment_id: Option<PaymentId>,
    /// The forwarder's notification id.
    pub notif_id: Option<String>,
    /// Android's `Notification.category`.
    pub category: Option<String>,
    /// Android's `Notification.EXTRA_TEMPLATE`.
    pub template: Option<String>,
    /// The notification channel.
    pub channel_id: Option<String>,
    /// The trust decision, when one was taken.
    pub trust: Option<TrustOutcome>,
    /// Its reason.
    pub trust_reason: Option<String>,
    /// A synthetic report made by `simulate`.
    pub test: bool,
}

/// The columns [`stored_from_row`] reads.
macro_rules! stored_columns {
    () => {
        "id, source, outcome, reason, app, title, message, parsed_amount, payment_id, notif_id, \
         category, template, channel_id, trust, trust_reason, test"
    };
}

fn stored_from_row(r: &Row<'_>) -> Result<StoredNotification, DbError> {
    Ok(StoredNotification {
        id: r.get(0)?,
        source: r.get(1)?,
        outcome: r.get(2)?,
        reason: r.get(3)?,
        app: r.get(4)?,
        title: r.get(5)?,
        message: r.get(6)?,
        parsed_amount: r.get(7)?,
        payment_id: r.get(8)?,
        notif_id: r.get(9)?,
        category: r.get(10)?,
        template: r.get(11)?,
        channel_id: r.get(12)?,
        trust: r.get(13)?,
        trust_reason: r.get(14)?,
        test: r.get(15)?,
    })
}

impl Tx<'_> {
    /// Stores a notification.
    pub fn insert_notification(&self, n: &NewNotification) -> Result<NotificationId, DbError> {
        self.query_one(
            "INSERT INTO notifications (merchant_id, source, received_at, app, title, message,
                                        device_id, notif_id, event_hash, client_timestamp,
                                        reference, outcome, reason, parsed_amount, sender_name,
                                        payment_id, category, template, channel_id, trust,
                                        trust_reason, test)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                     ?19, ?20, ?21, ?22)
             RETURNING id",
            params![
                n.merchant_id,
                n.source,
                n.received_at,
                capped(n.app.as_deref(), MAX_STORED_FIELD_CHARS),
                capped(n.title.as_deref(), MAX_STORED_TEXT_CHARS),
                capped(n.message.as_deref(), MAX_STORED_TEXT_CHARS),
                capped(n.device_id.as_deref(), MAX_STORED_FIELD_CHARS),
                capped(n.notif_id.as_deref(), MAX_STORED_FIELD_CHARS),
                capped(n.event_hash.as_deref(), MAX_STORED_FIELD_CHARS),
                capped(n.client_timestamp.as_deref(), MAX_STORED_FIELD_CHARS),
                capped(n.reference.as_deref(), MAX_STORED_FIELD_CHARS),
                n.outcome,
                n.reason,
                n.parsed_amount,
                capped(n.sender_name.as_deref(), MAX_STORED_FIELD_CHARS),
                n.payment_id,
                capped(n.category.as_deref(), MAX_STORED_FIELD_CHARS),
                capped(n.template.as_deref(), MAX_STORED_FIELD_CHARS),
                capped(n.channel_id.as_deref(), MAX_STORED_FIELD_CHARS),
                n.trust,
                n.trust_reason,
                n.test,
            ],
            |r| r.get(0),
        )
    }

    /// Stores the payments read from a notification.
    pub fn insert_notification_payments(
        &self,
        notification: NotificationId,
        payments: &[NotificationPaymentRow],
    ) -> Result<(), DbError> {
        for p in payments {
            self.execute(
                "INSERT INTO notification_payments (notification_id, position, amount, sender_name,
                                                    reference, outcome, payment_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    notification,
                    p.position,
                    p.amount,
                    capped(p.sender_name.as_deref(), MAX_STORED_FIELD_CHARS),
                    capped(p.reference.as_deref(), MAX_STORED_FIELD_CHARS),
                    p.outcome,
                    p.payment_id,
                ],
            )?;
        }
        Ok(())
    }

    /// Records a key that counts forever: the first sighting is kept.
    pub fn remember_key(
        &self,
        merchant: MerchantId,
        kind: SeenKind,
        key: &str,
        now: Timestamp,
        notification: NotificationId,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO seen (merchant_id, kind, key, seen_at, notification_id)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (merchant_id, kind, key) DO NOTHING",
            params![merchant, kind, key, now, notification],
        )?;
        Ok(())
    }

    /// Records a key that counts as a new event from `now` (content keys re-armed outside the window).
    pub fn rearm_key(
        &self,
        merchant: MerchantId,
        kind: SeenKind,
        key: &str,
        now: Timestamp,
        notification: NotificationId,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO seen (merchant_id, kind, key, seen_at, notification_id)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (merchant_id, kind, key)
             DO UPDATE SET seen_at = excluded.seen_at, notification_id = excluded.notification_id",
            params![merchant, kind, key, now, notification],
        )?;
        Ok(())
    }
}

impl Conn<'_> {
    /// When `key` last counted as a new event for `merchant`, if ever.
    pub fn key_seen_at(
        &self,
        merchant: MerchantId,
        kind: SeenKind,
        key: &str,
    ) -> Result<Option<Timestamp>, DbError> {
        self.query_opt(
            "SELECT seen_at FROM seen WHERE merchant_id = ?1 AND kind = ?2 AND key = ?3",
            params![merchant, kind, key],
            |r| r.get(0),
        )
    }

    /// `merchant`'s notifications, newest first.
    pub fn notifications(
        &self,
        merchant: MerchantId,
        limit: usize,
    ) -> Result<Vec<StoredNotification>, DbError> {
        self.query_all(
            concat!(
                "SELECT ",
                stored_columns!(),
                " FROM notifications WHERE merchant_id = ?1 ORDER BY id DESC LIMIT ?2"
            ),
            params![merchant, limit],
            stored_from_row,
        )
    }

    /// The payments read from a notification, in text order.
    pub fn notification_payments(
        &self,
        notification: NotificationId,
    ) -> Result<Vec<NotificationPaymentRow>, DbError> {
        self.query_all(
            "SELECT position, amount, sender_name, reference, outcome, payment_id
             FROM notification_payments WHERE notification_id = ?1 ORDER BY position",
            params![notification],
            |r| {
                Ok(NotificationPaymentRow {
                    position: r.get(0)?,
                    amount: r.get(1)?,
                    sender_name: r.get(2)?,
                    reference: r.get(3)?,
                    outcome: r.get(4)?,
                    payment_id: r.get(5)?,
                })
            },
        )
    }
}

/// Which notifications the dashboard's inbox lists.
#[derive(Debug, Clone)]
pub struct InboxFilter {
    /// Whose merchants.
    pub scope: Scope,
    /// One merchant only.
    pub merchant: Option<MerchantId>,
    /// Only those flagged for attention (see [`needs_attention`]) not yet assigned to an invoice.
    pub unmatched_only: bool,
    /// Only the forwarder's notifications that paid nothing and are not yet assigned to an invoice (what
    /// a parser upgrade could read differently).
    pub rereadable_only: bool,
    /// Only notifications concerning this payment.
    pub payment: Option<PaymentId>,
    /// Only notifications with a smaller row id (the next page).
    pub before: Option<NotificationId>,
    /// At most this many.
    pub limit: usize,
}

/// A notification as the dashboard's inbox shows it.
#[derive(Debug, Clone)]
pub struct InboxRow {
    /// Row id.
    pub id: NotificationId,
    /// Owner.
    pub merchant_id: MerchantId,
    /// Owner's name.
    pub merchant_name: String,
    /// Forwarder or callback.
    pub source: NotificationSource,
    /// When it arrived.
    pub received_at: Timestamp,
    /// Posting app.
    pub app: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Text.
    pub message: Option<String>,
    /// Forwarding device.
    pub device_id: Option<String>,
    /// The callback's reference.
    pub reference: Option<String>,
    /// Outcome.
    pub outcome: NotificationOutcome,
    /// The parser's reason, or the duplicate key kind.
    pub reason: Option<String>,
    /// First amount read.
    pub parsed_amount: Option<i64>,
    /// First sender read.
    pub sender_name: Option<String>,
    /// The invoice concerned (paid, late for, repeated, or assigned by hand).
    pub invoice_id: Option<String>,
    /// The invoice a person assigned it to, when it was reconciled by hand.
    pub assigned_invoice_id: Option<String>,
    /// Android's `Notification.category`.
    pub category: Option<String>,
    /// Android's `Notification.EXTRA_TEMPLATE`.
    pub template: Option<String>,
    /// The notification channel.
    pub channel_id: Option<String>,
    /// The trust decision, when one was taken.
    pub trust: Option<TrustOutcome>,
    /// Its reason.
    pub trust_reason: Option<String>,
    /// A synthetic report made by `simulate`.
    pub test: bool,
}

/// The outcomes a person may assign to an invoice, as SQL (`settlement::ASSIGNABLE`, checked by a test).
macro_rules! assignable_sql {
    () => {
        "('no_match', 'late', 'no_amount', 'not_incoming', 'untrusted', 'held')"
    };
}

/// [`assignable_sql!`] as a value, for the test that keeps it equal to `settlement::ASSIGNABLE`.
pub const ASSIGNABLE_SQL: &str = assignable_sql!();

/// Which notifications the inbox flags for a person's attention (`unmatched`), as SQL over `n`: an amount
/// that matched nothing, a text whose amount could not be read, or an untrusted or held one that claimed
/// an amount (a chat message that names none is only noise). The rule of [`needs_attention`].
macro_rules! attention_sql {
    () => {
        "(n.outcome IN ('no_match', 'late', 'no_amount')
          OR (n.outcome IN ('untrusted', 'held') AND n.parsed_amount IS NOT NULL))"
    };
}

/// Whether the inbox flags a notification for attention (the rule of [`attention_sql!`]).
pub fn needs_attention(outcome: NotificationOutcome, parsed_amount: Option<i64>) -> bool {
    use NotificationOutcome::*;
    match outcome {
        NoMatch | Late | NoAmount => true,
        Untrusted | Held => parsed_amount.is_some(),
        Paid | Duplicate | NotIncoming | Test => false,
    }
}

impl Tx<'_> {
    /// Links a notification to the invoice it was assigned to.
    pub fn link_notification(
        &self,
        notification: NotificationId,
        payment: PaymentId,
    ) -> Result<(), DbError> {
        self.execute(
            "UPDATE notifications SET payment_id = ?2 WHERE id = ?1",
            params![notification, payment],
        )?;
        Ok(())
    }
}

impl Conn<'_> {
    /// `merchant`'s notification with this id.
    pub fn notification(
        &self,
        merchant: MerchantId,
        id: NotificationId,
    ) -> Result<Option<StoredNotification>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                stored_columns!(),
                " FROM notifications WHERE id = ?1 AND merchant_id = ?2"
            ),
            params![id, merchant],
            stored_from_row,
        )
    }

    /// The invoice a notification was assigned to by hand, if it was.
    pub fn assigned_invoice(&self, id: NotificationId) -> Result<Option<String>, DbError> {
        self.query_opt(
            "SELECT p.invoice_id FROM manual_confirmations c JOIN payments p ON p.id = c.payment_id
             WHERE c.notification_id = ?1",
            params![id],
            |r| r.get(0),
        )
    }

    /// The notifications matching `filter`, newest first.
    pub fn inbox(&self, filter: &InboxFilter) -> Result<Vec<InboxRow>, DbError> {
        self.query_all(
            concat!(
                "SELECT n.id, n.merchant_id, m.name, n.source, n.received_at, n.app, n.title,
                        n.message, n.device_id, n.reference, n.outcome, n.reason, n.parsed_amount,
                        n.sender_name, p.invoice_id, ap.invoice_id, n.category, n.template,
                        n.channel_id, n.trust, n.trust_reason, n.test
                 FROM notifications n
                 JOIN merchants m ON m.id = n.merchant_id
                 LEFT JOIN payments p ON p.id = n.payment_id
                 LEFT JOIN manual_confirmations c ON c.notification_id = n.id
                 LEFT JOIN payments ap ON ap.id = c.payment_id
                 WHERE (CAST(?1 AS BIGINT) IS NULL OR m.owner_account_id = ?1)
                   AND (CAST(?2 AS BIGINT) IS NULL OR n.merchant_id = ?2)
                   AND (?3 = 0 OR (",
                attention_sql!(),
                " AND c.payment_id IS NULL AND n.test = 0))
                   AND (CAST(?4 AS BIGINT) IS NULL OR n.payment_id = ?4)
                   AND (CAST(?5 AS BIGINT) IS NULL OR n.id < ?5)
                   AND (?7 = 0 OR (n.source = 'forwarder' AND c.payment_id IS NULL
                                   AND n.outcome IN ",
                assignable_sql!(),
                "))
                 ORDER BY n.id DESC
                 LIMIT ?6"
            ),
            params![
                filter.scope.owner(),
                filter.merchant,
                filter.unmatched_only,
                filter.payment,
                filter.before,
                filter.limit,
                filter.rereadable_only,
            ],
            |r| {
                Ok(InboxRow {
                    id: r.get(0)?,
                    merchant_id: r.get(1)?,
                    merchant_name: r.get(2)?,
                    source: r.get(3)?,
                    received_at: r.get(4)?,
                    app: r.get(5)?,
                    title: r.get(6)?,
                    message: r.get(7)?,
                    device_id: r.get(8)?,
                    reference: r.get(9)?,
                    outcome: r.get(10)?,
                    reason: r.get(11)?,
                    parsed_amount: r.get(12)?,
                    sender_name: r.get(13)?,
                    invoice_id: r.get(14)?,
                    assigned_invoice_id: r.get(15)?,
                    category: r.get(16)?,
                    template: r.get(17)?,
                    channel_id: r.get(18)?,
                    trust: r.get(19)?,
                    trust_reason: r.get(20)?,
                    test: r.get(21)?,
                })
            },
        )
    }

    /// The notification with this id if `scope` may see its merchant.
    pub fn inbox_row_in_scope(
        &self,
        id: NotificationId,
        scope: Scope,
    ) -> Result<Option<(MerchantId, NotificationOutcome)>, DbError> {
        self.query_opt(
            "SELECT n.merchant_id, n.outcome FROM notifications n
             JOIN merchants m ON m.id = n.merchant_id
             WHERE n.id = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR m.owner_account_id = ?2)",
            params![id, scope.owner()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
}
