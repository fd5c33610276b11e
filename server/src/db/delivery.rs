//! The webhook outbox: delivery rows (written with the paid transition), leases that keep a delivery from
//! being sent twice at once, and the log of every attempt.

use webqris_core::{SecretString, Timestamp};

use super::sql::{Dialect, Row, params};
use super::{Conn, DbError, MerchantId, PaymentId, Scope, Tx};

/// A delivery's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub i64);

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or being attempted under a lease).
    Pending,
    /// A 2xx was received.
    Delivered,
    /// Every attempt failed.
    Failed,
}

impl DeliveryStatus {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// A delivery status spelling that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown delivery status {0:?}")]
pub struct UnknownDeliveryStatus(String);

impl std::str::FromStr for DeliveryStatus {
    type Err = UnknownDeliveryStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(UnknownDeliveryStatus(other.to_owned())),
        }
    }
}

/// A delivery claimed by the worker: everything one attempt needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// Row id.
    pub id: DeliveryId,
    /// `webhook-id`, stable across attempts.
    pub message_id: String,
    /// Owner.
    pub merchant_id: MerchantId,
    /// The merchant's name (for the `webhook_delivered` frame).
    pub merchant_name: String,
    /// The paid invoice.
    pub invoice_id: String,
    /// The exact body to send.
    pub body: Vec<u8>,
    /// This attempt's number, 1-based (counted when claimed, so a crash mid-attempt still counts).
    pub attempt: i64,
    /// The merchant's webhook URL now (it may have changed since the payment).
    pub url: Option<String>,
    /// The merchant's webhook secret now.
    pub secret: SecretString,
}

/// What one attempt did.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// The delivery.
    pub delivery: DeliveryId,
    /// Attempt number.
    pub attempt: i64,
    /// The URL tried (empty when the merchant had none).
    pub url: String,
    /// When the attempt started.
    pub started_at: Timestamp,
    /// How long it took.
    pub duration_ms: i64,
    /// The HTTP status, when a response came.
    pub status_code: Option<u16>,
    /// What went wrong (transport error, refused target, non-2xx).
    pub error: Option<String>,
    /// The start of the response body.
    pub response_body: Option<String>,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Done: a 2xx.
    Delivered,
    /// Try again at this instant.
    RetryAt(Timestamp),
    /// Attempts exhausted (or nothing to try).
    Failed,
}

/// A delivery as listed (tests, dashboard).
#[derive(Debug, Clone)]
pub struct DeliveryInfo {
    /// Row id.
    pub id: DeliveryId,
    /// `webhook-id`.
    pub message_id: String,
    /// Status.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i64,
    /// The stored body.
    pub body: Vec<u8>,
    /// The last error.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When the next attempt is due (while pending).
    pub next_attempt_at: Timestamp,
    /// When it was delivered or gave up.
    pub finished_at: Option<Timestamp>,
}

/// One stored attempt (tests, dashboard).
#[derive(Debug, Clone)]
pub struct AttemptInfo {
    /// Attempt number.
    pub attempt: i64,
    /// URL tried.
    pub url: String,
    /// HTTP status, when a response came.
    pub status_code: Option<u16>,
    /// Error, when it failed.
    pub error: Option<String>,
    /// Duration in milliseconds.
    pub duration_ms: i64,
    /// Start of the response body.
    pub response_body: Option<String>,
    /// When the attempt started.
    pub started_at: Timestamp,
}

/// What a request to redeliver came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelivery {
    /// Queued: the worker sends it again now.
    Queued,
    /// An attempt is in flight right now; nothing changed.
    InFlight,
    /// No such delivery.
    NotFound,
}

/// The columns [`delivery_from_row`] reads.
macro_rules! delivery_columns {
    () => {
        "d.id, d.message_id, d.status, d.attempts, d.body, d.last_error, d.created_at, \
         d.next_attempt_at, d.finished_at"
    };
}

