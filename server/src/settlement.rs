//! Settlement: what happens when money is reported, by the forwarder (`/api/webhook/payment`), a simple
//! notifier (`/api/callback/notify`) or a person (manual confirmation). Each report is settled in one
//! write transaction: duplicate keys are checked and recorded, the matching pending invoice is marked paid
//! by the single conditional update (which also writes the outbox row), and the report is stored with its
//! outcome. Nothing a phone sends is dropped; nothing is paid twice.
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
use webqris_core::event;
use webqris_core::notification::{self, Notification, ParsedPayment, Reason, Verdict};
use webqris_core::wire::{
    CallbackNotifyRequest, NotificationRequest, PaymentStatus, TEST_EVENT_HASH,
};

use crate::db::{
    AccountId, DbError, Merchant, MerchantId, NewNotification, NotificationId, NotificationOutcome,
    NotificationPaymentRow, NotificationSource, PaidPayment, PaymentMethod, PaymentOutcome,
    PaymentRow, SeenKind, Tx,
};
use crate::error::AppError;
use crate::state::AppState;

/// `payment_method` of a notification that names no app.
pub const UNKNOWN_APP: &str = "unknown";

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
/// amount was a late payment for an expired invoice or matches nothing.
pub fn match_amount(
    tx: &Tx<'_>,
    merchant: MerchantId,
    amount: i64,
    method: &PaymentMethod,
    sender: Option<&str>,
    rules: &Rules,
) -> Result<Match, DbError> {
    if let Some(pending) = tx.pending_by_total(merchant, amount)? {
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
        match tx.recently_closed_by_total(merchant, amount, rules.cooldown_start)? {
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
    /// Not an incoming payment.
    NotIncoming(String),
    /// One or more payments read, each matched or kept unmatched.
    Settled {
        /// Every payment, in text order.
        payments: Vec<SettledPayment>,
        /// The invoices paid (events and webhooks follow).
        paid: Vec<PaidPayment>,
    },
}

/// A forwarder notification, prepared outside the transaction (parsing and hashing are pure).
#[derive(Debug, Clone)]
struct Prepared {
    request: NotificationRequest,
    app: String,
    verdict: Verdict,
    content_key: String,
    client_hash: Option<String>,
}

fn prepare(request: NotificationRequest) -> Prepared {
    let app = request
        .app
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let title = request.title.clone().unwrap_or_default();
    let verdict = notification::parse(&Notification {
        app: &app,
        title: &title,
        text: &request.message,
        big_text: None,
    });
    let content_key = event::content_fingerprint(&app, &title, &request.message);
    let client_hash = request
        .event_hash
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty() && *h != TEST_EVENT_HASH)
        .map(str::to_owned);
    Prepared {
        request,
        app,
        verdict,
        content_key,
        client_hash,
    }
}

fn reason_name(reason: Reason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unrecognized".to_owned())
}

fn stored(
    merchant: MerchantId,
    source: NotificationSource,
    request: &NotificationRequest,
    outcome: NotificationOutcome,
    now: Timestamp,
) -> NewNotification {
    NewNotification {
        merchant_id: merchant,
        source,
        received_at: now,
        app: request.app.clone(),
        title: request.title.clone(),
        message: Some(request.message.clone()),
        device_id: request.device_id.clone(),
        notif_id: request.notif_id.clone(),
        event_hash: request.event_hash.clone(),
        client_timestamp: request.timestamp.clone(),
        reference: None,
        outcome,
        reason: None,
        parsed_amount: None,
        sender_name: None,
        payment_id: None,
    }
}

/// Settles a forwarder notification inside the write transaction.
fn settle_notification(
    tx: &Tx<'_>,
    merchant: MerchantId,
    n: &Prepared,
    rules: &Rules,
) -> Result<NotificationResult, DbError> {
    let now = rules.now;
    tx.lock_merchant(merchant)?;
    if let Some(device) = n
        .request
        .device_id
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        // The heartbeat refuses longer ids; a notification is never refused for its device name (nothing a
        // phone sends is dropped), so the devices table gets the name cut at the same bound.
        let device: String = device
            .trim()
            .chars()
            .take(crate::api::device::MAX_DEVICE_ID_CHARS)
            .collect();
        tx.touch_device(merchant, &device, now)?;
    }
    let remember_hash = |id| match &n.client_hash {
        Some(hash) => tx.remember_key(merchant, SeenKind::EventHash, hash, now, id),
        None => Ok(()),
    };

    let duplicate_by = match &n.client_hash {
        Some(hash)
            if tx
                .key_seen_at(merchant, SeenKind::EventHash, hash)?
                .is_some() =>
        {
            Some(SeenKind::EventHash)
        }
        _ => tx
            .key_seen_at(merchant, SeenKind::Content, &n.content_key)?
            .filter(|seen| *seen > rules.window_start)
            .map(|_| SeenKind::Content),
    };
    if let Some(kind) = duplicate_by {
        let mut row = stored(
            merchant,
            NotificationSource::Forwarder,
            &n.request,
            NotificationOutcome::Duplicate,
            now,
        );
        row.reason = Some(kind.as_str().to_owned());
        let id = tx.insert_notification(&row)?;
        remember_hash(id)?;
        return Ok(NotificationResult::Duplicate);
    }

    let payments = match &n.verdict {
        Verdict::Incoming { payments, .. } if !payments.is_empty() => payments,
        Verdict::Incoming { .. }
        | Verdict::NotIncoming {
            reason: Reason::Unrecognized,
        } => {
            let mut row = stored(
                merchant,
                NotificationSource::Forwarder,
                &n.request,
                NotificationOutcome::NoAmount,
                now,
            );
            row.reason = Some(reason_name(Reason::Unrecognized));
            let id = tx.insert_notification(&row)?;
            remember_hash(id)?;
            tx.rearm_key(merchant, SeenKind::Content, &n.content_key, now, id)?;
            return Ok(NotificationResult::NoAmount);
        }
        Verdict::NotIncoming { reason } => {
            let reason = reason_name(*reason);
            let mut row = stored(
                merchant,
                NotificationSource::Forwarder,
                &n.request,
                NotificationOutcome::NotIncoming,
                now,
            );
            row.reason = Some(reason.clone());
            let id = tx.insert_notification(&row)?;
            remember_hash(id)?;
            tx.rearm_key(merchant, SeenKind::Content, &n.content_key, now, id)?;
            return Ok(NotificationResult::NotIncoming(reason));
        }
    };

    let method = PaymentMethod::App(if n.app.is_empty() {
        UNKNOWN_APP.to_owned()
    } else {
        n.app.clone()
    });
    let mut rows = Vec::with_capacity(payments.len());
    let mut settled = Vec::with_capacity(payments.len());
    let mut paid = Vec::new();
    let mut new_references = Vec::new();
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
                new_references.push(key);
            }
            let matched = match_amount(tx, merchant, amount, &method, sender.as_deref(), rules)?;
            let outcome = matched.outcome();
            let payment = matched.payment().map(|p| (p.id, p.invoice_id.clone()));
            if let Match::Paid(p) = matched {
                paid.push(p);
            }
            (outcome, payment)
        };
        rows.push(NotificationPaymentRow {
            position: i64::try_from(position).unwrap_or(i64::MAX),
            amount,
            sender_name: sender.clone(),
            reference: reference.clone(),
            outcome,
            payment_id: payment.as_ref().map(|(id, _)| *id),
        });
        settled.push(SettledPayment {
            amount,
            sender_name: sender.clone(),
            reference: reference.clone(),
            outcome,
            invoice_id: payment.map(|(_, invoice)| invoice),
        });
    }

    let has = |o: PaymentOutcome| rows.iter().any(|r| r.outcome == o);
    let outcome = if has(PaymentOutcome::Paid) {
        NotificationOutcome::Paid
    } else if rows.iter().all(|r| r.outcome == PaymentOutcome::Duplicate) {
        NotificationOutcome::Duplicate
    } else if has(PaymentOutcome::Late) {
        NotificationOutcome::Late
    } else {
        NotificationOutcome::NoMatch
    };
    // The headline payment: the first paid one, else the first late one, else the first not duplicate.
    let headline = [
        PaymentOutcome::Paid,
        PaymentOutcome::Late,
        PaymentOutcome::NoMatch,
    ]
    .iter()
    .find_map(|o| rows.iter().find(|r| r.outcome == *o))
    .or_else(|| rows.first());
    let mut row = stored(
        merchant,
        NotificationSource::Forwarder,
        &n.request,
        outcome,
        now,
    );
    row.parsed_amount = headline.map(|h| h.amount);
    row.sender_name = headline.and_then(|h| h.sender_name.clone());
    row.payment_id = headline.and_then(|h| h.payment_id);
    if outcome == NotificationOutcome::Duplicate {
        row.reason = Some(SeenKind::Reference.as_str().to_owned());
    }
    let id = tx.insert_notification(&row)?;
    tx.insert_notification_payments(id, &rows)?;
    remember_hash(id)?;
    tx.rearm_key(merchant, SeenKind::Content, &n.content_key, now, id)?;
    for key in &new_references {
        tx.remember_key(merchant, SeenKind::Reference, key, now, id)?;
    }
    if outcome == NotificationOutcome::Duplicate {
        return Ok(NotificationResult::Duplicate);
    }
    Ok(NotificationResult::Settled {
        payments: settled,
        paid,
    })
}

