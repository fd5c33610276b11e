//! Payments (invoices): unique-total allocation support, the single conditional paid transition with its
//! outbox row, expiry, and lookups.

use std::collections::HashSet;

use webqris_core::Timestamp;
use webqris_core::wire::{
    PaymentStatus, WebhookEvent, WebhookPaymentData, WsEvent, WsExpiredData, WsPaymentData,
};

use super::sql::{Row, params};
use super::{
    Conn, DbError, DeliveryId, MAX_STORED_FIELD_CHARS, MerchantId, Scope, Tx, capped, payment_data,
};
use crate::secret;

/// A payment's row id (the `id` of WebSocket frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentId(pub i64);

/// How a payment was confirmed; stored and sent as `payment_method`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethod {
    /// A forwarded notification; the posting app's package name.
    App(String),
    /// `POST /api/callback/notify`.
    Callback,
    /// Confirmed by a person in the dashboard.
    Manual,
    /// A sandbox invoice paid by `POST /api/payments/{invoiceId}/simulate`.
    Sandbox,
}

impl PaymentMethod {
    /// The stored and wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::App(package) => package,
            Self::Callback => "callback",
            Self::Manual => "manual",
            Self::Sandbox => "sandbox",
        }
    }
}

/// A payment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    /// Row id.
    pub id: PaymentId,
    /// `INV-<unix seconds>-<6 random>`.
    pub invoice_id: String,
    /// Owner.
    pub merchant_id: MerchantId,
    /// The merchant's order reference.
    pub merchant_order_id: Option<String>,
    /// Customer name given at creation.
    pub customer_name: Option<String>,
    /// Where the hosted payment page sends the customer once paid.
    pub return_url: Option<String>,
    /// Amount requested.
    pub amount: i64,
    /// Unique code.
    pub unique_code: i64,
    /// `amount + unique_code`.
    pub total_amount: i64,
    /// The dynamic QRIS payload.
    pub qris_payload: String,
    /// Stored status; see [`PaymentRow::status_at`] for the status as of an instant.
    pub status: PaymentStatus,
    /// How it was paid.
    pub payment_method: Option<String>,
    /// Who paid, when known.
    pub sender_name: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Deadline.
    pub expired_at: Timestamp,
    /// When it was paid.
    pub paid_at: Option<Timestamp>,
    /// When it left `pending`.
    pub closed_at: Option<Timestamp>,
    /// A sandbox invoice (made with a test token): only `simulate` pays it.
    pub test: bool,
}

impl PaymentRow {
    /// The status as of `now`: a pending invoice past its deadline is expired even before the sweep.
    pub fn status_at(&self, now: Timestamp) -> PaymentStatus {
        match self.status {
            PaymentStatus::Pending if self.expired_at <= now => PaymentStatus::Expired,
            status => status,
        }
    }
}

/// What is stored for a new invoice.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Invoice id, unique.
    pub invoice_id: String,
    /// Owner.
    pub merchant_id: MerchantId,
    /// The merchant's order reference.
    pub merchant_order_id: Option<String>,
    /// Customer name.
    pub customer_name: Option<String>,
    /// Return URL for the hosted page.
    pub return_url: Option<String>,
    /// Amount requested.
    pub amount: i64,
    /// Unique code.
    pub unique_code: i64,
    /// The dynamic QRIS payload for `amount + unique_code`.
    pub qris_payload: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Deadline.
    pub expired_at: Timestamp,
    /// The public payment page's URL token (256 random bits).
    pub page_token: Option<String>,
    /// A sandbox invoice.
    pub test: bool,
}

/// The result of the paid transition.
#[derive(Debug, Clone)]
pub struct PaidPayment {
    /// The payment, now paid.
    pub payment: PaymentRow,
    /// The merchant's name (WebSocket frames).
    pub merchant_name: String,
    /// The outbox row, when the merchant has a webhook URL.
    pub delivery: Option<DeliveryId>,
}

