//! Settlement: what happens when money is reported, by the forwarder (`/api/webhook/payment`), a simple
//! notifier (`/api/callback/notify`) or a person (manual confirmation). Each report is settled in one
//! write transaction. A forwarder notification goes through four named steps ([`settle_notification`]):
//! 1. **dedupe**: duplicate keys are checked (below);
//! 2. **trust**: `webqris_core::notification::trust::decide` says whether it may pay, from its app, title,
//!    Android category/template and channel, the merchant's trusted sources and the channels that paid;
//! 3. **match**: each payment of a trusted incoming notification meets the matching pending invoice, which
//!    the single conditional update marks paid (writing the outbox row too);
//! 4. **record**: the notification is stored with its outcome, reasons and what it claimed, whatever came
//!    of it; the keys that make a repeat a duplicate are remembered, and a payment teaches its channel.
//!
//! Nothing a phone sends is dropped; nothing is paid twice; nothing untrusted is paid at all.
//!
//! Duplicate rules (design.md, "Money rules"), per merchant:
//! 1. the client's `event_hash` (not `"test"`): seen ever → duplicate;
//! 2. per payment with a reference: `event::reference_key(app, reference)` seen ever → that payment is a
//!    duplicate (a GoBiz grouped notification re-posted with one more payment pays only the new one);
//! 3. `event::content_fingerprint(app, title, text)` seen within the duplicate window → duplicate;
//!    outside the window identical content is a new event (a second real payment is kept, never dropped).
//!
//! The phone's `notif_id` is never a key (GoPay sends -1 for every payment); it is only echoed.

use std::collections::HashSet;

use webqris_core::Timestamp;
use webqris_core::device::DeviceId;
use webqris_core::event;
use webqris_core::notification::trust::{self, Distrust, Envelope, History, Hold, Trust};
use webqris_core::notification::{
    self, MAX_TEXT_BYTES, Notification, ParsedPayment, Reading, Reason, Verdict,
};
use webqris_core::wire::{
    CallbackNotifyRequest, NotificationRequest, PaymentStatus, TEST_EVENT_HASH,
};

use crate::db::{
    AccountId, DbError, LearnedBy, MAX_STORED_FIELD_CHARS, Merchant, MerchantId, NewNotification,
    NotificationId, NotificationOutcome, NotificationPaymentRow, NotificationSource, PaidPayment,
    PaymentMethod, PaymentOutcome, PaymentRow, SeenKind, TrustOutcome, Tx,
};
use crate::error::AppError;
use crate::state::AppState;

/// The instants the rules are measured against, fixed once per report.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Now.
    pub now: Timestamp,
    /// Totals closed after this are still in cooldown.
    pub cooldown_start: Timestamp,
    /// Content seen after this is a duplicate.
    pub window_start: Timestamp,
}

impl Rules {
    /// The rules as of now for `state`'s configuration.
    pub fn now(state: &AppState) -> Self {
        let now = state.now();
        let since = |millis: i64| Timestamp::from_millis(now.as_millis().saturating_sub(millis));
        Self {
            now,
            cooldown_start: since(state.config.invoice.total_cooldown_secs.millis()),
            window_start: since(state.config.notification.duplicate_window_secs.millis()),
        }
    }
}

/// What a reported amount matched.
#[derive(Debug, Clone)]
pub enum Match {
    /// A pending invoice, now paid.
    Paid(PaidPayment),
    /// An invoice whose deadline had passed (its total still reserved): a late payment, stored unmatched
    /// and linked to it.
    Late(PaymentRow),
    /// Nothing pending; possibly a repeat of a recently paid invoice (linked when so).
    NoMatch(Option<PaymentRow>),
}

impl Match {
    fn outcome(&self) -> PaymentOutcome {
        match self {
            Self::Paid(_) => PaymentOutcome::Paid,
            Self::Late(_) => PaymentOutcome::Late,
            Self::NoMatch(_) => PaymentOutcome::NoMatch,
        }
    }

    fn payment(&self) -> Option<&PaymentRow> {
        match self {
            Self::Paid(paid) => Some(&paid.payment),
            Self::Late(row) => Some(row),
            Self::NoMatch(row) => row.as_ref(),
        }
    }
}

