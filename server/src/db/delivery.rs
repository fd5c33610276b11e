//! The webhook outbox: delivery rows (written with the paid transition), leases that keep a delivery from
//! being sent twice at once, fair claiming across endpoints (a per-endpoint cap counted from the leases,
//! round robin between endpoints), each endpoint's circuit breaker, and the log of every attempt.
//!
//! A claim names its worker (`lease_owner`, random per worker run) and increments the attempt number,
//! which doubles as the fencing token: a worker renews only the leases it still owns, and recording an
//! attempt only moves the delivery on while it is still at that number, so a worker that lost its lease
//! can neither extend it nor overwrite what the new owner does.

use std::time::Duration;

use webqris_core::{SecretString, Timestamp};

use super::sql::{Dialect, Row, Serial, params};
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
    /// The merchant's webhook secrets now.
    pub secrets: WebhookSecrets,
}

/// The secrets that sign a merchant's webhooks: the current one, and during the overlap after a rotation
/// (`webhook.secret_overlap_secs`) the previous one too.
#[derive(Debug, Clone)]
pub struct WebhookSecrets {
    /// The secret shown in the dashboard now.
    pub current: SecretString,
    /// The secret it replaced, while its overlap lasts.
    pub previous: Option<SecretString>,
}

/// A claimed delivery from its row: id, message id, merchant id, merchant name, invoice id, body,
/// attempt, webhook URL, webhook secret, previous secret.
fn claimed_from_row(r: &Row<'_>) -> Result<ClaimedDelivery, DbError> {
    Ok(ClaimedDelivery {
        id: r.get(0)?,
        message_id: r.get(1)?,
        merchant_id: r.get(2)?,
        merchant_name: r.get(3)?,
        invoice_id: r.get(4)?,
        body: r.get(5)?,
        attempt: r.get(6)?,
        url: r.get(7)?,
        secrets: WebhookSecrets {
            current: SecretString::new(r.get::<String>(8)?),
            previous: r.get::<Option<String>>(9)?.map(SecretString::new),
        },
    })
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

/// A finished attempt to record ([`Tx::record_attempts`]).
#[derive(Debug, Clone)]
pub struct FinishedAttempt {
    /// The delivery's merchant.
    pub merchant: MerchantId,
    /// What the attempt did.
    pub record: AttemptRecord,
    /// What happens to the delivery now.
    pub next: NextStep,
    /// What it says about the endpoint.
    pub reach: Reach,
    /// When it ended.
    pub now: Timestamp,
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

impl NextStep {
    /// The delivery's status, next attempt and end after this step, taken at `now`.
    fn delivery_state(
        self,
        now: Timestamp,
    ) -> (DeliveryStatus, Option<Timestamp>, Option<Timestamp>) {
        match self {
            Self::Delivered => (DeliveryStatus::Delivered, None, Some(now)),
            Self::RetryAt(at) => (DeliveryStatus::Pending, Some(at), None),
            Self::Failed => (DeliveryStatus::Failed, None, Some(now)),
        }
    }
}

/// What an attempt says about its endpoint, for the circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// An HTTP response came (any status): the endpoint is up.
    Answered,
    /// The attempt timed out or could not connect.
    Unreachable,
    /// Nothing was sent to the endpoint (no URL, a refused target, a lost lease): no news about it.
    NotTried,
}

/// An endpoint's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    /// Attempts flow, up to the per-endpoint cap.
    Closed,
    /// The endpoint stopped answering: one probe at a time until it answers again.
    Open,
}

impl Circuit {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
        }
    }
}

/// A circuit spelling that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown circuit state {0:?}")]
pub struct UnknownCircuit(String);

impl std::str::FromStr for Circuit {
    type Err = UnknownCircuit;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "closed" => Ok(Self::Closed),
            "open" => Ok(Self::Open),
            other => Err(UnknownCircuit(other.to_owned())),
        }
    }
}

/// The stored health of a merchant's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointHealth {
    /// The webhook URL this state is about.
    pub url: String,
    /// The breaker.
    pub circuit: Circuit,
    /// Attempts in a row that timed out or could not connect.
    pub failures: i64,
    /// When the circuit last opened or closed.
    pub changed_at: Option<Timestamp>,
    /// While open: when the next probe may start.
    pub probe_at: Option<Timestamp>,
    /// Why the last failed attempt failed.
    pub last_error: Option<String>,
    /// When an attempt last got a 2xx.
    pub last_success_at: Option<Timestamp>,
    /// The first failed attempt since the last 2xx (`None` while the last attempt succeeded).
    pub failing_since: Option<Timestamp>,
    /// Attempts in a row that did not get a 2xx (any failure, unlike `failures`).
    pub failed_attempts: i64,
    /// Whether the "failing for `webhook.failing_alert_secs`" alert has been announced (and not yet its
    /// recovery).
    pub alert: bool,
}

/// The breaker's settings (`webhook.breaker_*`).
#[derive(Debug, Clone, Copy)]
pub struct Breaker {
    /// Consecutive unreachable attempts that open the circuit.
    pub threshold: u32,
    /// The pause between probes while open.
    pub probe_interval: Duration,
}

/// A change of an endpoint's circuit or alert, made by recording an attempt (logged and announced once,
/// by whoever made it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointChange {
    /// The merchant whose endpoint it is.
    pub merchant: MerchantId,
    /// The endpoint's state after the change.
    pub health: EndpointHealth,
    /// The circuit opened or closed.
    pub circuit_changed: bool,
    /// A 2xx cleared the raised "failing" alert.
    pub recovered: bool,
}