/// A payment the sweep expired, with its merchant's name (WebSocket frames).
#[derive(Debug, Clone)]
pub struct ExpiredPayment {
    /// The payment, now expired.
    pub payment: PaymentRow,
    /// The merchant's name.
    pub merchant_name: String,
}

/// The columns [`payment_from_row`] reads, first in a statement (a macro so statements stay
/// `'static`); a join's extra columns start at [`NCOLUMNS`].
macro_rules! payment_columns {
    () => {
        "p.id, p.invoice_id, p.merchant_id, p.merchant_order_id, p.customer_name, \
         p.return_url, p.amount, p.unique_code, p.total_amount, p.qris_payload, p.status, \
         p.payment_method, p.sender_name, p.created_at, p.expired_at, p.paid_at, p.closed_at, p.test"
    };
}

/// [`payment_columns`] unqualified, for `RETURNING` (which sees only the modified table).
macro_rules! payment_returning {
    () => {
        "id, invoice_id, merchant_id, merchant_order_id, customer_name, \
         return_url, amount, unique_code, total_amount, qris_payload, status, \
         payment_method, sender_name, created_at, expired_at, paid_at, closed_at, test"
    };
}

/// Number of columns in [`payment_columns`], where a join's extra columns start.
const NCOLUMNS: usize = 18;

fn payment_from_row(row: &Row<'_>) -> Result<PaymentRow, DbError> {
    Ok(PaymentRow {
        id: row.get(0)?,
        invoice_id: row.get(1)?,
        merchant_id: row.get(2)?,
        merchant_order_id: row.get(3)?,
        customer_name: row.get(4)?,
        return_url: row.get(5)?,
        amount: row.get(6)?,
        unique_code: row.get(7)?,
        total_amount: row.get(8)?,
        qris_payload: row.get(9)?,
        status: row.get(10)?,
        payment_method: row.get(11)?,
        sender_name: row.get(12)?,
        created_at: row.get(13)?,
        expired_at: row.get(14)?,
        paid_at: row.get(15)?,
        closed_at: row.get(16)?,
        test: row.get(17)?,
    })
}

/// A payment followed by its merchant's name and its page token (the dashboard's joins).
fn with_merchant_from_row(row: &Row<'_>) -> Result<PaymentWithMerchant, DbError> {
    Ok(PaymentWithMerchant {
        payment: payment_from_row(row)?,
        merchant_name: row.get(NCOLUMNS)?,
        page_token: row.get(NCOLUMNS + 1)?,
    })
}