/// Finds `merchant`'s pending invoice with total `amount` and marks it paid; otherwise says whether the
/// amount was a late payment for an expired invoice or matches nothing. Only live invoices are looked
/// at, or only sandbox ones when `test` (a `simulate` report): money never crosses between the pools.
pub fn match_amount(
    tx: &Tx<'_>,
    merchant: MerchantId,
    test: bool,
    amount: i64,
    method: &PaymentMethod,
    sender: Option<&str>,
    rules: &Rules,
) -> Result<Match, DbError> {
    if let Some(pending) = tx.pending_by_total(merchant, test, amount)? {
        if pending.expired_at > rules.now {
            return Ok(match tx.mark_paid(pending.id, method, sender, rules.now)? {
                Some(paid) => Match::Paid(paid),
                None => {
                    // The single writer makes this unreachable; if it ever happens nothing was written.
                    tracing::error!(invoice = %pending.invoice_id, "pending invoice refused the paid transition");
                    Match::NoMatch(Some(pending))
                }
            });
        }
        return Ok(Match::Late(pending));
    }
    Ok(
        match tx.recently_closed_by_total(merchant, test, amount, rules.cooldown_start)? {
            Some(closed) if closed.status == PaymentStatus::Expired => Match::Late(closed),
            other => Match::NoMatch(other),
        },
    )
}

/// One payment of a notification and what became of it.
#[derive(Debug, Clone)]
pub struct SettledPayment {
    /// Amount read.
    pub amount: i64,
    /// Sender read.
    pub sender_name: Option<String>,
    /// Reference read.
    pub reference: Option<String>,
    /// Outcome.
    pub outcome: PaymentOutcome,
    /// The invoice paid, or the one it was late for / repeats.
    pub invoice_id: Option<String>,
}

