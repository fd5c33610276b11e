//! Retention: deletes old rows in small batches (each its own short transaction on the single writer, so
//! pruning never holds up the money path). What is deleted, and what is kept, is decided here so that
//! no foreign key is left dangling.

#[cfg(test)]
use rusqlite::OptionalExtension;
use rusqlite::params;
use webqris_core::Timestamp;

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
}

impl Tx<'_> {
    /// Deletes up to `batch` rows of `what` older than `cutoff`; returns how many were deleted.
    pub fn prune(&self, what: Prunable, cutoff: Timestamp, batch: usize) -> Result<usize, DbError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        let run = |sql: &str| -> Result<usize, DbError> {
            Ok(self
                .sql()
                .prepare_cached(sql)?
                .execute(params![cutoff.as_millis(), batch])?)
        };
        match what {
            Prunable::Notifications => {
                self.sql().execute_batch(
                    "CREATE TEMP TABLE IF NOT EXISTS prune_ids (id INTEGER PRIMARY KEY);
                     DELETE FROM prune_ids;",
                )?;
                run("INSERT INTO prune_ids (id)
                     SELECT n.id FROM notifications n
                     WHERE n.received_at < ?1
                       AND NOT EXISTS (SELECT 1 FROM manual_confirmations c WHERE c.notification_id = n.id)
                     ORDER BY n.id LIMIT ?2")?;
                for sql in [
                    "UPDATE seen SET notification_id = NULL WHERE notification_id IN (SELECT id FROM prune_ids)",
                    "DELETE FROM notification_payments WHERE notification_id IN (SELECT id FROM prune_ids)",
                ] {
                    self.sql().execute(sql, [])?;
                }
                Ok(self.sql().execute(
                    "DELETE FROM notifications WHERE id IN (SELECT id FROM prune_ids)",
                    [],
                )?)
            }
            // `seen` is WITHOUT ROWID: rows are picked by their key.
            Prunable::SeenKeys => run("DELETE FROM seen WHERE (merchant_id, kind, key) IN
                     (SELECT merchant_id, kind, key FROM seen WHERE seen_at < ?1 LIMIT ?2)"),
            Prunable::DeliveryAttempts => run("DELETE FROM delivery_attempts WHERE id IN
                     (SELECT a.id FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
                      WHERE d.status <> 'pending' AND a.started_at < ?1 LIMIT ?2)"),
            Prunable::FinishedInvoices => {
                self.sql().execute_batch(
                    "CREATE TEMP TABLE IF NOT EXISTS prune_payments (id INTEGER PRIMARY KEY);
                     DELETE FROM prune_payments;",
                )?;
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
                    self.sql().execute(sql, [])?;
                }
                Ok(self.sql().execute(
                    "DELETE FROM payments WHERE id IN (SELECT id FROM prune_payments)",
                    [],
                )?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::db::schema;
    use crate::db::{Conn, Tx};

    #[test]
    fn old_rows_go_in_batches_and_nothing_is_left_dangling() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "foreign_keys", true).expect("fk");
        schema::migrate(&mut conn).expect("schema");
        conn.execute_batch(
            "INSERT INTO merchants (id, name, webhook_secret, callback_secret_hash,
                                    callback_secret_prefix, created_at)
             VALUES (1, 'A', 's', 'h', 'p', 0);
             INSERT INTO payments (id, invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, status, payment_method, created_at, expired_at,
                                   paid_at, closed_at)
             VALUES (1, 'INV-old', 1, 1000, 1, 1001, 'q', 'paid', 'manual', 0, 10, 10, 10),
                    (2, 'INV-new', 1, 1000, 2, 1002, 'q', 'paid', 'manual', 0, 10, 900, 900);
             INSERT INTO notifications (id, merchant_id, source, received_at, outcome, payment_id)
             VALUES (1, 1, 'forwarder', 5, 'paid', 1), (2, 1, 'forwarder', 6, 'no_match', NULL),
                    (3, 1, 'forwarder', 7, 'late', NULL), (4, 1, 'forwarder', 950, 'paid', 2);
             INSERT INTO notification_payments (notification_id, position, amount, outcome, payment_id)
             VALUES (1, 0, 1001, 'paid', 1);
             INSERT INTO seen (merchant_id, kind, key, seen_at, notification_id)
             VALUES (1, 'content', 'old', 5, 1), (1, 'content', 'new', 950, 4);
             INSERT INTO manual_confirmations (payment_id, reason, notification_id, confirmed_at)
             VALUES (2, 'kept', 3, 900);
             INSERT INTO deliveries (id, message_id, merchant_id, payment_id, event, body, status,
                                     next_attempt_at, created_at)
             VALUES (1, 'm1', 1, 1, 'payment.paid', x'00', 'delivered', 10, 10);
             INSERT INTO delivery_attempts (delivery_id, attempt, url, started_at, duration_ms)
             VALUES (1, 1, 'u', 10, 1);",
        )
        .expect("rows");
        let cutoff = Timestamp::from_millis(100);
        let tx = Tx(Conn(&conn));
        // Notifications 1 and 2 are old; 3 is old but a manual confirmation refers to it.
        assert_eq!(
            tx.prune(Prunable::Notifications, cutoff, 1).expect("prune"),
            1
        );
        assert_eq!(
            tx.prune(Prunable::Notifications, cutoff, 10)
                .expect("prune"),
            1
        );
        assert_eq!(
            tx.prune(Prunable::Notifications, cutoff, 10)
                .expect("prune"),
            0
        );
        assert_eq!(tx.prune(Prunable::SeenKeys, cutoff, 10).expect("prune"), 1);
        assert_eq!(
            tx.prune(Prunable::DeliveryAttempts, cutoff, 10)
                .expect("prune"),
            1
        );
        assert_eq!(
            tx.prune(Prunable::FinishedInvoices, cutoff, 10)
                .expect("prune"),
            1
        );
        let left: (i64, i64, i64, i64) = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM notifications), (SELECT COUNT(*) FROM seen),
                        (SELECT COUNT(*) FROM payments), (SELECT COUNT(*) FROM deliveries)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("counts");
        assert_eq!(
            left,
            (2, 1, 1, 0),
            "the new rows and the reconciled notification stay"
        );
        let broken: Option<String> = conn
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()
            .expect("check");
        assert_eq!(broken, None);
    }
}