impl Tx<'_> {
    /// Totals of `merchant`'s live (or, when `test`, sandbox) invoices in `lo..=hi` that may not be
    /// assigned now: those of pending payments, and those of payments paid or expired after
    /// `cooldown_start` (the cooldown rule). The other pool's totals are free: nothing pays across pools.
    pub fn taken_totals(
        &self,
        merchant: MerchantId,
        test: bool,
        lo: i64,
        hi: i64,
        cooldown_start: Timestamp,
    ) -> Result<HashSet<i64>, DbError> {
        let mut taken = HashSet::new();
        for total in self.query_all(
            "SELECT total_amount FROM payments
             WHERE merchant_id = ?1 AND test = ?4 AND status = 'pending'
               AND total_amount BETWEEN ?2 AND ?3",
            params![merchant, lo, hi, test],
            |r| r.get(0),
        )? {
            taken.insert(total);
        }
        for total in self.query_all(
            "SELECT total_amount FROM payments
             WHERE merchant_id = ?1 AND test = ?5 AND closed_at > ?4
               AND total_amount BETWEEN ?2 AND ?3",
            params![merchant, lo, hi, cooldown_start, test],
            |r| r.get(0),
        )? {
            taken.insert(total);
        }
        Ok(taken)
    }

    /// Whether an invoice id is already used.
    pub fn invoice_id_exists(&self, invoice_id: &str) -> Result<bool, DbError> {
        self.exists(
            "SELECT 1 FROM payments WHERE invoice_id = ?1",
            params![invoice_id],
        )
    }

    /// Stores a new pending payment. The partial unique index refuses a total already pending in its
    /// pool (live or test).
    pub fn insert_payment(&self, new: &NewPayment) -> Result<PaymentRow, DbError> {
        self.query_one(
            concat!(
                "INSERT INTO payments (invoice_id, merchant_id, merchant_order_id, customer_name,
                                       return_url, amount, unique_code, total_amount, qris_payload,
                                       created_at, expired_at, page_token, test)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 RETURNING ",
                payment_returning!()
            ),
            params![
                new.invoice_id,
                new.merchant_id,
                new.merchant_order_id,
                new.customer_name,
                new.return_url,
                new.amount,
                new.unique_code,
                new.amount + new.unique_code,
                new.qris_payload,
                new.created_at,
                new.expired_at,
                new.page_token,
                new.test,
            ],
            payment_from_row,
        )
    }

    /// The paid transition, shared by notifications, callbacks and manual confirmation: one conditional
    /// update (`… WHERE id = ? AND status = 'pending' AND expired_at > now`), and in the same transaction
    /// the outbox row carrying the exact webhook body. `None` when the payment was not payable (already
    /// paid, expired, or unknown): nothing is written then.
    pub fn mark_paid(
        &self,
        payment: PaymentId,
        method: &PaymentMethod,
        sender_name: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<PaidPayment>, DbError> {
        let paid = self.query_opt(
            concat!(
                "UPDATE payments
                 SET status = 'paid', payment_method = ?2, sender_name = ?3, paid_at = ?4,
                     closed_at = ?4
                 WHERE id = ?1 AND status = 'pending' AND expired_at > ?4
                 RETURNING ",
                payment_returning!()
            ),
            params![
                payment,
                method.as_str(),
                capped(sender_name, MAX_STORED_FIELD_CHARS),
                now
            ],
            payment_from_row,
        )?;
        match paid {
            Some(payment) => self.with_outbox(payment, method, now).map(Some),
            None => Ok(None),
        }
    }

    /// The paid transition a person makes in the dashboard (`payment_method` `manual`): like
    /// [`Tx::mark_paid`], but an invoice past its deadline, or already expired, may be paid too (the
    /// money did arrive). A paid invoice is never paid again: `None` then, and nothing is written.
    pub fn mark_paid_manually(
        &self,
        payment: PaymentId,
        now: Timestamp,
    ) -> Result<Option<PaidPayment>, DbError> {
        let method = PaymentMethod::Manual;
        let paid = self.query_opt(
            concat!(
                "UPDATE payments
                 SET status = 'paid', payment_method = ?2, sender_name = NULL, paid_at = ?3,
                     closed_at = ?3
                 WHERE id = ?1 AND status IN ('pending', 'expired')
                 RETURNING ",
                payment_returning!()
            ),
            params![payment, method.as_str(), now],
            payment_from_row,
        )?;
        match paid {
            Some(payment) => self.with_outbox(payment, &method, now).map(Some),
            None => Ok(None),
        }
    }

    /// The second half of every paid transition: the outbox row carrying the exact webhook body, in the
    /// same transaction, when the merchant has a webhook URL, and the `payment_paid` event.
    fn with_outbox(
        &self,
        payment: PaymentRow,
        method: &PaymentMethod,
        now: Timestamp,
    ) -> Result<PaidPayment, DbError> {
        let (merchant_name, webhook_url): (String, Option<String>) = self.query_one(
            "SELECT name, webhook_url FROM merchants WHERE id = ?1",
            params![payment.merchant_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let delivery = match webhook_url {
            Some(_) => {
                let event = WebhookEvent::payment_paid(WebhookPaymentData {
                    invoice_id: payment.invoice_id.clone(),
                    merchant_order_id: payment.merchant_order_id.clone(),
                    amount: payment.amount,
                    unique_code: payment.unique_code,
                    total_amount: payment.total_amount,
                    customer_name: payment.customer_name.clone(),
                    status: PaymentStatus::Paid,
                    payment_method: method.as_str().to_owned(),
                    paid_at: now,
                    test: payment.test,
                });
                let body = serde_json::to_vec(&event)
                    .expect("a webhook event of strings and integers always serialises");
                Some(self.insert_delivery(
                    &secret::message_id(),
                    payment.merchant_id,
                    payment.id,
                    &event.event,
                    &body,
                    now,
                )?)
            }
            None => None,
        };
        let event =
            WsEvent::PaymentPaid(payment_data(&payment, &merchant_name, PaymentStatus::Paid));
        self.record_event(payment.merchant_id, &event, now)?;
        Ok(PaidPayment {
            payment,
            merchant_name,
            delivery,
        })
    }

    /// Moves up to `limit` pending payments whose deadline has passed (oldest first) to `expired`; their
    /// totals stay reserved for the cooldown, counted from the deadline, and each merchant concerned gets
    /// one `payments_expired` event. The merchants concerned are locked first, in id order (as allocation
    /// and settlement lock theirs before touching payments), so sweeps on several nodes and settlements
    /// never deadlock; each update is conditional and only the payments this transaction moved are
    /// returned, so concurrent sweeps report each expiry once.
    pub fn expire_overdue(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<ExpiredPayment>, DbError> {
        let overdue: Vec<(PaymentId, MerchantId, String)> = self.query_all(
            "SELECT p.id, p.merchant_id, m.name FROM payments p JOIN merchants m ON m.id = p.merchant_id
             WHERE p.status = 'pending' AND p.expired_at <= ?1
             ORDER BY p.id LIMIT ?2",
            params![now, limit],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut merchants: Vec<(MerchantId, String)> = overdue
            .iter()
            .map(|(_, merchant, name)| (*merchant, name.clone()))
            .collect();
        merchants.sort_unstable_by_key(|(merchant, _)| *merchant);
        merchants.dedup_by_key(|(merchant, _)| *merchant);
        for (merchant, _) in &merchants {
            self.lock_merchant(*merchant)?;
        }
        let mut all = Vec::new();
        for (payment, merchant, merchant_name) in overdue {
            let moved = self.query_opt(
                concat!(
                    "UPDATE payments SET status = 'expired', closed_at = expired_at
                     WHERE id = ?1 AND status = 'pending'
                     RETURNING ",
                    payment_returning!()
                ),
                params![payment],
                payment_from_row,
            )?;
            // None: another node's sweep (or a payment) took it meanwhile.
            if let Some(payment) = moved {
                all.push((merchant, merchant_name, payment));
            }
        }
        for (merchant, name) in &merchants {
            let payments: Vec<WsPaymentData> = all
                .iter()
                .filter(|(m, _, _)| m == merchant)
                .map(|(_, _, p)| payment_data(p, name, PaymentStatus::Expired))
                .collect();
            if payments.is_empty() {
                continue;
            }
            let event = WsEvent::PaymentsExpired(WsExpiredData {
                count: payments.len(),
                payments,
            });
            self.record_event(*merchant, &event, now)?;
        }
        Ok(all
            .into_iter()
            .map(|(_, merchant_name, payment)| ExpiredPayment {
                payment,
                merchant_name,
            })
            .collect())
    }
}

impl Tx<'_> {
    /// A late payment, simulated: brings a pending sandbox invoice's deadline forward to `now`, so that
    /// a payment reported at `now` finds it past its deadline (the expiry sweep then expires it as any
    /// other). `false` when it is not a pending sandbox invoice; live invoices are never touched.
    pub fn bring_test_deadline_forward(
        &self,
        payment: PaymentId,
        now: Timestamp,
    ) -> Result<bool, DbError> {
        Ok(self.execute(
            "UPDATE payments SET expired_at = ?2
             WHERE id = ?1 AND test = 1 AND status = 'pending' AND expired_at > ?2",
            params![payment, now],
        )? == 1)
    }
}

impl Conn<'_> {
    /// `merchant`'s payment with this invoice id (another merchant's invoice is not found).
    pub fn payment_by_invoice(
        &self,
        merchant: MerchantId,
        invoice_id: &str,
    ) -> Result<Option<PaymentRow>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                payment_columns!(),
                " FROM payments p WHERE p.invoice_id = ?1 AND p.merchant_id = ?2"
            ),
            params![invoice_id, merchant],
            payment_from_row,
        )
    }

    /// A payment by row id.
    pub fn payment(&self, id: PaymentId) -> Result<Option<PaymentRow>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                payment_columns!(),
                " FROM payments p WHERE p.id = ?1"
            ),
            params![id],
            payment_from_row,
        )
    }

    /// `merchant`'s pending live (or, when `test`, sandbox) payment with this total (at most one, by
    /// the partial unique index); it may be past its deadline, which the caller checks.
    pub fn pending_by_total(
        &self,
        merchant: MerchantId,
        test: bool,
        total: i64,
    ) -> Result<Option<PaymentRow>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                payment_columns!(),
                " FROM payments p
                 WHERE p.merchant_id = ?1 AND p.test = ?3 AND p.status = 'pending'
                   AND p.total_amount = ?2"
            ),
            params![merchant, total, test],
            payment_from_row,
        )
    }

    /// The latest of `merchant`'s live (or, when `test`, sandbox) payments with this total that left
    /// `pending` after `since` (paid or expired within the cooldown): what a payment that matches
    /// nothing pending was probably for.
    pub fn recently_closed_by_total(
        &self,
        merchant: MerchantId,
        test: bool,
        total: i64,
        since: Timestamp,
    ) -> Result<Option<PaymentRow>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                payment_columns!(),
                " FROM payments p
                 WHERE p.merchant_id = ?1 AND p.test = ?4 AND p.total_amount = ?2
                   AND p.closed_at > ?3
                 ORDER BY p.closed_at DESC, p.id DESC LIMIT 1"
            ),
            params![merchant, total, since, test],
            payment_from_row,
        )
    }

    /// How many of `merchant`'s payments are pending (tests and the dashboard).
    pub fn pending_count(&self, merchant: MerchantId) -> Result<i64, DbError> {
        self.query_one(
            "SELECT COUNT(*) FROM payments WHERE merchant_id = ?1 AND status = 'pending'",
            params![merchant],
            |r| r.get(0),
        )
    }
}