/// What a forwarder notification came to.
#[derive(Debug, Clone)]
pub enum NotificationResult {
    /// `event_hash` was `"test"`: recorded, nothing processed.
    Test,
    /// Seen before (event hash, content within the window, or every payment's reference).
    Duplicate,
    /// No amount could be read (including texts the parser does not recognise).
    NoAmount,
    /// Not an incoming payment (the parser's reason).
    NotIncoming(&'static str),
    /// From a source that may not pay (the trust decision's reason); stored, nothing paid.
    Untrusted(&'static str),
    /// A payment notification held for a person (the reason: a new channel); nothing paid.
    Held(&'static str),
    /// One or more payments read, each matched or kept unmatched.
    Settled {
        /// Every payment, in text order.
        payments: Vec<SettledPayment>,
        /// The invoices paid (events and webhooks follow).
        paid: Vec<PaidPayment>,
    },
}

impl NotificationResult {
    /// The outcome the notification was stored with.
    pub fn outcome(&self) -> NotificationOutcome {
        match self {
            Self::Test => NotificationOutcome::Test,
            Self::Duplicate => NotificationOutcome::Duplicate,
            Self::NoAmount => NotificationOutcome::NoAmount,
            Self::NotIncoming(_) => NotificationOutcome::NotIncoming,
            Self::Untrusted(_) => NotificationOutcome::Untrusted,
            Self::Held(_) => NotificationOutcome::Held,
            Self::Settled { paid, .. } if !paid.is_empty() => NotificationOutcome::Paid,
            Self::Settled { payments, .. }
                if payments.iter().any(|p| p.outcome == PaymentOutcome::Late) =>
            {
                NotificationOutcome::Late
            }
            Self::Settled { .. } => NotificationOutcome::NoMatch,
        }
    }
}

/// Longest title or text stored, in bytes: the parser's own bound ([`MAX_TEXT_BYTES`]); a longer text is
/// never read as a payment, and is kept cut at a character boundary and marked with "…".
pub const MAX_STORED_TEXT_BYTES: usize = MAX_TEXT_BYTES;

/// A forwarder notification, prepared outside the transaction (reading and hashing are pure).
#[derive(Debug, Clone)]
struct Prepared {
    request: NotificationRequest,
    /// The posting app, trimmed and capped.
    app: String,
    device: Option<DeviceId>,
    /// The channel the forwarder reported, trimmed and capped, when it reported one.
    channel: Option<String>,
    reading: Reading,
    content_key: String,
    client_hash: Option<String>,
}

impl Prepared {
    fn new(request: NotificationRequest) -> Self {
        let app = field(request.app.as_deref()).unwrap_or_default();
        let title = request.title.as_deref().unwrap_or_default();
        let reading = notification::read(&Notification {
            app: &app,
            title,
            text: &request.message,
            big_text: None,
        });
        let content_key = event::content_fingerprint(&app, title, &request.message);
        let client_hash = request
            .event_hash
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty() && *h != TEST_EVENT_HASH)
            .map(str::to_owned);
        Self {
            device: request.device_id.as_deref().and_then(DeviceId::new),
            channel: field(request.channel_id.as_deref()),
            app,
            reading,
            content_key,
            client_hash,
            request,
        }
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            app: &self.app,
            title: self.request.title.as_deref().unwrap_or_default(),
            category: self.request.category.as_deref(),
            template: self.request.template.as_deref(),
            channel_id: self.channel.as_deref(),
        }
    }
}

/// A client string for a short column: trimmed, capped at [`MAX_STORED_FIELD_CHARS`], `None` when blank.
fn field(value: Option<&str>) -> Option<String> {
    let value = value?.trim();
    (!value.is_empty()).then(|| value.chars().take(MAX_STORED_FIELD_CHARS).collect())
}

/// A title or text as stored: at most [`MAX_STORED_TEXT_BYTES`] bytes, cut at a character boundary and
/// marked with "…" when longer.
fn stored_text(text: &str) -> String {
    if text.len() <= MAX_STORED_TEXT_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_STORED_TEXT_BYTES - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The row stored for a forwarder notification, before its outcome is known.
fn forwarder_row(
    merchant: MerchantId,
    request: &NotificationRequest,
    now: Timestamp,
) -> NewNotification {
    NewNotification {
        merchant_id: merchant,
        source: NotificationSource::Forwarder,
        received_at: now,
        app: field(request.app.as_deref()),
        title: request.title.as_deref().map(stored_text),
        message: Some(stored_text(&request.message)),
        device_id: request
            .device_id
            .as_deref()
            .and_then(DeviceId::new)
            .map(|d| d.as_str().to_owned()),
        notif_id: request.notif_id.clone(),
        event_hash: request.event_hash.clone(),
        client_timestamp: request.timestamp.clone(),
        reference: None,
        outcome: NotificationOutcome::Test,
        reason: None,
        parsed_amount: None,
        sender_name: None,
        payment_id: None,
        category: field(request.category.as_deref()),
        template: field(request.template.as_deref()),
        channel_id: field(request.channel_id.as_deref()),
        trust: None,
        trust_reason: None,
        test: false,
    }
}

/// What the money path decided about a notification, before it is recorded.
enum Settlement {
    /// Seen before, by this key.
    Duplicate(SeenKind),
    /// The trust decision refused it: stored with what it claimed, nothing paid.
    Untrusted(Distrust),
    /// A payment waiting for a person: stored with what it claimed, nothing paid.
    Held(Hold),
    /// Its words are not an incoming payment.
    NotIncoming(Reason),
    /// Its payments, each matched against the pending invoices.
    Matched(Matched),
}

/// The payments of a trusted notification after matching.
struct Matched {
    rows: Vec<NotificationPaymentRow>,
    settled: Vec<SettledPayment>,
    paid: Vec<PaidPayment>,
    /// Reference keys to remember once the notification is stored.
    new_references: Vec<String>,
}

/// Settles a forwarder notification inside the write transaction: dedupe → trust → match → record.
fn settle_notification(
    tx: &Tx<'_>,
    merchant: MerchantId,
    n: &Prepared,
    rules: &Rules,
) -> Result<NotificationResult, DbError> {
    tx.lock_merchant(merchant)?;
    if let Some(device) = &n.device {
        tx.touch_device(merchant, device.as_str(), rules.now)?;
    }
    let (trust, settlement) = match dedupe(tx, merchant, n, rules)? {
        Some(kind) => (None, Settlement::Duplicate(kind)),
        None => {
            let trust = trust(tx, merchant, n)?;
            (Some(trust), match_payments(tx, merchant, n, trust, rules)?)
        }
    };
    record(tx, merchant, n, trust, settlement, rules)
}

/// Dedupe: the client's event hash seen ever, or the same content within the window.
fn dedupe(
    tx: &Tx<'_>,
    merchant: MerchantId,
    n: &Prepared,
    rules: &Rules,
) -> Result<Option<SeenKind>, DbError> {
    if let Some(hash) = &n.client_hash
        && tx
            .key_seen_at(merchant, SeenKind::EventHash, hash)?
            .is_some()
    {
        return Ok(Some(SeenKind::EventHash));
    }
    Ok(tx
        .key_seen_at(merchant, SeenKind::Content, &n.content_key)?
        .filter(|seen| *seen > rules.window_start)
        .map(|_| SeenKind::Content))
}

/// Trust: may this notification pay, given the merchant's trusted sources and learned channels?
fn trust(tx: &Tx<'_>, merchant: MerchantId, n: &Prepared) -> Result<Trust, DbError> {
    let trusted = tx.trusted_sources(merchant)?;
    let channels = if n.app.is_empty() {
        Vec::new()
    } else {
        tx.known_channels(merchant, &n.app)?
    };
    let history = History {
        trusted: &trusted,
        channels: &channels,
    };
    Ok(trust::decide(&n.envelope(), &n.reading, &history))
}

/// Match: each payment of a trusted incoming notification against the pending invoices (a reference
/// already seen is a duplicate payment).
fn match_payments(
    tx: &Tx<'_>,
    merchant: MerchantId,
    n: &Prepared,
    trust: Trust,
    rules: &Rules,
) -> Result<Settlement, DbError> {
    let payments = match (&n.reading.verdict, trust) {
        (_, Trust::Untrusted(why)) => return Ok(Settlement::Untrusted(why)),
        (Verdict::NotIncoming { reason }, _) => return Ok(Settlement::NotIncoming(*reason)),
        (Verdict::Incoming { .. }, Trust::Held(hold)) => return Ok(Settlement::Held(hold)),
        (Verdict::Incoming { payments, .. }, Trust::Trusted) if !payments.is_empty() => payments,
        (Verdict::Incoming { .. }, Trust::Trusted) => {
            return Ok(Settlement::NotIncoming(Reason::Unrecognized));
        }
    };
    let method = PaymentMethod::App(n.app.clone());
    let mut matched = Matched {
        rows: Vec::with_capacity(payments.len()),
        settled: Vec::with_capacity(payments.len()),
        paid: Vec::new(),
        new_references: Vec::new(),
    };
    let mut references_here = HashSet::new();
    for (
        position,
        ParsedPayment {
            amount,
            sender,
            reference,
        },
    ) in payments.iter().enumerate()
    {
        // An amount beyond i64 cannot match any invoice; keep it visible as the largest amount.
        let amount = i64::try_from(*amount).unwrap_or(i64::MAX);
        let reference_key = reference
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| event::reference_key(&n.app, r));
        let repeated = match &reference_key {
            Some(key) => {
                !references_here.insert(key.clone())
                    || tx
                        .key_seen_at(merchant, SeenKind::Reference, key)?
                        .is_some()
            }
            None => false,
        };
        let (outcome, payment) = if repeated {
            (PaymentOutcome::Duplicate, None)
        } else {
            if let Some(key) = reference_key {
                matched.new_references.push(key);
            }
            let found = match_amount(
                tx,
                merchant,
                false,
                amount,
                &method,
                sender.as_deref(),
                rules,
            )?;
            let outcome = found.outcome();
            let payment = found.payment().map(|p| (p.id, p.invoice_id.clone()));
            if let Match::Paid(p) = found {
                matched.paid.push(p);
            }
            (outcome, payment)
        };
        matched.rows.push(NotificationPaymentRow {
            position: i64::try_from(position).unwrap_or(i64::MAX),
            amount,
            sender_name: sender.clone(),
            reference: reference.clone(),
            outcome,
            payment_id: payment.as_ref().map(|(id, _)| *id),
        });
        matched.settled.push(SettledPayment {
            amount,
            sender_name: sender.clone(),
            reference: reference.clone(),
            outcome,
            invoice_id: payment.map(|(_, invoice)| invoice),
        });
    }
    Ok(Settlement::Matched(matched))
}

/// Record: the notification with its outcome and reasons, its payments, the keys that make a repeat a
/// duplicate, and the channel a payment taught.
fn record(
    tx: &Tx<'_>,
    merchant: MerchantId,
    n: &Prepared,
    trust: Option<Trust>,
    settlement: Settlement,
    rules: &Rules,
) -> Result<NotificationResult, DbError> {
    let now = rules.now;
    let mut row = forwarder_row(merchant, &n.request, now);
    row.trust = trust.map(|t| match t {
        Trust::Trusted => TrustOutcome::Trusted,
        Trust::Untrusted(_) => TrustOutcome::Untrusted,
        Trust::Held(_) => TrustOutcome::Held,
    });
    row.trust_reason = trust.and_then(Trust::reason).map(str::to_owned);
    let redelivery = matches!(settlement, Settlement::Duplicate(_));
    let (result, matched) = outcome(&mut row, &n.reading, settlement);
    let id = tx.insert_notification(&row)?;
    remember_hash(tx, merchant, n, now, id)?;
    if redelivery {
        // Seen within the window: it does not start a new window of its own.
        return Ok(result);
    }
    tx.rearm_key(merchant, SeenKind::Content, &n.content_key, now, id)?;
    if let Some(matched) = matched {
        tx.insert_notification_payments(id, &matched.rows)?;
        for key in &matched.new_references {
            tx.remember_key(merchant, SeenKind::Reference, key, now, id)?;
        }
        if let (false, Some(channel)) = (matched.paid.is_empty(), &n.channel) {
            tx.learn_channel(merchant, &n.app, channel, LearnedBy::Payment, now)?;
        }
    }
    Ok(result)
}

/// Writes what became of a notification into its row; returns the answer and, for matched payments, what
/// is recorded with them.
fn outcome(
    row: &mut NewNotification,
    reading: &Reading,
    settlement: Settlement,
) -> (NotificationResult, Option<Matched>) {
    use NotificationOutcome as O;
    let (outcome, result, matched) = match settlement {
        Settlement::Duplicate(kind) => {
            row.reason = Some(kind.as_str().to_owned());
            (O::Duplicate, NotificationResult::Duplicate, None)
        }
        Settlement::Untrusted(why) => {
            claim(row, reading);
            (
                O::Untrusted,
                NotificationResult::Untrusted(why.as_str()),
                None,
            )
        }
        Settlement::Held(hold) => {
            claim(row, reading);
            (O::Held, NotificationResult::Held(hold.as_str()), None)
        }
        Settlement::NotIncoming(Reason::Unrecognized) => {
            row.reason = Some(Reason::Unrecognized.as_str().to_owned());
            (O::NoAmount, NotificationResult::NoAmount, None)
        }
        Settlement::NotIncoming(reason) => {
            row.reason = Some(reason.as_str().to_owned());
            (
                O::NotIncoming,
                NotificationResult::NotIncoming(reason.as_str()),
                None,
            )
        }
        Settlement::Matched(matched) => {
            let outcome = matched_outcome(&matched.rows);
            if let Some(h) = headline(&matched.rows) {
                row.parsed_amount = Some(h.amount);
                row.sender_name = h.sender_name.clone();
                row.payment_id = h.payment_id;
            }
            let result = if outcome == O::Duplicate {
                row.reason = Some(SeenKind::Reference.as_str().to_owned());
                NotificationResult::Duplicate
            } else {
                NotificationResult::Settled {
                    payments: matched.settled.clone(),
                    paid: matched.paid.clone(),
                }
            };
            (outcome, result, Some(matched))
        }
    };
    row.outcome = outcome;
    (result, matched)
}

/// What a refused or held notification claimed, kept for a person to judge: its first amount and sender,
/// or why its words are not a payment.
fn claim(row: &mut NewNotification, reading: &Reading) {
    match &reading.verdict {
        Verdict::Incoming { payments, .. } => {
            row.parsed_amount = payments
                .first()
                .map(|p| i64::try_from(p.amount).unwrap_or(i64::MAX));
            row.sender_name = payments.first().and_then(|p| p.sender.clone());
        }
        Verdict::NotIncoming { reason } => row.reason = Some(reason.as_str().to_owned()),
    }
}

/// The payment a notification's row shows: the first paid one, else the first late one, else the first
/// unmatched one, else the first.
fn headline(rows: &[NotificationPaymentRow]) -> Option<&NotificationPaymentRow> {
    [
        PaymentOutcome::Paid,
        PaymentOutcome::Late,
        PaymentOutcome::NoMatch,
    ]
    .iter()
    .find_map(|o| rows.iter().find(|r| r.outcome == *o))
    .or_else(|| rows.first())
}

/// A notification's outcome from its payments' outcomes.
fn matched_outcome(rows: &[NotificationPaymentRow]) -> NotificationOutcome {
    let has = |o: PaymentOutcome| rows.iter().any(|r| r.outcome == o);
    if has(PaymentOutcome::Paid) {
        NotificationOutcome::Paid
    } else if rows.iter().all(|r| r.outcome == PaymentOutcome::Duplicate) {
        NotificationOutcome::Duplicate
    } else if has(PaymentOutcome::Late) {
        NotificationOutcome::Late
    } else {
        NotificationOutcome::NoMatch
    }
}

/// Remembers the client's event hash (when it sent one) as seen, for good.
fn remember_hash(
    tx: &Tx<'_>,
    merchant: MerchantId,
    n: &Prepared,
    now: Timestamp,
    id: NotificationId,
) -> Result<(), DbError> {
    match &n.client_hash {
        Some(hash) => tx.remember_key(merchant, SeenKind::EventHash, hash, now, id),
        None => Ok(()),
    }
}

/// Tells the world about invoices just paid: `payment_paid` on the sockets, and the delivery worker.
pub fn announce_paid(state: &AppState, paid: &[PaidPayment]) {
    for p in paid {
        let method = p.payment.payment_method.as_deref().unwrap_or_default();
        tracing::info!(invoice = %p.payment.invoice_id, method, "invoice paid");
        state.metrics.payment_paid(method);
        state.hub.payment_paid(p);
    }
    if paid.iter().any(|p| p.delivery.is_some()) {
        state.delivery_bell.notify_one();
    }
}

/// `POST /api/webhook/payment`: settles a forwarder notification for `merchant`.
pub async fn notification(
    state: &AppState,
    merchant: &Merchant,
    request: NotificationRequest,
) -> Result<NotificationResult, DbError> {
    let rules = Rules::now(state);
    let merchant_id = merchant.id;
    if request.event_hash.as_deref().map(str::trim) == Some(TEST_EVENT_HASH) {
        state
            .db
            .write(move |tx| {
                if let Some(device) = request.device_id.as_deref().and_then(DeviceId::new) {
                    tx.touch_device(merchant_id, device.as_str(), rules.now)?;
                }
                tx.insert_notification(&forwarder_row(merchant_id, &request, rules.now))
                    .map(|_| ())
            })
            .await?;
        return Ok(NotificationResult::Test);
    }
    let prepared = Prepared::new(request);
    let result = state
        .db
        .write(move |tx| settle_notification(tx, merchant_id, &prepared, &rules))
        .await?;
    if let NotificationResult::Settled { paid, .. } = &result {
        announce_paid(state, paid);
    }
    Ok(result)
}

/// An amount reported without a notification text: a simple notifier's callback, or the synthetic
/// report `simulate` makes for a sandbox invoice.
#[derive(Debug, Clone)]
struct Report {
    amount: i64,
    sender_name: Option<String>,
    /// The reference as stored and shown.
    reference: Option<String>,
    /// The duplicate key the reference makes, and its kind.
    key: Option<(SeenKind, String)>,
    /// Looks only at sandbox invoices (and is stored as a test notification).
    test: bool,
    method: PaymentMethod,
}

/// Settles a report inside the write transaction: dedupe (its reference seen before) → match (the
/// conditional paid transition with its outbox row) → record (stored with its outcome whatever came of
/// it, and its key remembered).
fn settle_report(
    tx: &Tx<'_>,
    merchant: MerchantId,
    report: &Report,
    rules: &Rules,
) -> Result<CallbackResult, DbError> {
    tx.lock_merchant(merchant)?;
    let mut row = NewNotification {
        merchant_id: merchant,
        source: NotificationSource::Callback,
        received_at: rules.now,
        app: None,
        title: None,
        message: None,
        device_id: None,
        notif_id: None,
        event_hash: None,
        client_timestamp: None,
        reference: report.reference.clone(),
        outcome: NotificationOutcome::Duplicate,
        reason: None,
        parsed_amount: Some(report.amount),
        sender_name: report.sender_name.clone(),
        payment_id: None,
        category: None,
        template: None,
        channel_id: None,
        trust: None,
        trust_reason: None,
        test: report.test,
    };
    if let Some((kind, key)) = &report.key
        && tx.key_seen_at(merchant, *kind, key)?.is_some()
    {
        row.reason = Some(kind.as_str().to_owned());
        tx.insert_notification(&row)?;
        return Ok(CallbackResult::Duplicate);
    }
    let matched = match_amount(
        tx,
        merchant,
        report.test,
        report.amount,
        &report.method,
        report.sender_name.as_deref(),
        rules,
    )?;
    row.outcome = match matched.outcome() {
        PaymentOutcome::Paid => NotificationOutcome::Paid,
        PaymentOutcome::Late => NotificationOutcome::Late,
        PaymentOutcome::NoMatch | PaymentOutcome::Duplicate => NotificationOutcome::NoMatch,
    };
    row.payment_id = matched.payment().map(|p| p.id);
    let id = tx.insert_notification(&row)?;
    if let Some((kind, key)) = &report.key {
        tx.remember_key(merchant, *kind, key, rules.now, id)?;
    }
    Ok(CallbackResult::Settled(Box::new(matched)))
}

/// What a callback (or a simulated payment) came to.
#[derive(Debug, Clone)]
pub enum CallbackResult {
    /// Its reference was seen before.
    Duplicate,
    /// Matched and paid, late, or unmatched.
    Settled(Box<Match>),
}

impl CallbackResult {
    /// The outcome the callback was stored with.
    pub fn outcome(&self) -> NotificationOutcome {
        match self {
            Self::Duplicate => NotificationOutcome::Duplicate,
            Self::Settled(matched) => match matched.as_ref() {
                Match::Paid(_) => NotificationOutcome::Paid,
                Match::Late(_) => NotificationOutcome::Late,
                Match::NoMatch(_) => NotificationOutcome::NoMatch,
            },
        }
    }
}

/// Announces the invoice a report paid, if it paid one.
fn announce_report(state: &AppState, result: &CallbackResult) {
    if let CallbackResult::Settled(matched) = result
        && let Match::Paid(paid) = matched.as_ref()
    {
        announce_paid(state, std::slice::from_ref(paid));
    }
}

/// `POST /api/callback/notify`: settles a simple notifier's report for `merchant` (live invoices only).
pub async fn callback(
    state: &AppState,
    merchant: &Merchant,
    request: CallbackNotifyRequest,
) -> Result<CallbackResult, AppError> {
    if request.amount <= 0 {
        return Err(AppError::BadRequest(
            "amount must be a positive integer".to_owned(),
        ));
    }
    let rules = Rules::now(state);
    let merchant_id = merchant.id;
    let reference = request
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let report = Report {
        amount: request.amount,
        sender_name: request.sender_name,
        key: reference.clone().map(|r| (SeenKind::CallbackReference, r)),
        reference,
        test: false,
        method: PaymentMethod::Callback,
    };
    let result = state
        .db
        .write(move |tx| settle_report(tx, merchant_id, &report, &rules))
        .await?;
    announce_report(state, &result);
    Ok(result)
}

/// The app name sandbox references are keyed under (`event::reference_key`): no payment app has it, so
/// a simulated payment's key never meets a real one.
const SANDBOX_APP: &str = "webqris.sandbox";

/// What `simulate` reports for a sandbox invoice; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct Simulation {
    /// The amount paid (default: the invoice's `total_amount`; another amount is a wrong amount).
    pub amount: Option<i64>,
    /// The payment arrives after the invoice's deadline: the deadline is brought forward to now first.
    pub late: bool,
    /// Who paid (default `SANDBOX`).
    pub sender_name: Option<String>,
}

