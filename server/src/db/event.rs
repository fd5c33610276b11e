//! The durable event log: every live event (`new_payment`, `payment_paid`, `payments_expired`,
//! `webhook_delivered`, `webhook_failed`, `webhook_alert`, `device_alert`) is stored in the same transaction as the change
//! it reports, per merchant with a gapless cursor (`seq`: 1, 2, 3…). It is what other nodes relay to
//! their sockets (woken by `LISTEN/NOTIFY` on PostgreSQL) and what an integrators' feed reads.
//!
//! A merchant's cursor is taken from `event_cursors` by an upsert, which holds the merchant's cursor row
//! until the transaction ends: one merchant's events therefore commit in cursor order on every backend,
//! and a reader that sees `seq` n has seen every event of that merchant before it. (A global id would
//! not give that on PostgreSQL: ids are handed out before commit, so a smaller one can become visible
//! after a larger one.)

use webqris_core::Timestamp;
use webqris_core::wire::{PaymentStatus, WsEvent, WsPaymentData};

use super::sql::{Dialect, params};
use super::{Conn, DbError, MerchantId, PaymentRow, Tx};

/// The upsert that hands out the next `$n` cursors of merchant `?1` (its first event makes its row); the
/// row stays locked until the transaction ends. `RETURNING seq` gives the newest.
macro_rules! take_cursors {
    ($n:literal) => {
        concat!(
            "INSERT INTO event_cursors (merchant_id, seq) VALUES (?1, ",
            $n,
            ") ON CONFLICT (merchant_id) DO UPDATE SET seq = event_cursors.seq + ",
            $n
        )
    };
}

/// The `LISTEN/NOTIFY` channel on PostgreSQL; the payload is `<merchant id> <origin>`.
pub(super) const CHANNEL: &str = "webqris_events";

/// The `data` of `new_payment` / `payment_paid` for a payment.
pub fn payment_data(
    payment: &PaymentRow,
    merchant_name: &str,
    status: PaymentStatus,
) -> WsPaymentData {
    WsPaymentData {
        id: payment.id.0,
        invoice_id: payment.invoice_id.clone(),
        amount: payment.amount,
        total_amount: payment.total_amount,
        unique_code: payment.unique_code,
        merchant_name: merchant_name.to_owned(),
        sender_name: payment.sender_name.clone(),
        status,
        test: payment.test,
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its merchant.
    pub merchant_id: MerchantId,
    /// The merchant's cursor: 1 for its first event, then 2, 3…
    pub seq: i64,
    /// The event with its data, as the merchant's socket receives it.
    pub event: WsEvent,
    /// When it happened (epoch milliseconds).
    pub ts: i64,
    /// The node that wrote it ([`Conn::origin`]).
    pub origin: String,
}

impl Tx<'_> {
    /// Stores `event` for `merchant`, as of `now`, and returns its cursor. On PostgreSQL it also wakes
    /// every node's relay when the transaction commits.
    pub fn record_event(
        &self,
        merchant: MerchantId,
        event: &WsEvent,
        now: Timestamp,
    ) -> Result<i64, DbError> {
        let (name, data) = stored_parts(event);
        let origin = self.origin();
        match self.dialect() {
            Dialect::Sqlite => {
                let seq: i64 = self.query_one(
                    concat!(take_cursors!("1"), " RETURNING seq"),
                    params![merchant],
                    |r| r.get(0),
                )?;
                self.execute(
                    "INSERT INTO events (merchant_id, seq, event, data, ts, origin)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![merchant, seq, name, data, now, origin],
                )?;
                Ok(seq)
            }
            // One round trip: the cursor, the row and the wake-up (sent when the transaction commits;
            // the payload says whose it is, so the writing node does not read back its own events).
            Dialect::Postgres => self.query_one(
                concat!(
                    "WITH cursor AS (",
                    take_cursors!("1"),
                    " RETURNING seq AS event_seq
                 ),
                 stored AS (
                     INSERT INTO events (merchant_id, seq, event, data, ts, origin)
                     SELECT ?1, event_seq, ?2, ?3, ?4, ?5 FROM cursor
                     RETURNING seq
                 )
                 SELECT seq, CAST(pg_notify(?6, CAST(?1 AS TEXT) || ' ' || ?5) AS TEXT) FROM stored"
                ),
                params![merchant, name, data, now, origin, CHANNEL],
                |r| r.get(0),
            ),
        }
    }

    /// [`Tx::record_event`] for each of `events` of `merchant`, in their order, each as of its instant.
    /// On PostgreSQL in one round trip: a webhook round records an event for each of its attempts.
    pub fn record_events(
        &self,
        merchant: MerchantId,
        events: &[(&WsEvent, Timestamp)],
    ) -> Result<(), DbError> {
        if self.dialect() == Dialect::Sqlite || events.len() < 2 {
            for (event, now) in events {
                self.record_event(merchant, event, *now)?;
            }
            return Ok(());
        }
        let rows: Vec<serde_json::Value> = events
            .iter()
            .zip(1_i64..)
            .map(|((event, now), i)| {
                let (name, data) = stored_parts(event);
                serde_json::json!({"i": i, "event": name, "data": data, "ts": now.as_millis()})
            })
            .collect();
        let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
        self.query_one(
            concat!(
                "WITH cursor AS (",
                take_cursors!("?2"),
                " RETURNING seq AS event_seq
             ),
             stored AS (
                 INSERT INTO events (merchant_id, seq, event, data, ts, origin)
                 SELECT ?1, cursor.event_seq - ?2 + e.i, e.event, e.data, e.ts, ?4
                 FROM cursor,
                      jsonb_to_recordset(CAST(CAST(?3 AS TEXT) AS JSONB))
                          AS e(i BIGINT, event TEXT, data TEXT, ts BIGINT)
                 RETURNING seq
             )
             -- No row (an error, as for one event) when the merchant is not there.
             SELECT CAST(COUNT(*) AS BIGINT), CAST(pg_notify(?5, CAST(?1 AS TEXT) || ' ' || ?4) AS TEXT)
             FROM stored HAVING COUNT(*) > 0"
            ),
            params![
                merchant,
                count,
                serde_json::Value::Array(rows).to_string(),
                self.origin(),
                CHANNEL
            ],
            |r| r.get::<i64>(0),
        )
        .map(drop)
    }
}