/// Which payments the dashboard lists.
#[derive(Debug, Clone)]
pub struct PaymentFilter {
    /// Whose merchants.
    pub scope: Scope,
    /// One merchant only.
    pub merchant: Option<MerchantId>,
    /// Status as of `now` (a pending invoice past its deadline counts as expired).
    pub status: Option<PaymentStatus>,
    /// Created at or after.
    pub from: Option<Timestamp>,
    /// Created before.
    pub to: Option<Timestamp>,
    /// A piece of the invoice id or of the merchant's order id.
    pub search: Option<String>,
    /// Only payments with a smaller row id (the next page).
    pub before: Option<PaymentId>,
    /// At most this many.
    pub limit: usize,
    /// The instant statuses are judged at.
    pub now: Timestamp,
}

/// A payment with its merchant's name.
#[derive(Debug, Clone)]
pub struct PaymentWithMerchant {
    /// The payment.
    pub payment: PaymentRow,
    /// Its merchant's name.
    pub merchant_name: String,
    /// Its public payment page token (invoices from before schema version 3 have none).
    pub page_token: Option<String>,
}

/// A manual confirmation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualConfirmationRow {
    /// Who confirmed it.
    pub account_email: Option<String>,
    /// Why.
    pub reason: String,
    /// The notification reconciled by hand, if any.
    pub notification_id: Option<super::NotificationId>,
    /// When.
    pub confirmed_at: Timestamp,
}