/// Why a simulation was refused.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// No sandbox invoice of this merchant has this id (a live invoice is not found either).
    #[error("payment {0} not found")]
    NotFound(String),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// `POST /api/payments/{invoiceId}/simulate`: a synthetic report for `merchant`'s sandbox invoice,
/// settled by the real path for reports ([`settle_report`]: dedupe → match → record, the conditional
/// paid transition and its outbox row in the same transaction) over the sandbox pool only, then
/// announced like any payment (webhook, events). The amount is matched as real money is, against the
/// merchant's pending sandbox invoices. The synthetic reference is the invoice and the amount, so the
/// same simulation repeated is a duplicate, and pays once.
pub async fn simulate(
    state: &AppState,
    merchant: MerchantId,
    invoice_id: String,
    simulation: Simulation,
) -> Result<(i64, CallbackResult), SimulateError> {
    let rules = Rules::now(state);
    let (amount, result) = state
        .db
        .write(move |tx| {
            let invoice = tx
                .payment_by_invoice(merchant, &invoice_id)?
                .filter(|p| p.test)
                .ok_or_else(|| SimulateError::NotFound(invoice_id.clone()))?;
            if simulation.late {
                tx.bring_test_deadline_forward(invoice.id, rules.now)?;
            }
            let amount = simulation.amount.unwrap_or(invoice.total_amount);
            let reference = format!("simulate {} {amount}", invoice.invoice_id);
            let report = Report {
                amount,
                sender_name: Some(
                    simulation
                        .sender_name
                        .unwrap_or_else(|| "SANDBOX".to_owned()),
                ),
                key: Some((
                    SeenKind::Reference,
                    event::reference_key(SANDBOX_APP, &reference),
                )),
                reference: Some(reference),
                test: true,
                method: PaymentMethod::Sandbox,
            };
            Ok::<_, SimulateError>((amount, settle_report(tx, merchant, &report, &rules)?))
        })
        .await?;
    announce_report(state, &result);
    Ok((amount, result))
}