/// An event as the log stores it: its name and its data as JSON text.
fn stored_parts(event: &WsEvent) -> (&'static str, String) {
    (event.name(), event.data_json())
}

impl Conn<'_> {
    /// Every merchant's newest cursor (merchants without events are absent).
    pub fn event_heads(&self) -> Result<Vec<(MerchantId, i64)>, DbError> {
        self.query_all(
            "SELECT merchant_id, seq FROM event_cursors ORDER BY merchant_id",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Up to `limit` events of `merchant` after cursor `after`, in cursor order.
    pub fn events_after(
        &self,
        merchant: MerchantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, DbError> {
        self.query_all(
            "SELECT seq, event, data, ts, origin FROM events
             WHERE merchant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            params![merchant, after, limit],
            |r| {
                let (name, data): (String, String) = (r.get(1)?, r.get(2)?);
                let event = serde_json::from_str(&data)
                    .ok()
                    .and_then(|data: serde_json::Value| {
                        serde_json::from_value(serde_json::json!({"event": name, "data": data}))
                            .ok()
                    })
                    .ok_or_else(|| DbError::Corrupt {
                        column: "events.data".to_owned(),
                        value: format!("'{name}' {data}"),
                    })?;
                Ok(StoredEvent {
                    merchant_id: merchant,
                    seq: r.get(0)?,
                    event,
                    ts: r.get(3)?,
                    origin: r.get(4)?,
                })
            },
        )
    }
}

/// What woke the relay: merchants with new events, or a rescan of every merchant's cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// Compare every merchant's cursor ([`Conn::event_heads`]) with what was relayed.
    Rescan,
    /// These merchants have new events.
    Merchants(Vec<MerchantId>),
}

/// Wake-ups from the database for the relay, coalesced: however many notifications arrive while the
/// relay is busy, it takes them as one set (its memory is bounded by the number of merchants).
#[derive(Debug, Default)]
pub struct EventWakes {
    pending: std::sync::Mutex<(bool, std::collections::BTreeSet<MerchantId>)>,
    bell: tokio::sync::Notify,
}

impl EventWakes {
    pub(super) fn merchant(&self, merchant: MerchantId) {
        self.lock().1.insert(merchant);
        self.bell.notify_one();
    }

    pub(super) fn rescan(&self) {
        self.lock().0 = true;
        self.bell.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (bool, std::collections::BTreeSet<MerchantId>)> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next wake-up (a rescan takes precedence over the merchants gathered with it).
    pub async fn next(&self) -> Wake {
        loop {
            {
                let mut pending = self.lock();
                if std::mem::take(&mut pending.0) {
                    pending.1.clear();
                    return Wake::Rescan;
                }
                if !pending.1.is_empty() {
                    return Wake::Merchants(std::mem::take(&mut pending.1).into_iter().collect());
                }
            }
            self.bell.notified().await;
        }
    }
}

/// What a merchant's event log holds: the newest cursor handed out (0 before the first event) and the
/// oldest event still kept (`None` when retention deleted them all, or there never was one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBounds {
    /// The newest cursor.
    pub newest: i64,
    /// The oldest cursor still stored.
    pub oldest: Option<i64>,
}

impl Conn<'_> {
    /// `merchant`'s [`EventBounds`] (all zero for an unknown merchant, which has no events).
    pub fn event_bounds(&self, merchant: MerchantId) -> Result<EventBounds, DbError> {
        Ok(self
            .query_opt(
                "SELECT COALESCE((SELECT c.seq FROM event_cursors c WHERE c.merchant_id = m.id), 0),
                        (SELECT MIN(e.seq) FROM events e WHERE e.merchant_id = m.id)
                 FROM merchants m WHERE m.id = ?1",
                params![merchant],
                |r| {
                    Ok(EventBounds {
                        newest: r.get(0)?,
                        oldest: r.get(1)?,
                    })
                },
            )?
            .unwrap_or(EventBounds {
                newest: 0,
                oldest: None,
            }))
    }
}