/// `%` and `_` are wildcards in LIKE; a search for them means the characters themselves.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl Tx<'_> {
    /// Stores why and by whom a payment was confirmed by hand (and which notification it reconciles).
    pub fn insert_manual_confirmation(
        &self,
        payment: PaymentId,
        account: Option<super::AccountId>,
        reason: &str,
        notification: Option<super::NotificationId>,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO manual_confirmations (payment_id, account_id, reason, notification_id,
                                               confirmed_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![payment, account, reason, notification, now],
        )?;
        Ok(())
    }
}

impl Conn<'_> {
    /// The payments matching `filter`, newest first.
    pub fn payments_matching(
        &self,
        filter: &PaymentFilter,
    ) -> Result<Vec<PaymentWithMerchant>, DbError> {
        let status = filter.status.map(PaymentStatus::as_str);
        let search = filter.search.as_deref().map(like_pattern);
        // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
        self.query_all(
            concat!(
                "SELECT ",
                payment_columns!(),
                ", m.name, p.page_token
                 FROM payments p JOIN merchants m ON m.id = p.merchant_id
                 WHERE (CAST(?1 AS BIGINT) IS NULL OR m.owner_account_id = ?1)
                   AND (CAST(?2 AS BIGINT) IS NULL OR p.merchant_id = ?2)
                   AND (CAST(?3 AS TEXT) IS NULL
                        OR (?3 = 'paid' AND p.status = 'paid')
                        OR (?3 = 'pending' AND p.status = 'pending' AND p.expired_at > ?9)
                        OR (?3 = 'expired' AND (p.status = 'expired'
                                                OR (p.status = 'pending' AND p.expired_at <= ?9))))
                   AND (CAST(?4 AS BIGINT) IS NULL OR p.created_at >= ?4)
                   AND (CAST(?5 AS BIGINT) IS NULL OR p.created_at < ?5)
                   AND (CAST(?6 AS TEXT) IS NULL OR lower(p.invoice_id) LIKE lower(?6) ESCAPE '\\'
                                   OR lower(p.merchant_order_id) LIKE lower(?6) ESCAPE '\\')
                   AND (CAST(?7 AS BIGINT) IS NULL OR p.id < ?7)
                 ORDER BY p.id DESC
                 LIMIT ?8"
            ),
            params![
                filter.scope.owner(),
                filter.merchant,
                status,
                filter.from,
                filter.to,
                search,
                filter.before,
                filter.limit,
                filter.now,
            ],
            with_merchant_from_row,
        )
    }

    /// The payment with this invoice id if `scope` may see its merchant (otherwise not found).
    pub fn payment_in_scope(
        &self,
        invoice_id: &str,
        scope: Scope,
    ) -> Result<Option<PaymentWithMerchant>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                payment_columns!(),
                ", m.name, p.page_token
                 FROM payments p JOIN merchants m ON m.id = p.merchant_id
                 WHERE p.invoice_id = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR m.owner_account_id = ?2)"
            ),
            params![invoice_id, scope.owner()],
            with_merchant_from_row,
        )
    }

    /// The payment whose public page has this token.
    pub fn payment_by_page_token(
        &self,
        token: &str,
    ) -> Result<Option<PaymentWithMerchant>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                payment_columns!(),
                ", m.name, p.page_token
                 FROM payments p JOIN merchants m ON m.id = p.merchant_id
                 WHERE p.page_token = ?1"
            ),
            params![token],
            with_merchant_from_row,
        )
    }

    /// How a payment was confirmed by hand, if it was.
    pub fn manual_confirmation(
        &self,
        payment: PaymentId,
    ) -> Result<Option<ManualConfirmationRow>, DbError> {
        self.query_opt(
            "SELECT a.email, c.reason, c.notification_id, c.confirmed_at
             FROM manual_confirmations c LEFT JOIN accounts a ON a.id = c.account_id
             WHERE c.payment_id = ?1",
            params![payment],
            |row| {
                Ok(ManualConfirmationRow {
                    account_email: row.get(0)?,
                    reason: row.get(1)?,
                    notification_id: row.get(2)?,
                    confirmed_at: row.get(3)?,
                })
            },
        )
    }
}