fn delivery_from_row(r: &Row<'_>) -> Result<DeliveryInfo, DbError> {
    Ok(DeliveryInfo {
        id: r.get(0)?,
        message_id: r.get(1)?,
        status: r.get(2)?,
        attempts: r.get(3)?,
        body: r.get(4)?,
        last_error: r.get(5)?,
        created_at: r.get(6)?,
        next_attempt_at: r.get(7)?,
        finished_at: r.get(8)?,
    })
}

impl Tx<'_> {
    /// Sends a delivery again (same `webhook-id`, same bytes, the next attempt number), whatever its
    /// status: due now, with one more attempt than it has made (a delivery that fails again is then
    /// failed; its retry schedule was used up). Refused while an attempt is in flight.
    pub fn redeliver(&self, delivery: DeliveryId, now: Timestamp) -> Result<Redelivery, DbError> {
        let lease: Option<Option<Timestamp>> = self.query_opt(
            "SELECT lease_until FROM deliveries WHERE id = ?1",
            params![delivery],
            |r| r.get(0),
        )?;
        match lease {
            None => return Ok(Redelivery::NotFound),
            Some(Some(until)) if until > now => return Ok(Redelivery::InFlight),
            Some(_) => {}
        }
        self.execute(
            "UPDATE deliveries
             SET status = 'pending', next_attempt_at = ?2, finished_at = NULL, lease_until = NULL
             WHERE id = ?1",
            params![delivery, now],
        )?;
        Ok(Redelivery::Queued)
    }

    /// Adds a delivery to the outbox, due now.
    pub fn insert_delivery(
        &self,
        message_id: &str,
        merchant: MerchantId,
        payment: PaymentId,
        event: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<DeliveryId, DbError> {
        self.query_one(
            "INSERT INTO deliveries (message_id, merchant_id, payment_id, event, body,
                                     next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             RETURNING id",
            params![message_id, merchant, payment, event, body, now],
            |r| r.get(0),
        )
    }

    /// Claims up to `limit` due deliveries whose lease (if any) has run out: leases them until
    /// `lease_until` and counts the attempt. A claimed delivery is sent by nobody else until then.
    pub fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, DbError> {
        // On PostgreSQL, workers of several nodes claim at once: SKIP LOCKED lets each take rows no
        // other is claiming, and the lease keeps them from anyone else until it runs out.
        let claim = match self.dialect() {
            Dialect::Sqlite => {
                "UPDATE deliveries SET lease_until = ?2, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM deliveries
                              WHERE status = 'pending' AND next_attempt_at <= ?1
                                AND (lease_until IS NULL OR lease_until <= ?1)
                              ORDER BY next_attempt_at, id LIMIT ?3)
                 RETURNING id"
            }
            Dialect::Postgres => {
                "UPDATE deliveries SET lease_until = ?2, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM deliveries
                              WHERE status = 'pending' AND next_attempt_at <= ?1
                                AND (lease_until IS NULL OR lease_until <= ?1)
                              ORDER BY next_attempt_at, id LIMIT ?3
                              FOR UPDATE SKIP LOCKED)
                 RETURNING id"
            }
        };
        let ids: Vec<DeliveryId> =
            self.query_all(claim, params![now, lease_until, limit], |r| r.get(0))?;
        ids.into_iter()
            .map(|id| {
                self.query_one(
                    "SELECT d.id, d.message_id, d.merchant_id, m.name, p.invoice_id, d.body,
                            d.attempts, m.webhook_url, m.webhook_secret
                     FROM deliveries d
                     JOIN merchants m ON m.id = d.merchant_id
                     JOIN payments p ON p.id = d.payment_id
                     WHERE d.id = ?1",
                    params![id],
                    |r| {
                        Ok(ClaimedDelivery {
                            id: r.get(0)?,
                            message_id: r.get(1)?,
                            merchant_id: r.get(2)?,
                            merchant_name: r.get(3)?,
                            invoice_id: r.get(4)?,
                            body: r.get(5)?,
                            attempt: r.get(6)?,
                            url: r.get(7)?,
                            secret: SecretString::new(r.get::<String>(8)?),
                        })
                    },
                )
            })
            .collect()
    }

    /// Stores an attempt and moves the delivery on (delivered, retry later, or failed); releases the lease.
    pub fn record_attempt(
        &self,
        attempt: &AttemptRecord,
        next: NextStep,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO delivery_attempts (delivery_id, attempt, url, started_at, duration_ms,
                                            status_code, error, response_body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (delivery_id, attempt) DO NOTHING",
            params![
                attempt.delivery,
                attempt.attempt,
                attempt.url,
                attempt.started_at,
                attempt.duration_ms,
                attempt.status_code,
                attempt.error,
                attempt.response_body,
            ],
        )?;
        let (status, next_at, finished_at) = match next {
            NextStep::Delivered => (DeliveryStatus::Delivered, None, Some(now)),
            NextStep::RetryAt(at) => (DeliveryStatus::Pending, Some(at), None),
            NextStep::Failed => (DeliveryStatus::Failed, None, Some(now)),
        };
        self.execute(
            "UPDATE deliveries
             SET status = ?2, next_attempt_at = COALESCE(?3, next_attempt_at), finished_at = ?4,
                 last_error = ?5, lease_until = NULL
             WHERE id = ?1",
            params![
                attempt.delivery,
                status,
                next_at,
                finished_at,
                attempt.error
            ],
        )?;
        Ok(())
    }
}