/// Why a manual confirmation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// No such invoice for this merchant.
    #[error("payment {0} not found")]
    NotFound(String),
    /// The invoice is paid already: an invoice is never paid twice.
    #[error("payment {0} is already paid")]
    AlreadyPaid(String),
    /// A sandbox invoice, or a sandbox report: neither is ever settled by a person, so no real
    /// notification pays a test invoice and no simulated report pays a live one.
    #[error("{0} belongs to the sandbox; test invoices are paid only by simulate")]
    Sandbox(String),
    /// The notification to reconcile is not this merchant's.
    #[error("notification {0} not found")]
    NotificationNotFound(i64),
    /// The notification paid an invoice, or was a duplicate or a test: nothing to reconcile.
    #[error(
        "notification {id} is {outcome}; only notifications that paid nothing (no_match, late, no_amount, not_incoming, untrusted, held) can be assigned"
    )]
    NotAssignable {
        /// The notification.
        id: i64,
        /// Its outcome.
        outcome: &'static str,
    },
    /// The notification was already assigned to an invoice.
    #[error("notification {id} is already assigned to {invoice_id}")]
    AlreadyAssigned {
        /// The notification.
        id: i64,
        /// The invoice it paid.
        invoice_id: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Who confirms a payment by hand, why, and which notification (if any) it reconciles.
#[derive(Debug, Clone)]
pub struct ManualConfirmation {
    /// Why (stored and shown with the payment).
    pub reason: String,
    /// The dashboard account confirming.
    pub account: Option<AccountId>,
    /// The unmatched notification this payment was (late, unmatched, unread amount).
    pub notification: Option<NotificationId>,
}

/// Notification outcomes a person may reconcile by assigning them to an invoice: every one that paid
/// nothing and is not a duplicate or a test. A person may judge what the parser or the trust decision
/// refused (a payment from an app not trusted yet, a wording a parser upgrade reads differently).
pub const ASSIGNABLE: [NotificationOutcome; 6] = [
    NotificationOutcome::NoMatch,
    NotificationOutcome::Late,
    NotificationOutcome::NoAmount,
    NotificationOutcome::NotIncoming,
    NotificationOutcome::Untrusted,
    NotificationOutcome::Held,
];

/// Manual confirmation (the dashboard's path): the same outbox and events as notifications, with
/// `payment_method` `manual`, the reason stored, and the reconciled notification linked to the invoice,
/// all in one transaction. A pending invoice (even past its deadline) or an expired one may be confirmed
/// (the money arrived); a paid one never again, and a notification reconciles at most one invoice.
pub async fn confirm_manually(
    state: &AppState,
    merchant: MerchantId,
    invoice_id: String,
    confirmation: ManualConfirmation,
) -> Result<PaidPayment, ConfirmError> {
    let now = state.now();
    let paid = state
        .db
        .write(move |tx| {
            tx.lock_merchant(merchant)?;
            let payment = tx
                .payment_by_invoice(merchant, &invoice_id)?
                .ok_or_else(|| ConfirmError::NotFound(invoice_id.clone()))?;
            if payment.test {
                return Err(ConfirmError::Sandbox(format!("payment {invoice_id}")));
            }
            if let Some(id) = confirmation.notification {
                let notification = tx
                    .notification(merchant, id)?
                    .ok_or(ConfirmError::NotificationNotFound(id.0))?;
                if notification.test {
                    return Err(ConfirmError::Sandbox(format!("notification {}", id.0)));
                }
                if !ASSIGNABLE.contains(&notification.outcome) {
                    return Err(ConfirmError::NotAssignable {
                        id: id.0,
                        outcome: notification.outcome.as_str(),
                    });
                }
                if let Some(invoice_id) = tx.assigned_invoice(id)? {
                    return Err(ConfirmError::AlreadyAssigned {
                        id: id.0,
                        invoice_id,
                    });
                }
            }
            let paid = tx
                .mark_paid_manually(payment.id, now)?
                .ok_or(ConfirmError::AlreadyPaid(invoice_id))?;
            tx.insert_manual_confirmation(
                payment.id,
                confirmation.account,
                &confirmation.reason,
                confirmation.notification,
                now,
            )?;
            if let Some(id) = confirmation.notification {
                tx.link_notification(id, payment.id)?;
            }
            Ok(paid)
        })
        .await?;
    announce_paid(state, std::slice::from_ref(&paid));
    Ok(paid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assignable_outcomes_in_sql_are_the_assignable_outcomes() {
        let listed: Vec<String> = crate::db::ASSIGNABLE_SQL
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(|s| s.trim().trim_matches('\'').to_owned())
            .collect();
        let expected: Vec<String> = ASSIGNABLE.iter().map(|o| o.as_str().to_owned()).collect();
        assert_eq!(listed, expected);
    }

    #[test]
    fn stored_texts_are_cut_at_a_character_boundary_and_marked() {
        let short = "Rp10 diterima DANA Bisnis.";
        assert_eq!(stored_text(short), short);
        let long = "é".repeat(MAX_STORED_TEXT_BYTES);
        let cut = stored_text(&long);
        assert!(cut.len() <= MAX_STORED_TEXT_BYTES, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("éé"));
        assert_eq!(
            field(Some(&"x".repeat(1000))).map(|f| f.chars().count()),
            Some(MAX_STORED_FIELD_CHARS)
        );
        assert_eq!(field(Some("  ")), None);
    }
}
