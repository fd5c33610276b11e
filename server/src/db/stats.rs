//! What operators measure in the database: the webhook outbox and the forwarder devices as `/metrics`
//! shows them, the row counts a backup reports, and the readiness probe's write.

use std::time::Duration;

use webqris_core::Timestamp;
use webqris_core::wire::DeviceAlert;

use super::sql::{Dialect, params};
use super::{Conn, DbError, Tx};

/// The webhook outbox at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxStats {
    /// Deliveries neither delivered nor failed yet.
    pub pending: i64,
    /// Of those, due now and not being attempted (waiting for a worker).
    pub due: i64,
    /// Of those, being attempted now (leased).
    pub in_flight: i64,
    /// How long the longest-waiting due delivery (not being attempted) has been due.
    pub oldest_due_age: Option<Duration>,
    /// Webhook endpoints (merchants' current webhook URLs) whose "failing for
    /// `webhook.failing_alert_secs`" alert is raised.
    pub endpoints_failing: i64,
}

/// The forwarder devices at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStats {
    /// Every device of every merchant.
    pub total: i64,
    /// Not heard from since the silence cutoff.
    pub silent: i64,
    /// Devices per alert last announced (`silent`, `cannot_deliver`, `no_notification_access`).
    pub alerting: Vec<(&'static str, i64)>,
}

/// What `/metrics` reads from the database at each scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsSnapshot {
    /// The webhook outbox.
    pub outbox: OutboxStats,
    /// The forwarder devices.
    pub devices: DeviceStats,
}

/// Rows per table of a database (what a backup holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RowCounts {
    /// Merchants.
    pub merchants: i64,
    /// Invoices.
    pub payments: i64,
    /// Notifications received.
    pub notifications: i64,
    /// Webhook deliveries.
    pub deliveries: i64,
    /// Dashboard accounts.
    pub accounts: i64,
}

impl Conn<'_> {
    /// The outbox and the devices as of `now`; devices last seen before `silent_before` are silent.
    pub fn ops_snapshot(
        &self,
        now: Timestamp,
        silent_before: Timestamp,
    ) -> Result<OpsSnapshot, DbError> {
        let endpoints_failing = self.query_one(
            "SELECT COUNT(*) FROM webhook_endpoints e JOIN merchants m ON m.id = e.merchant_id
             WHERE e.alert = 1 AND e.url = m.webhook_url",
            params![],
            |r| r.get(0),
        )?;
        let outbox = self.query_one(
            "SELECT COUNT(*),
                    CAST(COALESCE(SUM(CASE WHEN next_attempt_at <= ?1
                                            AND (lease_until IS NULL OR lease_until <= ?1)
                                           THEN 1 ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(SUM(CASE WHEN lease_until > ?1 THEN 1 ELSE 0 END), 0) AS BIGINT),
                    MIN(CASE WHEN next_attempt_at <= ?1
                                  AND (lease_until IS NULL OR lease_until <= ?1)
                             THEN next_attempt_at END)
             FROM deliveries WHERE status = 'pending'",
            params![now],
            |r| {
                let oldest: Option<Timestamp> = r.get(3)?;
                Ok(OutboxStats {
                    pending: r.get(0)?,
                    due: r.get(1)?,
                    in_flight: r.get(2)?,
                    oldest_due_age: oldest.map(|due| {
                        let waited = now.as_millis().saturating_sub(due.as_millis());
                        Duration::from_millis(u64::try_from(waited).unwrap_or(0))
                    }),
                    endpoints_failing,
                })
            },
        )?;
        let (total, silent) = self.query_one(
            "SELECT COUNT(*),
                    CAST(COALESCE(SUM(CASE WHEN last_seen_at < ?1 THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM devices",
            params![silent_before],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let alerting = self
            .query_all(
                "SELECT alert, COUNT(*) FROM devices WHERE alert IS NOT NULL
                 GROUP BY alert ORDER BY alert",
                params![],
                |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
            )?
            .into_iter()
            // The CHECK constraint admits only the spellings `DeviceAlert::parse` reads.
            .filter_map(|(alert, count)| DeviceAlert::parse(&alert).map(|a| (a.as_str(), count)))
            .collect();
        Ok(OpsSnapshot {
            outbox,
            devices: DeviceStats {
                total,
                silent,
                alerting,
            },
        })
    }

    /// When the probe `probe` last committed its write (`None`: never).
    pub fn last_probe(&self, probe: &str) -> Result<Option<Timestamp>, DbError> {
        self.query_opt(
            "SELECT probed_at FROM probes WHERE name = ?1",
            params![probe],
            |r| r.get(0),
        )
    }

    /// How many rows the main tables hold.
    pub fn row_counts(&self) -> Result<RowCounts, DbError> {
        self.query_one(
            "SELECT (SELECT COUNT(*) FROM merchants), (SELECT COUNT(*) FROM payments),
                    (SELECT COUNT(*) FROM notifications), (SELECT COUNT(*) FROM deliveries),
                    (SELECT COUNT(*) FROM accounts)",
            params![],
            |r| {
                Ok(RowCounts {
                    merchants: r.get(0)?,
                    payments: r.get(1)?,
                    notifications: r.get(2)?,
                    deliveries: r.get(3)?,
                    accounts: r.get(4)?,
                })
            },
        )
    }
}

impl Tx<'_> {
    /// The readiness probe's write: records when `probe` last committed. On PostgreSQL its statements
    /// give up after `within`, so that a probe stuck behind a lock frees its pooled connection instead of
    /// holding it after the probe stopped waiting (on SQLite the busy timeout bounds the wait).
    pub fn record_probe(
        &self,
        probe: &str,
        now: Timestamp,
        within: Duration,
    ) -> Result<(), DbError> {
        match self.dialect() {
            Dialect::Sqlite => {}
            Dialect::Postgres => {
                let millis = within.as_millis().max(1).to_string();
                self.query_opt(
                    "SELECT set_config('statement_timeout', ?1, true)",
                    params![millis],
                    |_| Ok(()),
                )?;
            }
        }
        self.execute(
            "INSERT INTO probes (name, probed_at) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET probed_at = excluded.probed_at",
            params![probe, now],
        )?;
        Ok(())
    }
}