impl Conn<'_> {
    /// When the worker next has something to do: the earliest instant a pending delivery becomes
    /// claimable (its due time, or the end of its lease).
    pub fn next_delivery_due(&self) -> Result<Option<Timestamp>, DbError> {
        // CASE rather than two-argument MAX, which PostgreSQL spells GREATEST.
        self.query_one(
            "SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until
                             ELSE next_attempt_at END)
             FROM deliveries WHERE status = 'pending'",
            params![],
            |r| r.get(0),
        )
    }

    /// Deliveries of a payment, oldest first.
    pub fn deliveries_for_payment(&self, payment: PaymentId) -> Result<Vec<DeliveryInfo>, DbError> {
        self.query_all(
            concat!(
                "SELECT ",
                delivery_columns!(),
                " FROM deliveries d WHERE d.payment_id = ?1 ORDER BY d.id"
            ),
            params![payment],
            delivery_from_row,
        )
    }

    /// The attempts of a delivery, in order.
    pub fn delivery_attempts(&self, delivery: DeliveryId) -> Result<Vec<AttemptInfo>, DbError> {
        self.query_all(
            "SELECT attempt, url, status_code, error, duration_ms, response_body, started_at
             FROM delivery_attempts WHERE delivery_id = ?1 ORDER BY attempt",
            params![delivery],
            |r| {
                Ok(AttemptInfo {
                    attempt: r.get(0)?,
                    url: r.get(1)?,
                    status_code: r.get(2)?,
                    error: r.get(3)?,
                    duration_ms: r.get(4)?,
                    response_body: r.get(5)?,
                    started_at: r.get(6)?,
                })
            },
        )
    }

    /// A delivery by id.
    pub fn delivery(&self, id: DeliveryId) -> Result<Option<DeliveryInfo>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                delivery_columns!(),
                " FROM deliveries d WHERE d.id = ?1"
            ),
            params![id],
            delivery_from_row,
        )
    }

    /// The merchant and payment of a delivery, if `scope` may see its merchant.
    pub fn delivery_in_scope(
        &self,
        id: DeliveryId,
        scope: Scope,
    ) -> Result<Option<(MerchantId, PaymentId)>, DbError> {
        self.query_opt(
            "SELECT d.merchant_id, d.payment_id FROM deliveries d
             JOIN merchants m ON m.id = d.merchant_id
             WHERE d.id = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR m.owner_account_id = ?2)",
            params![id, scope.owner()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
}