impl EndpointHealth {
    fn fresh(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            circuit: Circuit::Closed,
            failures: 0,
            changed_at: None,
            probe_at: None,
            last_error: None,
            last_success_at: None,
            failing_since: None,
            failed_attempts: 0,
            alert: false,
        }
    }

    /// The state after an attempt that reached (or failed to reach) the endpoint; `delivered` when it got
    /// a 2xx.
    pub fn after(
        &self,
        reach: Reach,
        delivered: bool,
        error: Option<&str>,
        now: Timestamp,
        breaker: Breaker,
    ) -> Self {
        let probe_at =
            Timestamp::from_millis(now.as_millis().saturating_add(
                i64::try_from(breaker.probe_interval.as_millis()).unwrap_or(i64::MAX),
            ));
        let mut next = self.clone();
        if delivered {
            next.last_success_at = Some(now);
            next.failing_since = None;
            next.failed_attempts = 0;
            next.alert = false;
        } else if reach != Reach::NotTried {
            next.failing_since = self.failing_since.or(Some(now));
            next.failed_attempts = self.failed_attempts.saturating_add(1);
            next.last_error = error.map(str::to_owned);
        }
        match reach {
            Reach::NotTried => {}
            Reach::Answered => {
                next.failures = 0;
                next.probe_at = None;
                if self.circuit == Circuit::Open {
                    next.circuit = Circuit::Closed;
                    next.changed_at = Some(now);
                }
            }
            Reach::Unreachable => {
                next.failures = self.failures.saturating_add(1);
                if self.circuit == Circuit::Open {
                    next.probe_at = Some(probe_at);
                } else if next.failures >= i64::from(breaker.threshold) {
                    next.circuit = Circuit::Open;
                    next.changed_at = Some(now);
                    next.probe_at = Some(probe_at);
                }
            }
        }
        next
    }
}

/// A merchant's webhook endpoint as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// The breaker's state for the merchant's current URL (`None`: nothing went wrong with it yet).
    pub health: Option<EndpointHealth>,
    /// Deliveries waiting or in flight.
    pub pending: i64,
    /// Attempts in flight now.
    pub in_flight: i64,
    /// When the next waiting delivery is due.
    pub next_attempt_at: Option<Timestamp>,
}

/// A lease a worker holds: the delivery and the attempt number it was claimed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeldLease {
    /// The delivery.
    pub delivery: DeliveryId,
    /// The attempt number claimed (the fencing token).
    pub attempt: i64,
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
    /// Until when a worker holds it (an attempt is in flight while this is in the future).
    pub lease_until: Option<Timestamp>,
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
         d.next_attempt_at, d.finished_at, d.lease_until"
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
        lease_until: r.get(9)?,
    })
}

/// The endpoints (of `webhook_endpoints`) failing since `?1` or earlier, still their merchant's webhook
/// URL, whose alert is not raised yet.
macro_rules! failing_unalerted {
    () => {
        "alert = 0 AND failing_since <= ?1
         AND url = (SELECT m.webhook_url FROM merchants m WHERE m.id = webhook_endpoints.merchant_id)"
    };
}

