//! Retention: deletes old rows in small batches (each its own short transaction on the single writer, so
//! pruning never holds up the money path). What is deleted, and what is kept, is decided here so that
//! no foreign key is left dangling.

use webqris_core::Timestamp;

use super::sql::params;
use super::{DbError, Tx};

/// A kind of row that retention removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prunable {
    /// Notifications received before the cutoff (with their payment rows), except those a manual
    /// confirmation refers to (the record of a reconciliation is kept).
    Notifications,
    /// Duplicate keys last counted before the cutoff.
    SeenKeys,
    /// Attempts of finished (delivered or failed) deliveries, made before the cutoff.
    DeliveryAttempts,
    /// Paid or expired invoices closed before the cutoff, with their deliveries and confirmations.
    FinishedInvoices,
    /// Stored events that happened before the cutoff (a merchant's cursor, in `event_cursors`, stays).
    Events,
}

impl Tx<'_> {
    /// Deletes up to `batch` rows of `what` older than `cutoff`; returns how many were deleted.
    pub fn prune(&self, what: Prunable, cutoff: Timestamp, batch: usize) -> Result<usize, DbError> {
        let run = |sql: &'static str| self.execute(sql, params![cutoff, batch]);
        match what {
            Prunable::Notifications => {
                self.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS prune_ids (id INTEGER PRIMARY KEY)",
                    params![],
                )?;
                self.execute("DELETE FROM prune_ids", params![])?;
                run("INSERT INTO prune_ids (id)
                     SELECT n.id FROM notifications n
                     WHERE n.received_at < ?1
                       AND NOT EXISTS (SELECT 1 FROM manual_confirmations c WHERE c.notification_id = n.id)
                     ORDER BY n.id LIMIT ?2")?;
                for sql in [
                    "UPDATE seen SET notification_id = NULL WHERE notification_id IN (SELECT id FROM prune_ids)",
                    "DELETE FROM notification_payments WHERE notification_id IN (SELECT id FROM prune_ids)",
                ] {
                    self.execute(sql, params![])?;
                }
                self.execute(
                    "DELETE FROM notifications WHERE id IN (SELECT id FROM prune_ids)",
                    params![],
                )
            }
            Prunable::Events => run("DELETE FROM events WHERE (merchant_id, seq) IN
                     (SELECT merchant_id, seq FROM events WHERE ts < ?1 LIMIT ?2)"),
            // `seen` is WITHOUT ROWID: rows are picked by their key.
            Prunable::SeenKeys => run("DELETE FROM seen WHERE (merchant_id, kind, key) IN
                     (SELECT merchant_id, kind, key FROM seen WHERE seen_at < ?1 LIMIT ?2)"),
            Prunable::DeliveryAttempts => run("DELETE FROM delivery_attempts WHERE id IN
                     (SELECT a.id FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
                      WHERE d.status <> 'pending' AND a.started_at < ?1 LIMIT ?2)"),
            Prunable::FinishedInvoices => {
                self.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS prune_payments (id INTEGER PRIMARY KEY)",
                    params![],
                )?;
                self.execute("DELETE FROM prune_payments", params![])?;
                run("INSERT INTO prune_payments (id)
                     SELECT p.id FROM payments p
                     WHERE p.status <> 'pending' AND p.closed_at < ?1
                       AND NOT EXISTS (SELECT 1 FROM deliveries d
                                       WHERE d.payment_id = p.id AND d.status = 'pending')
                     ORDER BY p.id LIMIT ?2")?;
                for sql in [
                    "DELETE FROM delivery_attempts WHERE delivery_id IN
                         (SELECT id FROM deliveries WHERE payment_id IN (SELECT id FROM prune_payments))",
                    "DELETE FROM deliveries WHERE payment_id IN (SELECT id FROM prune_payments)",
                    "DELETE FROM manual_confirmations WHERE payment_id IN (SELECT id FROM prune_payments)",
                    "UPDATE notification_payments SET payment_id = NULL
                         WHERE payment_id IN (SELECT id FROM prune_payments)",
                    "UPDATE notifications SET payment_id = NULL
                         WHERE payment_id IN (SELECT id FROM prune_payments)",
                ] {
                    self.execute(sql, params![])?;
                }
                self.execute(
                    "DELETE FROM payments WHERE id IN (SELECT id FROM prune_payments)",
                    params![],
                )
            }
        }
    }
}