/// Tells the world about invoices just paid: `payment_paid` on the sockets, and the delivery worker.
pub fn announce_paid(state: &AppState, paid: &[PaidPayment]) {
    for p in paid {
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
) -> Result<NotificationResult, AppError> {
    let rules = Rules::now(state);
    let merchant_id = merchant.id;
    if request.event_hash.as_deref().map(str::trim) == Some(TEST_EVENT_HASH) {
        state
            .db
            .write(move |tx| {
                if let Some(device) = request
                    .device_id
                    .as_deref()
                    .filter(|d| !d.trim().is_empty())
                {
                    tx.touch_device(merchant_id, device.trim(), rules.now)?;
                }
                let row = stored(
                    merchant_id,
                    NotificationSource::Forwarder,
                    &request,
                    NotificationOutcome::Test,
                    rules.now,
                );
                tx.insert_notification(&row).map(|_| ())
            })
            .await?;
        return Ok(NotificationResult::Test);
    }
    let prepared = prepare(request);
    let result = state
        .db
        .write(move |tx| settle_notification(tx, merchant_id, &prepared, &rules))
        .await?;
    if let NotificationResult::Settled { paid, .. } = &result {
        announce_paid(state, paid);
    }
    Ok(result)
}

/// What a callback came to.
#[derive(Debug, Clone)]
pub enum CallbackResult {
    /// Its reference was seen before.
    Duplicate,
    /// Matched and paid, late, or unmatched.
    Settled(Box<Match>),
}

/// `POST /api/callback/notify`: settles a simple notifier's report for `merchant`.
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
    let result = state
        .db
        .write(move |tx| {
            tx.lock_merchant(merchant_id)?;
            let reference = request
                .reference
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned);
            let mut row = NewNotification {
                merchant_id,
                source: NotificationSource::Callback,
                received_at: rules.now,
                app: None,
                title: None,
                message: None,
                device_id: None,
                notif_id: None,
                event_hash: None,
                client_timestamp: None,
                reference: reference.clone(),
                outcome: NotificationOutcome::Duplicate,
                reason: None,
                parsed_amount: Some(request.amount),
                sender_name: request.sender_name.clone(),
                payment_id: None,
            };
            if let Some(r) = &reference
                && tx
                    .key_seen_at(merchant_id, SeenKind::CallbackReference, r)?
                    .is_some()
            {
                row.reason = Some(SeenKind::CallbackReference.as_str().to_owned());
                tx.insert_notification(&row)?;
                return Ok::<_, DbError>(CallbackResult::Duplicate);
            }
            let matched = match_amount(
                tx,
                merchant_id,
                request.amount,
                &PaymentMethod::Callback,
                request.sender_name.as_deref(),
                &rules,
            )?;
            row.outcome = match matched.outcome() {
                PaymentOutcome::Paid => NotificationOutcome::Paid,
                PaymentOutcome::Late => NotificationOutcome::Late,
                PaymentOutcome::NoMatch | PaymentOutcome::Duplicate => NotificationOutcome::NoMatch,
            };
            row.payment_id = matched.payment().map(|p| p.id);
            let id = tx.insert_notification(&row)?;
            if let Some(r) = &reference {
                tx.remember_key(merchant_id, SeenKind::CallbackReference, r, rules.now, id)?;
            }
            Ok(CallbackResult::Settled(Box::new(matched)))
        })
        .await?;
    if let CallbackResult::Settled(matched) = &result
        && let Match::Paid(paid) = matched.as_ref()
    {
        announce_paid(state, std::slice::from_ref(paid));
    }
    Ok(result)
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
    /// The notification to reconcile is not this merchant's.
    #[error("notification {0} not found")]
    NotificationNotFound(i64),
    /// The notification paid an invoice, or was a duplicate or a test: nothing to reconcile.
    #[error(
        "notification {id} is {outcome}; only unmatched notifications (no_match, late, no_amount) can be assigned"
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

/// Notification outcomes a person may reconcile by assigning them to an invoice.
pub const ASSIGNABLE: [NotificationOutcome; 3] = [
    NotificationOutcome::NoMatch,
    NotificationOutcome::Late,
    NotificationOutcome::NoAmount,
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
            if let Some(id) = confirmation.notification {
                let notification = tx
                    .notification(merchant, id)?
                    .ok_or(ConfirmError::NotificationNotFound(id.0))?;
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