impl Tx<'_> {
    /// Sends a delivery again (same `webhook-id`, same bytes, the next attempt number), whatever its
    /// status: due now, with one more attempt than it has made (a delivery that fails again is then
    /// failed; its retry schedule was used up). Refused while an attempt is in flight.
    pub fn redeliver(&self, delivery: DeliveryId, now: Timestamp) -> Result<Redelivery, DbError> {
        // One conditional update: a claim committed meanwhile (on any node) makes it change nothing.
        let queued = self.execute(
            "UPDATE deliveries
             SET status = 'pending', next_attempt_at = ?2, finished_at = NULL, lease_until = NULL
             WHERE id = ?1 AND (lease_until IS NULL OR lease_until <= ?2)",
            params![delivery, now],
        )?;
        if queued > 0 {
            Ok(Redelivery::Queued)
        } else if self.exists("SELECT 1 FROM deliveries WHERE id = ?1", params![delivery])? {
            Ok(Redelivery::InFlight)
        } else {
            Ok(Redelivery::NotFound)
        }
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

    /// Renews the leases of `held` (`owner`'s, each for the attempt it was claimed for) that run out
    /// before `older_than` until `until`; returns those renewed. A lease is kept while its delivery is
    /// pending and leased to `owner` for that attempt, even if it ran out meanwhile: a claim that took it
    /// over would have made itself the owner, in a transaction too. Only the leases the worker still
    /// holds are renewed: one whose attempt was not recorded (the write failed) runs out and is retried.
    pub fn renew_leases(
        &self,
        owner: &str,
        held: &[HeldLease],
        until: Timestamp,
        older_than: Timestamp,
    ) -> Result<Vec<HeldLease>, DbError> {
        let lease = |r: &Row<'_>| {
            Ok(HeldLease {
                delivery: r.get(0)?,
                attempt: r.get(1)?,
            })
        };
        match self.dialect() {
            Dialect::Sqlite => {
                let mut renewed = Vec::new();
                for h in held {
                    renewed.extend(self.query_opt(
                        "UPDATE deliveries SET lease_until = ?2
                         WHERE id = ?4 AND attempts = ?5 AND lease_until IS NOT NULL
                           AND lease_until < ?3 AND lease_owner = ?1 AND status = 'pending'
                         RETURNING id, attempts",
                        params![owner, until, older_than, h.delivery, h.attempt],
                        lease,
                    )?);
                }
                Ok(renewed)
            }
            Dialect::Postgres if held.is_empty() => Ok(Vec::new()),
            // One round trip, by the primary key (see `store_attempts_at_once`).
            Dialect::Postgres => {
                let listed: Vec<serde_json::Value> = held
                    .iter()
                    .map(|h| serde_json::json!({"id": h.delivery.0, "attempt": h.attempt}))
                    .collect();
                self.query_all(
                    "WITH h AS (
                         SELECT * FROM jsonb_to_recordset(CAST(CAST(?4 AS TEXT) AS JSONB))
                             AS h(id BIGINT, attempt BIGINT)
                     )
                     UPDATE deliveries AS d SET lease_until = ?2
                     FROM h
                     WHERE d.id = ANY (ARRAY(SELECT id FROM h)) AND d.id = h.id
                       AND d.attempts = h.attempt AND d.lease_until IS NOT NULL
                       AND d.lease_until < ?3 AND d.lease_owner = ?1 AND d.status = 'pending'
                     RETURNING d.id, d.attempts",
                    params![
                        owner,
                        until,
                        older_than,
                        serde_json::Value::Array(listed).to_string()
                    ],
                    lease,
                )
            }
        }
    }

    /// Claims up to `limit` due deliveries fairly: round robin across endpoints (every endpoint's oldest
    /// due delivery before any endpoint's second), each endpoint's deliveries in due order, and never more
    /// than `per_endpoint` leases alive on one endpoint, or more than one (a probe, once its `probe_at` has
    /// come) while its circuit is open. Leases are counted in the table, so the caps hold for every worker
    /// claiming from it: claims are serialised (SQLite's single writer; an advisory lock on PostgreSQL). Each claimed delivery is
    /// leased to `owner` until `lease_until` and its attempt counted; nobody else sends it until then.
    ///
    /// The cost does not grow with a backlog: endpoints are found by skipping through the per-merchant
    /// index, and each contributes at most its allowance of rows.
    pub fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        owner: &str,
        per_endpoint: usize,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, DbError> {
        // One claim at a time on every node: the allowances below are counted from the leases.
        self.serialise(Serial::DeliveryClaims)?;
        // Every endpoint with something due and unleased: its oldest such delivery, and how many more it
        // may have in flight now.
        let mut endpoints: Vec<(MerchantId, Timestamp, i64)> = self.query_all(
            "WITH RECURSIVE endpoints (merchant_id) AS (
                 SELECT MIN(merchant_id) FROM deliveries WHERE status = 'pending'
                 UNION ALL
                 SELECT (SELECT MIN(d.merchant_id) FROM deliveries d
                         WHERE d.status = 'pending' AND d.merchant_id > endpoints.merchant_id)
                 FROM endpoints WHERE endpoints.merchant_id IS NOT NULL
             ),
             busy AS (
                 SELECT merchant_id, COUNT(*) AS leased FROM deliveries
                 WHERE lease_until > ?1 GROUP BY merchant_id
             ),
             heads AS (
                 SELECT ep.merchant_id,
                        (SELECT d.next_attempt_at FROM deliveries d
                         WHERE d.merchant_id = ep.merchant_id AND d.status = 'pending'
                           AND d.next_attempt_at <= ?1
                           AND (d.lease_until IS NULL OR d.lease_until <= ?1)
                         ORDER BY d.next_attempt_at, d.id LIMIT 1) AS head
                 FROM endpoints ep WHERE ep.merchant_id IS NOT NULL
             )
             SELECT heads.merchant_id, heads.head,
                    CASE WHEN e.circuit = 'open' THEN
                             CASE WHEN e.probe_at <= ?1 THEN 1 ELSE 0 END
                         ELSE ?2 END - COALESCE(busy.leased, 0) AS allowance
             FROM heads
             JOIN merchants m ON m.id = heads.merchant_id
             LEFT JOIN webhook_endpoints e ON e.merchant_id = heads.merchant_id
                                          AND e.url = m.webhook_url
             LEFT JOIN busy ON busy.merchant_id = heads.merchant_id
             WHERE heads.head IS NOT NULL",
            params![now, per_endpoint],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        endpoints.retain(|&(_, _, allowance)| allowance > 0);
        // Every endpoint's first pick precedes any endpoint's second, so only the `limit` endpoints
        // whose oldest due delivery is oldest can be served this round.
        endpoints.sort_unstable_by_key(|&(merchant, head, _)| (head, merchant.0));
        endpoints.truncate(limit);
        // (position within its endpoint, due time, id): the round-robin order.
        let mut picks: Vec<(usize, Timestamp, i64)> = Vec::new();
        for (merchant, _, allowance) in endpoints {
            let take = usize::try_from(allowance).unwrap_or(0).min(limit);
            // On PostgreSQL a row another transaction is changing right now (an attempt being recorded
            // or redelivered) is skipped, not waited for: it is claimed in a later round if still due.
            let pick = match self.dialect() {
                Dialect::Sqlite => {
                    "SELECT id, next_attempt_at FROM deliveries
                     WHERE merchant_id = ?1 AND status = 'pending' AND next_attempt_at <= ?2
                       AND (lease_until IS NULL OR lease_until <= ?2)
                     ORDER BY next_attempt_at, id LIMIT ?3"
                }
                Dialect::Postgres => {
                    "SELECT id, next_attempt_at FROM deliveries
                     WHERE merchant_id = ?1 AND status = 'pending' AND next_attempt_at <= ?2
                       AND (lease_until IS NULL OR lease_until <= ?2)
                     ORDER BY next_attempt_at, id LIMIT ?3
                     FOR UPDATE SKIP LOCKED"
                }
            };
            let rows: Vec<(i64, Timestamp)> =
                self.query_all(pick, params![merchant, now, take], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            picks.extend(
                rows.into_iter()
                    .enumerate()
                    .map(|(position, (id, due))| (position, due, id)),
            );
        }
        picks.sort_unstable();
        picks.truncate(limit);
        let ids: Vec<DeliveryId> = picks.into_iter().map(|(_, _, id)| DeliveryId(id)).collect();
        match self.dialect() {
            Dialect::Sqlite => ids
                .into_iter()
                .map(|id| {
                    self.execute(
                        "UPDATE deliveries SET lease_until = ?2, lease_owner = ?3, attempts = attempts + 1
                         WHERE id = ?1",
                        params![id, lease_until, owner],
                    )?;
                    self.query_one(
                        "SELECT d.id, d.message_id, d.merchant_id, m.name, p.invoice_id, d.body,
                                d.attempts, m.webhook_url, m.webhook_secret,
                                CASE WHEN m.previous_webhook_secret_until > ?2
                                     THEN m.previous_webhook_secret END
                         FROM deliveries d
                         JOIN merchants m ON m.id = d.merchant_id
                         JOIN payments p ON p.id = d.payment_id
                         WHERE d.id = ?1",
                        params![id, now],
                        claimed_from_row,
                    )
                })
                .collect(),
            Dialect::Postgres if ids.is_empty() => Ok(Vec::new()),
            // One round trip for the whole claim (statements cost one each here); the ids go as a JSON
            // array, looked up by the primary key whatever the planner guesses of their number.
            Dialect::Postgres => {
                let listed = serde_json::to_string(&ids.iter().map(|id| id.0).collect::<Vec<_>>())
                    .expect("integers serialise");
                let mut claimed = self.query_all(
                    "WITH claimed AS (
                         UPDATE deliveries
                         SET lease_until = ?2, lease_owner = ?3, attempts = attempts + 1
                         WHERE id = ANY (ARRAY(
                             SELECT CAST(value AS BIGINT)
                             FROM jsonb_array_elements_text(CAST(CAST(?1 AS TEXT) AS JSONB))))
                         RETURNING id, message_id, merchant_id, payment_id, body, attempts
                     )
                     SELECT c.id, c.message_id, c.merchant_id, m.name, p.invoice_id, c.body,
                            c.attempts, m.webhook_url, m.webhook_secret,
                            CASE WHEN m.previous_webhook_secret_until > ?4
                                 THEN m.previous_webhook_secret END
                     FROM claimed c
                     JOIN merchants m ON m.id = c.merchant_id
                     JOIN payments p ON p.id = c.payment_id",
                    params![listed, lease_until, owner, now],
                    claimed_from_row,
                )?;
                // Back in the round-robin order.
                claimed.sort_by_key(|d| ids.iter().position(|id| *id == d.id));
                Ok(claimed)
            }
        }
    }

    /// Stores finished attempts (given in merchant order), moves each delivery on (delivered, retry later,
    /// or failed) and releases its lease, then feeds what the attempts said about each merchant's endpoint
    /// to its breaker, in their order; returns, for each attempt, the circuit's change it made, if it
    /// opened or closed it or cleared its alert. A worker that lost its lease (the attempt number moved
    /// on) still logs its attempt, and a 2xx still counts as delivered, but a failure leaves the new
    /// owner's state alone.
    ///
    /// One merchant's attempts cost one read and at most one write of its endpoint, however many there
    /// are (a fast endpoint's round records `webhook.endpoint_concurrency` of them at once).
    pub fn record_attempts(
        &self,
        attempts: &[FinishedAttempt],
        breaker: Breaker,
    ) -> Result<Vec<Option<EndpointChange>>, DbError> {
        let mut changes = Vec::with_capacity(attempts.len());
        for merchant in attempts.chunk_by(|a, b| a.merchant == b.merchant) {
            match self.dialect() {
                Dialect::Sqlite => {
                    for attempt in merchant {
                        self.store_attempt(&attempt.record, attempt.next, attempt.now)?;
                    }
                }
                // One round trip for all of them: statements cost a round trip each here, and a
                // round's attempts to one endpoint are most of its statements.
                Dialect::Postgres => self.store_attempts_at_once(merchant)?,
            }
            changes.extend(self.feed_endpoint(merchant, breaker)?);
        }
        Ok(changes)
    }

    /// [`Tx::store_attempt`] for every attempt of `attempts` in one statement, their rows passed as one
    /// JSON array (PostgreSQL).
    fn store_attempts_at_once(&self, attempts: &[FinishedAttempt]) -> Result<(), DbError> {
        // The JSON is one text parameter, but its strings are stored as text each.
        let text = super::postgres::storable_text;
        let rows: Vec<serde_json::Value> = attempts
            .iter()
            .map(|a| {
                let r = &a.record;
                let (status, next_at, finished_at) = a.next.delivery_state(a.now);
                serde_json::json!({
                    "delivery_id": r.delivery.0,
                    "attempt": r.attempt,
                    "url": text(&r.url),
                    "started_at": r.started_at.as_millis(),
                    "duration_ms": r.duration_ms,
                    "status_code": r.status_code,
                    "error": r.error.as_deref().map(text),
                    "response_body": r.response_body.as_deref().map(text),
                    "status": status.as_str(),
                    "next_at": next_at.map(Timestamp::as_millis),
                    "finished_at": finished_at.map(Timestamp::as_millis),
                })
            })
            .collect();
        // Both changes in one statement: the data-modifying CTE and the UPDATE touch different tables.
        self.execute(
            "WITH r AS (
                 SELECT * FROM jsonb_to_recordset(CAST(CAST(?1 AS TEXT) AS JSONB)) AS r(
                     delivery_id BIGINT, attempt BIGINT, url TEXT, started_at BIGINT,
                     duration_ms BIGINT, status_code BIGINT, error TEXT, response_body TEXT,
                     status TEXT, next_at BIGINT, finished_at BIGINT)
             ),
             logged AS (
                 INSERT INTO delivery_attempts (delivery_id, attempt, url, started_at, duration_ms,
                                                status_code, error, response_body)
                 SELECT delivery_id, attempt, url, started_at, duration_ms, status_code, error,
                        response_body
                 FROM r
                 ON CONFLICT (delivery_id, attempt) DO NOTHING
             )
             UPDATE deliveries AS d
             SET status = r.status, next_attempt_at = COALESCE(r.next_at, d.next_attempt_at),
                 finished_at = r.finished_at, last_error = r.error,
                 lease_until = CASE WHEN d.attempts = r.attempt THEN NULL ELSE d.lease_until END
             FROM r
             -- By the primary key, whatever the planner guesses of the JSON's row count (a hash join
             -- over the whole table otherwise).
             WHERE d.id = ANY (ARRAY(SELECT delivery_id FROM r)) AND d.id = r.delivery_id
               AND d.status <> 'delivered'
               AND (r.status = 'delivered' OR (d.attempts = r.attempt AND d.status = 'pending'))",
            params![serde_json::Value::Array(rows).to_string()],
        )?;
        Ok(())
    }

    /// Stores one attempt and moves its delivery on.
    fn store_attempt(
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
        let (status, next_at, finished_at) = next.delivery_state(now);
        self.execute(
            "UPDATE deliveries
             SET status = ?2, next_attempt_at = COALESCE(?3, next_attempt_at), finished_at = ?4,
                 last_error = ?5,
                 lease_until = CASE WHEN attempts = ?6 THEN NULL ELSE lease_until END
             WHERE id = ?1 AND status <> 'delivered'
               AND (?2 = 'delivered' OR (attempts = ?6 AND status = 'pending'))",
            params![
                attempt.delivery,
                status,
                next_at,
                finished_at,
                attempt.error,
                attempt.attempt,
            ],
        )?;
        Ok(())
    }

    /// Applies one merchant's attempts, in order, to its endpoint's breaker and health; only those that
    /// went to the merchant's current URL count (a result about a URL since replaced says nothing about
    /// the new one). Returns each attempt's change.
    fn feed_endpoint(
        &self,
        attempts: &[FinishedAttempt],
        breaker: Breaker,
    ) -> Result<Vec<Option<EndpointChange>>, DbError> {
        let mut changes = vec![None; attempts.len()];
        let Some(merchant) = attempts.first().map(|a| a.merchant) else {
            return Ok(changes);
        };
        let tried = |a: &FinishedAttempt| a.reach != Reach::NotTried && !a.record.url.is_empty();
        if !attempts.iter().any(tried) {
            return Ok(changes);
        }
        let Some(url) = self
            .webhook_url(merchant)?
            .filter(|url| attempts.iter().any(|a| tried(a) && a.record.url == *url))
        else {
            return Ok(changes);
        };
        // A read-modify-write of the endpoint's row: attempts recorded at once on several nodes take turns.
        self.lock_merchant(merchant)?;
        let stored = self
            .endpoint_health(merchant)?
            .filter(|h| h.url == url)
            .unwrap_or_else(|| EndpointHealth::fresh(&url));
        let mut health = stored.clone();
        for (attempt, change) in attempts.iter().zip(&mut changes) {
            if !tried(attempt) || attempt.record.url != url {
                continue;
            }
            let after = health.after(
                attempt.reach,
                attempt.next == NextStep::Delivered,
                attempt.record.error.as_deref(),
                attempt.now,
                breaker,
            );
            let circuit_changed = after.circuit != health.circuit;
            let recovered = health.alert && !after.alert;
            *change = (circuit_changed || recovered).then(|| EndpointChange {
                merchant,
                health: after.clone(),
                circuit_changed,
                recovered,
            });
            health = after;
        }
        if health == stored {
            return Ok(changes);
        }
        self.execute(
            "INSERT INTO webhook_endpoints (merchant_id, url, circuit, failures, changed_at, probe_at,
                                            last_error, last_success_at, failing_since,
                                            failed_attempts, alert)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (merchant_id) DO UPDATE
             SET url = excluded.url, circuit = excluded.circuit, failures = excluded.failures,
                 changed_at = excluded.changed_at, probe_at = excluded.probe_at,
                 last_error = excluded.last_error, last_success_at = excluded.last_success_at,
                 failing_since = excluded.failing_since, failed_attempts = excluded.failed_attempts,
                 alert = excluded.alert",
            params![
                merchant,
                health.url,
                health.circuit,
                health.failures,
                health.changed_at,
                health.probe_at,
                health.last_error,
                health.last_success_at,
                health.failing_since,
                health.failed_attempts,
                health.alert,
            ],
        )?;
        Ok(changes)
    }

    /// Raises the alert of every endpoint whose attempts have all failed since `failing_before` or
    /// earlier and whose alert is not raised yet; returns each with its merchant's name, to announce.
    /// Only endpoints that are still their merchant's webhook URL count. Each merchant is locked (in id
    /// order) before its endpoint is changed, so a 2xx recorded at the same time on another node sees the
    /// raised alert and announces the recovery, and sweeps on several nodes raise each alert once.
    pub fn raise_endpoint_alerts(
        &self,
        failing_before: Timestamp,
    ) -> Result<Vec<(MerchantId, String, EndpointHealth)>, DbError> {
        let candidates: Vec<MerchantId> = self.query_all(
            concat!(
                "SELECT merchant_id FROM webhook_endpoints WHERE ",
                failing_unalerted!(),
                " ORDER BY merchant_id"
            ),
            params![failing_before],
            |r| r.get(0),
        )?;
        let mut alerts = Vec::with_capacity(candidates.len());
        for merchant in candidates {
            self.lock_merchant(merchant)?;
            let raised = self.execute(
                concat!(
                    "UPDATE webhook_endpoints SET alert = 1 WHERE merchant_id = ?2 AND ",
                    failing_unalerted!()
                ),
                params![failing_before, merchant],
            )?;
            if raised == 0 {
                continue;
            }
            let name: String = self.query_one(
                "SELECT name FROM merchants WHERE id = ?1",
                params![merchant],
                |r| r.get(0),
            )?;
            if let Some(health) = self.endpoint_health(merchant)? {
                alerts.push((merchant, name, health));
            }
        }
        Ok(alerts)
    }

    /// Queues every delivery of `merchant` created in `[since, until)` (no upper bound when `until` is
    /// `None`) to be sent again now, whatever its status, with its `webhook-id` and stored body: a replay
    /// after an outage. Each gets one more attempt (a failed one stays failed if that fails too).
    /// Deliveries with an attempt in flight are left alone (they are being sent). Returns how many were
    /// queued.
    pub fn replay_deliveries(
        &self,
        merchant: MerchantId,
        since: Timestamp,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<usize, DbError> {
        self.execute(
            "UPDATE deliveries
             SET status = 'pending', next_attempt_at = ?4, finished_at = NULL, lease_until = NULL
             WHERE merchant_id = ?1 AND created_at >= ?2
               AND (CAST(?3 AS BIGINT) IS NULL OR created_at < ?3)
               AND (lease_until IS NULL OR lease_until <= ?4)",
            params![merchant, since, until, now],
        )
    }
}

impl Conn<'_> {
    /// The next instant after `now` at which a delivery may become claimable without anyone ringing the
    /// worker: a retry falling due, a lease running out, or an open circuit's next probe.
    pub fn next_delivery_wake(&self, now: Timestamp) -> Result<Option<Timestamp>, DbError> {
        self.query_one(
            "SELECT MIN(at) FROM (
                 SELECT MIN(next_attempt_at) AS at FROM deliveries
                 WHERE status = 'pending' AND next_attempt_at > ?1
                 UNION ALL
                 SELECT MIN(lease_until) FROM deliveries
                 WHERE status = 'pending' AND lease_until > ?1
                 UNION ALL
                 SELECT MIN(e.probe_at) FROM webhook_endpoints e
                 WHERE e.circuit = 'open' AND e.probe_at > ?1
                   AND EXISTS (SELECT 1 FROM deliveries d
                               WHERE d.merchant_id = e.merchant_id AND d.status = 'pending')
             ) AS wakes",
            params![now],
            |r| r.get(0),
        )
    }

    /// A merchant's webhook URL (`None`: none set, or no such merchant).
    pub fn webhook_url(&self, merchant: MerchantId) -> Result<Option<String>, DbError> {
        Ok(self
            .query_opt(
                "SELECT webhook_url FROM merchants WHERE id = ?1",
                params![merchant],
                |r| r.get(0),
            )?
            .flatten())
    }

    /// A merchant's endpoint: its breaker (if its state is about the current URL) and its queue.
    pub fn endpoint_status(
        &self,
        merchant: MerchantId,
        now: Timestamp,
    ) -> Result<EndpointStatus, DbError> {
        let current = self.webhook_url(merchant)?;
        let health = self
            .endpoint_health(merchant)?
            .filter(|h| current.as_deref() == Some(h.url.as_str()));
        let (pending, in_flight, next_attempt_at) = self.query_one(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN lease_until > ?2 THEN 1 ELSE 0 END), 0)
                              AS BIGINT),
                    MIN(next_attempt_at)
             FROM deliveries WHERE merchant_id = ?1 AND status = 'pending'",
            params![merchant, now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(EndpointStatus {
            health,
            pending,
            in_flight,
            next_attempt_at,
        })
    }

    /// The stored health of a merchant's webhook endpoint (`None`: never attempted, or reset).
    pub fn endpoint_health(&self, merchant: MerchantId) -> Result<Option<EndpointHealth>, DbError> {
        self.query_opt(
            "SELECT url, circuit, failures, changed_at, probe_at, last_error, last_success_at,
                    failing_since, failed_attempts, alert
             FROM webhook_endpoints WHERE merchant_id = ?1",
            params![merchant],
            |r| {
                Ok(EndpointHealth {
                    url: r.get(0)?,
                    circuit: r.get(1)?,
                    failures: r.get(2)?,
                    changed_at: r.get(3)?,
                    probe_at: r.get(4)?,
                    last_error: r.get(5)?,
                    last_success_at: r.get(6)?,
                    failing_since: r.get(7)?,
                    failed_attempts: r.get(8)?,
                    alert: r.get(9)?,
                })
            },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseConfig;
    use crate::db::Db;
    use webqris_core::wire::{WsEvent, WsWebhookDeliveredData};

    /// A database with merchants 1..=`merchants` (webhook URL `https://m<N>.example/hook`) and, for each
    /// `(merchant, due)` of `deliveries` in order, one paid payment with its delivery.
    async fn outbox(merchants: i64, deliveries: &[(i64, i64)]) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("webqris.db"), &DatabaseConfig::default()).expect("db");
        let deliveries = deliveries.to_vec();
        db.write(move |tx| {
            for m in 1..=merchants {
                tx.execute(
                    "INSERT INTO merchants (id, name, webhook_url, webhook_secret, callback_secret_hash,
                                            callback_secret_prefix, created_at)
                     VALUES (?1, 'M', 'https://m' || ?1 || '.example/hook', 's', 'h' || ?1, 'p', 0)",
                    params![m],
                )?;
            }
            for (n, (merchant, due)) in deliveries.into_iter().enumerate() {
                let n = i64::try_from(n).expect("small");
                tx.execute(
                    "INSERT INTO payments (id, invoice_id, merchant_id, amount, unique_code,
                                           total_amount, qris_payload, status, payment_method,
                                           created_at, expired_at, paid_at, closed_at)
                     VALUES (?1, 'INV-' || ?1, ?2, 1000, ?1, 1000 + ?1, 'q', 'paid', 'x', 0, 1, 0, 0)",
                    params![n + 1, merchant],
                )?;
                tx.insert_delivery(
                    &format!("msg_{n}"),
                    MerchantId(merchant),
                    PaymentId(n + 1),
                    "payment.paid",
                    b"{}",
                    at(due),
                )?;
            }
            Ok::<_, DbError>(())
        })
        .await
        .expect("seeded");
        (dir, db)
    }

    async fn claim(db: &Db, now: i64, per_endpoint: usize, limit: usize) -> Vec<(i64, i64)> {
        db.write(move |tx| {
            tx.claim_due_deliveries(at(now), at(now + 1000), "test", per_endpoint, limit)
        })
        .await
        .expect("claim")
        .into_iter()
        .map(|d| (d.merchant_id.0, d.id.0))
        .collect()
    }

    #[tokio::test]
    async fn claims_go_round_robin_in_due_order_and_never_past_an_endpoints_cap() {
        // Merchant 1 has a backlog of five, due first; merchants 2 and 3 have two each, due later.
        let (_dir, db) = outbox(
            3,
            &[
                (1, 1),
                (1, 2),
                (1, 3),
                (1, 4),
                (1, 5),
                (2, 6),
                (2, 7),
                (3, 8),
                (3, 9),
            ],
        )
        .await;
        assert_eq!(
            claim(&db, 100, 2, 5).await,
            [(1, 1), (2, 6), (3, 8), (1, 2), (2, 7)],
            "every endpoint's first before any second, each in due order"
        );
        assert_eq!(
            claim(&db, 100, 2, 10).await,
            [(3, 9)],
            "1 and 2 are at their cap of two leases"
        );
        assert_eq!(
            claim(&db, 100, 2, 10).await,
            [],
            "nothing more until one ends"
        );
        // The leases run out at 1100: everything due is claimable again, still capped per endpoint.
        assert_eq!(
            claim(&db, 1200, 2, 10).await,
            [(1, 1), (2, 6), (3, 8), (1, 2), (2, 7), (3, 9)]
        );
    }

    #[tokio::test]
    async fn an_open_circuit_lets_one_probe_through_once_it_is_due() {
        let (_dir, db) = outbox(2, &[(1, 1), (1, 2), (1, 3), (2, 4)]).await;
        db.write(|tx| {
            tx.execute(
                "INSERT INTO webhook_endpoints (merchant_id, url, circuit, failures, probe_at)
                 VALUES (1, 'https://m1.example/hook', 'open', 5, 500)",
                params![],
            )?;
            Ok::<_, DbError>(())
        })
        .await
        .expect("open");
        assert_eq!(
            claim(&db, 100, 8, 10).await,
            [(2, 4)],
            "no probe before its time"
        );
        assert_eq!(
            claim(&db, 600, 8, 10).await,
            [(1, 1)],
            "one probe, the oldest"
        );
        assert_eq!(claim(&db, 700, 8, 10).await, [], "one probe at a time");
        // A circuit about another URL (the merchant changed it since) does not hold the new one back.
        db.write(|tx| {
            tx.execute(
                "UPDATE merchants SET webhook_url = 'https://new.example/hook' WHERE id = 1",
                params![],
            )?;
            Ok::<_, DbError>(())
        })
        .await
        .expect("new url");
        assert_eq!(claim(&db, 700, 8, 10).await, [(1, 2), (1, 3)]);
    }

    /// A fresh database: on the test PostgreSQL server in the PostgreSQL pass, else a SQLite file.
    fn fresh(name: &'static str) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("tempdir");
        // The PostgreSQL client blocks: outside the test's runtime.
        let url = std::thread::spawn(move || crate::db::postgres::fresh_test_database(name))
            .join()
            .expect("no panic");
        let target = url.map_or_else(|| dir.path().join("webqris.db"), std::path::PathBuf::from);
        let db = Db::open(&target, &DatabaseConfig::default()).expect("db");
        (dir, db)
    }

    /// Merchant 1 (webhook URL `https://shop.example/hook`) with `count` paid payments, each with its
    /// delivery, all claimed at 100 by `owner` with leases until `lease_until`.
    async fn claimed_backlog(
        db: &Db,
        count: i64,
        owner: &'static str,
        lease_until: i64,
    ) -> Vec<ClaimedDelivery> {
        db.write(move |tx| {
            tx.execute(
                "INSERT INTO merchants (id, name, webhook_url, webhook_secret, callback_secret_hash,
                                        callback_secret_prefix, created_at)
                 VALUES (1, 'Toko', 'https://shop.example/hook', 's', 'h', 'p', 0)",
                params![],
            )?;
            for n in 1..=count {
                tx.execute(
                    "INSERT INTO payments (id, invoice_id, merchant_id, amount, unique_code,
                                           total_amount, qris_payload, status, payment_method,
                                           created_at, expired_at, paid_at, closed_at)
                     VALUES (?1, CAST(?2 AS TEXT), 1, 1000, ?1, ?3, 'q', 'paid', 'x', 0, 1, 0, 0)",
                    params![n, format!("INV-{n}"), 1000 + n],
                )?;
                tx.insert_delivery(
                    &format!("msg_{n}"),
                    MerchantId(1),
                    PaymentId(n),
                    "payment.paid",
                    b"{}",
                    at(n),
                )?;
            }
            tx.claim_due_deliveries(at(100), at(lease_until), owner, 8, 8)
        })
        .await
        .expect("claimed")
    }

    #[tokio::test]
    async fn attempts_recorded_together_feed_the_breaker_in_order_and_write_each_outcome() {
        let (_dir, db) = fresh("record_attempts");
        let url = "https://shop.example/hook";
        let claimed = claimed_backlog(&db, 5, "test", 60_000).await;
        assert_eq!(claimed.len(), 5);
        // Three unreachable (the third opens the circuit), a 500 with a NUL in its body, then a 2xx
        // (closes it), recorded in one write.
        let outcomes = [
            (
                Reach::Unreachable,
                NextStep::RetryAt(at(5_000)),
                None,
                Some("refused"),
            ),
            (
                Reach::Unreachable,
                NextStep::RetryAt(at(5_000)),
                None,
                Some("timed out"),
            ),
            (
                Reach::Unreachable,
                NextStep::RetryAt(at(5_000)),
                None,
                Some("timed out"),
            ),
            (
                Reach::Answered,
                NextStep::Failed,
                Some(500),
                Some("HTTP 500"),
            ),
            (Reach::Answered, NextStep::Delivered, Some(200), None),
        ];
        let attempts: Vec<FinishedAttempt> = claimed
            .iter()
            .zip(outcomes)
            .zip(1_i64..)
            .map(|((d, (reach, next, status, error)), n)| FinishedAttempt {
                merchant: d.merchant_id,
                record: AttemptRecord {
                    delivery: d.id,
                    attempt: d.attempt,
                    url: url.to_owned(),
                    started_at: at(100 + n),
                    duration_ms: 1,
                    status_code: status,
                    error: error.map(str::to_owned),
                    response_body: Some(format!("body\0{n}")),
                },
                next,
                reach,
                now: at(200 + n),
            })
            .collect();
        let changes = db
            .write(move |tx| tx.record_attempts(&attempts, BREAKER))
            .await
            .expect("recorded");
        let circuits: Vec<Option<(Circuit, bool)>> = changes
            .iter()
            .map(|c| c.as_ref().map(|c| (c.health.circuit, c.circuit_changed)))
            .collect();
        assert_eq!(
            circuits,
            [
                None,
                None,
                Some((Circuit::Open, true)),
                Some((Circuit::Closed, true)),
                None
            ],
            "the third opens the circuit, the answered 500 closes it, the 2xx changes nothing more"
        );
        let ids: Vec<DeliveryId> = claimed.iter().map(|d| d.id).collect();
        let (health, states, bodies) = db
            .read(move |c| {
                let health = c.endpoint_health(MerchantId(1))?.expect("stored");
                let mut states = Vec::new();
                let mut bodies = Vec::new();
                for id in &ids {
                    states.push(c.query_one(
                        "SELECT status, lease_until IS NULL FROM deliveries WHERE id = ?1",
                        params![id],
                        |r| Ok((r.get::<String>(0)?, r.get::<bool>(1)?)),
                    )?);
                    let attempts = c.delivery_attempts(*id)?;
                    bodies.push(
                        attempts
                            .into_iter()
                            .map(|a| a.response_body)
                            .collect::<Vec<_>>(),
                    );
                }
                Ok::<_, DbError>((health, states, bodies))
            })
            .await
            .expect("read");
        assert_eq!(
            (health.circuit, health.failures, health.failed_attempts),
            (Circuit::Closed, 0, 0),
            "the last attempt's state is the one stored"
        );
        assert_eq!(health.last_success_at, Some(at(205)));
        assert_eq!(health.changed_at, Some(at(204)));
        let states: Vec<(&str, bool)> = states.iter().map(|(s, l)| (s.as_str(), *l)).collect();
        assert_eq!(
            states,
            [
                ("pending", true),
                ("pending", true),
                ("pending", true),
                ("failed", true),
                ("delivered", true)
            ],
            "each delivery moved on and its lease released"
        );
        for (n, body) in (1..).zip(&bodies) {
            let [Some(body)] = body.as_slice() else {
                panic!("one attempt with a body for delivery {n}: {body:?}");
            };
            // PostgreSQL text cannot hold NUL: it is stored as U+FFFD there.
            assert_eq!(body.replace('\u{FFFD}', "\0"), format!("body\0{n}"));
        }
    }

    #[tokio::test]
    async fn a_renewal_renews_only_the_leases_asked_for_and_only_for_their_attempt() {
        let (_dir, db) = fresh("renew_leases");
        let claimed = claimed_backlog(&db, 3, "worker-a", 1_000).await;
        let [a, b, c] = claimed.as_slice() else {
            panic!("three claimed: {claimed:?}");
        };
        let asked = [
            HeldLease {
                delivery: a.id,
                attempt: a.attempt,
            },
            // A stale attempt number: the lease is not this attempt's any more.
            HeldLease {
                delivery: b.id,
                attempt: b.attempt + 1,
            },
        ];
        // `c` is not asked for: its attempt is no longer in flight here (its record was lost).
        let renewed = db
            .write(move |tx| tx.renew_leases("worker-a", &asked, at(5_000), at(2_000)))
            .await
            .expect("renewed");
        assert_eq!(
            renewed,
            [HeldLease {
                delivery: a.id,
                attempt: a.attempt
            }]
        );
        let ids = [a.id, b.id, c.id];
        let leases = db
            .read(move |conn| {
                ids.iter()
                    .map(|id| {
                        conn.query_one(
                            "SELECT lease_until FROM deliveries WHERE id = ?1",
                            params![id],
                            |r| r.get::<Option<Timestamp>>(0),
                        )
                    })
                    .collect::<Result<Vec<_>, DbError>>()
            })
            .await
            .expect("read");
        assert_eq!(leases, [Some(at(5_000)), Some(at(1_000)), Some(at(1_000))]);
        let other = db
            .write(move |tx| tx.renew_leases("worker-b", &[asked[0]], at(9_000), at(6_000)))
            .await
            .expect("renewed");
        assert!(
            other.is_empty(),
            "another worker's lease is not renewed: {other:?}"
        );
    }

    #[tokio::test]
    async fn events_recorded_together_take_consecutive_cursors_in_their_order() {
        let (_dir, db) = fresh("record_events");
        let events: Vec<WsEvent> = (1..=3)
            .map(|n| {
                WsEvent::WebhookDelivered(WsWebhookDeliveredData {
                    invoice_id: format!("INV-{n}"),
                    webhook_id: format!("msg_{n}"),
                    merchant_name: "Toko \"Ü\" \0".to_owned(),
                    attempt: n,
                    status_code: 200,
                })
            })
            .collect();
        let sent = events.clone();
        db.write(move |tx| {
            tx.execute(
                "INSERT INTO merchants (id, name, webhook_secret, callback_secret_hash,
                                        callback_secret_prefix, created_at)
                 VALUES (1, 'Toko', 's', 'h', 'p', 0)",
                params![],
            )?;
            tx.record_event(MerchantId(1), &sent[0], at(1))?;
            let rest: Vec<(&WsEvent, Timestamp)> = sent[1..].iter().zip([at(2), at(3)]).collect();
            tx.record_events(MerchantId(1), &rest)
        })
        .await
        .expect("recorded");
        let stored = db
            .read(|c| c.events_after(MerchantId(1), 0, 10))
            .await
            .expect("read");
        let got: Vec<(i64, &WsEvent, i64)> =
            stored.iter().map(|e| (e.seq, &e.event, e.ts)).collect();
        let want: Vec<(i64, &WsEvent, i64)> = (1..).zip(&events).map(|(n, e)| (n, e, n)).collect();
        assert_eq!(got, want);
        let missing = db
            .write(move |tx| {
                let event = &events[0];
                tx.record_events(MerchantId(99), &[(event, at(4)), (event, at(5))])
            })
            .await;
        assert!(missing.is_err(), "no merchant, no events: {missing:?}");
    }

    const BREAKER: Breaker = Breaker {
        threshold: 3,
        probe_interval: Duration::from_secs(5),
    };

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn the_circuit_opens_on_the_threshold_th_unreachable_attempt_in_a_row_and_probes_from_then_on()
    {
        let mut h = EndpointHealth::fresh("https://shop.example/hook");
        for n in 1..=2 {
            h = h.after(
                Reach::Unreachable,
                false,
                Some("connection refused"),
                at(n),
                BREAKER,
            );
            assert_eq!((h.circuit, h.failures), (Circuit::Closed, n));
        }
        let opened = h.after(
            Reach::Unreachable,
            false,
            Some("timed out"),
            at(10),
            BREAKER,
        );
        assert_eq!(opened.circuit, Circuit::Open);
        assert_eq!(opened.changed_at, Some(at(10)));
        assert_eq!(opened.probe_at, Some(at(5010)));
        assert_eq!(opened.last_error.as_deref(), Some("timed out"));
        let failed_probe = opened.after(
            Reach::Unreachable,
            false,
            Some("timed out"),
            at(9000),
            BREAKER,
        );
        assert_eq!(failed_probe.circuit, Circuit::Open);
        assert_eq!(
            failed_probe.changed_at,
            Some(at(10)),
            "still the same opening"
        );
        assert_eq!(
            failed_probe.probe_at,
            Some(at(14000)),
            "next probe after a pause"
        );
        let closed = failed_probe.after(Reach::Answered, true, None, at(15000), BREAKER);
        assert_eq!((closed.circuit, closed.failures), (Circuit::Closed, 0));
        assert_eq!(closed.changed_at, Some(at(15000)));
        assert_eq!(closed.probe_at, None);
    }

    #[test]
    fn an_endpoint_is_failing_from_its_first_failed_attempt_until_a_2xx_whatever_the_failure() {
        let h = EndpointHealth::fresh("https://shop.example/hook")
            .after(Reach::Answered, false, Some("HTTP 500"), at(1), BREAKER)
            .after(Reach::Unreachable, false, Some("refused"), at(2), BREAKER);
        assert_eq!(h.failing_since, Some(at(1)), "from the first failure");
        assert_eq!(h.failed_attempts, 2, "HTTP errors count too");
        assert_eq!(
            h.failures, 1,
            "but only the unreachable one feeds the breaker"
        );
        assert_eq!(h.last_error.as_deref(), Some("refused"));
        let alerted = EndpointHealth { alert: true, ..h };
        let ok = alerted.after(Reach::Answered, true, None, at(3), BREAKER);
        assert_eq!(
            (
                ok.failing_since,
                ok.failed_attempts,
                ok.alert,
                ok.last_success_at
            ),
            (None, 0, false, Some(at(3))),
            "a 2xx ends it and clears the alert"
        );
    }

    #[test]
    fn an_answer_resets_the_count_and_attempts_that_reached_nothing_change_nothing() {
        let h = EndpointHealth::fresh("https://shop.example/hook")
            .after(Reach::Unreachable, false, Some("refused"), at(1), BREAKER)
            .after(Reach::Unreachable, false, Some("refused"), at(2), BREAKER);
        assert_eq!(
            h.after(Reach::NotTried, false, Some("no URL"), at(3), BREAKER),
            h
        );
        let answered = h.after(Reach::Answered, true, None, at(4), BREAKER);
        assert_eq!((answered.circuit, answered.failures), (Circuit::Closed, 0));
        assert_eq!(answered.changed_at, None, "it never opened");
        let again = answered.after(Reach::Unreachable, false, Some("refused"), at(5), BREAKER);
        assert_eq!(again.failures, 1, "counted afresh: in a row means in a row");
    }
}
