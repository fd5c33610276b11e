//! The schema and its migrations. `PRAGMA user_version` is the number of migrations applied; the list is
//! append-only (never edit a released step, add one). Money is INTEGER Rupiah, instants INTEGER epoch
//! milliseconds, states TEXT checked against their spellings.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::DbError;

/// Migration steps, in order; step `i` brings the file from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    V1_INITIAL,
    V2_DEVICES,
    V3_DASHBOARD,
    V4_INVITES,
    V5_IDS_NEVER_REUSED,
];

/// The version a fully migrated database has.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: merchants and credentials, payments, inbound notifications with their duplicate keys, and
/// the webhook outbox.
pub const V1_INITIAL: &str = r#"
CREATE TABLE merchants (
    id                     INTEGER PRIMARY KEY,
    name                   TEXT    NOT NULL,
    qris_payload           TEXT,
    webhook_url            TEXT,
    webhook_secret         TEXT    NOT NULL,
    callback_secret_hash   TEXT    NOT NULL UNIQUE,
    callback_secret_prefix TEXT    NOT NULL,
    owner_account_id       INTEGER,
    created_at             INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    token_hash  TEXT    NOT NULL UNIQUE,
    prefix      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX api_tokens_merchant ON api_tokens (merchant_id);

CREATE TABLE operator_tokens (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE payments (
    id                INTEGER PRIMARY KEY,
    invoice_id        TEXT    NOT NULL UNIQUE,
    merchant_id       INTEGER NOT NULL REFERENCES merchants (id),
    merchant_order_id TEXT,
    customer_name     TEXT,
    return_url        TEXT,
    amount            INTEGER NOT NULL CHECK (amount > 0),
    unique_code       INTEGER NOT NULL CHECK (unique_code >= 0),
    total_amount      INTEGER NOT NULL,
    qris_payload      TEXT    NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'paid', 'expired')),
    payment_method    TEXT,
    sender_name       TEXT,
    created_at        INTEGER NOT NULL,
    expired_at        INTEGER NOT NULL,
    paid_at           INTEGER,
    -- When the invoice left 'pending' (paid_at, or expired_at for an expired one): the total cooldown
    -- counts from here.
    closed_at         INTEGER,
    CHECK (total_amount = amount + unique_code),
    CHECK ((status = 'paid') = (paid_at IS NOT NULL AND payment_method IS NOT NULL)),
    CHECK ((status = 'pending') = (closed_at IS NULL))
);
-- The money invariant: among one merchant's pending payments no two share a total.
CREATE UNIQUE INDEX payments_pending_total ON payments (merchant_id, total_amount)
    WHERE status = 'pending';
CREATE INDEX payments_overdue ON payments (expired_at) WHERE status = 'pending';
CREATE INDEX payments_closed ON payments (merchant_id, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX payments_total ON payments (merchant_id, total_amount, closed_at);

CREATE TABLE notifications (
    id               INTEGER PRIMARY KEY,
    merchant_id      INTEGER NOT NULL REFERENCES merchants (id),
    source           TEXT    NOT NULL CHECK (source IN ('forwarder', 'callback')),
    received_at      INTEGER NOT NULL,
    app              TEXT,
    title            TEXT,
    message          TEXT,
    device_id        TEXT,
    notif_id         TEXT,
    event_hash       TEXT,
    client_timestamp TEXT,
    reference        TEXT,
    outcome          TEXT    NOT NULL CHECK (outcome IN
                         ('paid', 'duplicate', 'no_amount', 'not_incoming', 'no_match', 'late', 'test')),
    -- The parser's reason for not_incoming/no_amount, or which key made it a duplicate.
    reason           TEXT,
    parsed_amount    INTEGER,
    sender_name      TEXT,
    -- The invoice concerned: the one paid, the expired one a late payment was for, or the recently paid
    -- one an unmatched payment repeats.
    payment_id       INTEGER REFERENCES payments (id)
);
CREATE INDEX notifications_merchant ON notifications (merchant_id, received_at);

-- One row per payment read from a notification (grouped notifications carry several).
CREATE TABLE notification_payments (
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    position        INTEGER NOT NULL,
    amount          INTEGER NOT NULL,
    sender_name     TEXT,
    reference       TEXT,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('paid', 'duplicate', 'no_match', 'late')),
    payment_id      INTEGER REFERENCES payments (id),
    PRIMARY KEY (notification_id, position)
) WITHOUT ROWID;

-- Duplicate keys per merchant. The primary key makes check-and-insert atomic in the write transaction.
CREATE TABLE seen (
    merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
    kind            TEXT    NOT NULL
                            CHECK (kind IN ('event_hash', 'reference', 'content', 'callback_reference')),
    key             TEXT    NOT NULL,
    -- When this key last counted as a new event (content keys are re-armed outside the window).
    seen_at         INTEGER NOT NULL,
    notification_id INTEGER REFERENCES notifications (id),
    PRIMARY KEY (merchant_id, kind, key)
) WITHOUT ROWID;

-- The transactional outbox of outbound webhooks: written in the same transaction as the paid transition.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT    NOT NULL UNIQUE,
    merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
    payment_id      INTEGER NOT NULL REFERENCES payments (id),
    event           TEXT    NOT NULL,
    -- The exact bytes sent and signed, serialised once.
    body            BLOB    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- A worker that claimed the delivery owns it until then; nobody else sends it meanwhile.
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    last_error      TEXT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_payment ON deliveries (payment_id);

CREATE TABLE delivery_attempts (
    id            INTEGER PRIMARY KEY,
    delivery_id   INTEGER NOT NULL REFERENCES deliveries (id),
    attempt       INTEGER NOT NULL,
    url           TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    response_body TEXT,
    UNIQUE (delivery_id, attempt)
);
"#;

/// Version 2: forwarder devices and their heartbeats.
pub const V2_DEVICES: &str = r#"
CREATE TABLE devices (
    merchant_id          INTEGER NOT NULL REFERENCES merchants (id),
    device_id            TEXT    NOT NULL,
    app_version          TEXT,
    listener_connected   INTEGER,
    outbox_pending       INTEGER,
    last_notification_at INTEGER,
    first_seen_at        INTEGER NOT NULL,
    last_seen_at         INTEGER NOT NULL,
    last_heartbeat_at    INTEGER,
    PRIMARY KEY (merchant_id, device_id)
) WITHOUT ROWID;
"#;

/// Version 3: the dashboard. Accounts (argon2id password hashes) and their sessions (token hashes, CSRF
/// tokens, absolute expiry); when an API token was last used; the unguessable token of each invoice's
/// public payment page; and manual confirmations (who, why, and the notification reconciled by hand).
/// `merchants.owner_account_id` (from version 1) names the owning account; NULL (merchants made by the
/// CLI) means only the operator sees the merchant.
pub const V3_DASHBOARD: &str = r#"
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    -- Lowercased and trimmed: the login name.
    email         TEXT    NOT NULL UNIQUE,
    -- PHC string of an argon2id hash.
    password_hash TEXT    NOT NULL,
    is_operator   INTEGER NOT NULL DEFAULT 0 CHECK (is_operator IN (0, 1)),
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    -- SHA-256 of the cookie value; the cookie itself is never stored.
    token_hash TEXT    NOT NULL UNIQUE,
    -- Sent back in X-CSRF-Token on every state-changing request of this session.
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE INDEX merchants_owner ON merchants (owner_account_id);

ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;

-- The public payment page's URL token (NULL for invoices made before version 3: they have no page).
ALTER TABLE payments ADD COLUMN page_token TEXT;
CREATE UNIQUE INDEX payments_page_token ON payments (page_token) WHERE page_token IS NOT NULL;
CREATE INDEX payments_created ON payments (merchant_id, created_at);

CREATE TABLE manual_confirmations (
    payment_id      INTEGER PRIMARY KEY REFERENCES payments (id),
    -- Who confirmed (NULL if that is unknown).
    account_id      INTEGER REFERENCES accounts (id),
    reason          TEXT    NOT NULL,
    -- The notification reconciled by hand ("assign to invoice"); each one pays at most one invoice.
    notification_id INTEGER UNIQUE REFERENCES notifications (id),
    confirmed_at    INTEGER NOT NULL
);
"#;

/// Version 4: invitations to make a dashboard account (registration is off by default; the operator
/// invites). Only the SHA-256 of the invite token is stored; an invite makes at most one account.
pub const V4_INVITES: &str = r#"
CREATE TABLE invites (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT    NOT NULL UNIQUE,
    created_by INTEGER REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    INTEGER REFERENCES accounts (id)
);
CREATE INDEX invites_expiry ON invites (expires_at);
"#;

/// Version 5: ids that leave the database (merchants, tokens, payments, notifications, deliveries,
/// accounts, sessions: in WebSocket audiences, frames, URLs, the CLI's output) are never reused after a
/// delete. SQLite reuses the largest rowid of an `INTEGER PRIMARY KEY` once that row is deleted; only
/// `AUTOINCREMENT` stops it, and it can only be had by rebuilding each table (SQLite's 12-step
/// procedure; [`migrate_to`] turns foreign keys off around the steps and checks them before commit).
/// Columns keep their order (those added by version 3 last), so rows are copied with `SELECT *`.
pub const V5_IDS_NEVER_REUSED: &str = r#"
CREATE TABLE merchants_v5 (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    name                   TEXT    NOT NULL,
    qris_payload           TEXT,
    webhook_url            TEXT,
    webhook_secret         TEXT    NOT NULL,
    callback_secret_hash   TEXT    NOT NULL UNIQUE,
    callback_secret_prefix TEXT    NOT NULL,
    owner_account_id       INTEGER,
    created_at             INTEGER NOT NULL
);
INSERT INTO merchants_v5 SELECT * FROM merchants;
DROP TABLE merchants;
ALTER TABLE merchants_v5 RENAME TO merchants;
CREATE INDEX merchants_owner ON merchants (owner_account_id);

CREATE TABLE api_tokens_v5 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id  INTEGER NOT NULL REFERENCES merchants (id),
    token_hash   TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
INSERT INTO api_tokens_v5 SELECT * FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_v5 RENAME TO api_tokens;
CREATE INDEX api_tokens_merchant ON api_tokens (merchant_id);

CREATE TABLE operator_tokens_v5 (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
INSERT INTO operator_tokens_v5 SELECT * FROM operator_tokens;
DROP TABLE operator_tokens;
ALTER TABLE operator_tokens_v5 RENAME TO operator_tokens;

CREATE TABLE payments_v5 (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id        TEXT    NOT NULL UNIQUE,
    merchant_id       INTEGER NOT NULL REFERENCES merchants (id),
    merchant_order_id TEXT,
    customer_name     TEXT,
    return_url        TEXT,
    amount            INTEGER NOT NULL CHECK (amount > 0),
    unique_code       INTEGER NOT NULL CHECK (unique_code >= 0),
    total_amount      INTEGER NOT NULL,
    qris_payload      TEXT    NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'paid', 'expired')),
    payment_method    TEXT,
    sender_name       TEXT,
    created_at        INTEGER NOT NULL,
    expired_at        INTEGER NOT NULL,
    paid_at           INTEGER,
    closed_at         INTEGER,
    page_token        TEXT,
    CHECK (total_amount = amount + unique_code),
    CHECK ((status = 'paid') = (paid_at IS NOT NULL AND payment_method IS NOT NULL)),
    CHECK ((status = 'pending') = (closed_at IS NULL))
);
INSERT INTO payments_v5 SELECT * FROM payments;
DROP TABLE payments;
ALTER TABLE payments_v5 RENAME TO payments;
CREATE UNIQUE INDEX payments_pending_total ON payments (merchant_id, total_amount)
    WHERE status = 'pending';
CREATE INDEX payments_overdue ON payments (expired_at) WHERE status = 'pending';
CREATE INDEX payments_closed ON payments (merchant_id, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX payments_total ON payments (merchant_id, total_amount, closed_at);
CREATE UNIQUE INDEX payments_page_token ON payments (page_token) WHERE page_token IS NOT NULL;
CREATE INDEX payments_created ON payments (merchant_id, created_at);

CREATE TABLE notifications_v5 (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id      INTEGER NOT NULL REFERENCES merchants (id),
    source           TEXT    NOT NULL CHECK (source IN ('forwarder', 'callback')),
    received_at      INTEGER NOT NULL,
    app              TEXT,
    title            TEXT,
    message          TEXT,
    device_id        TEXT,
    notif_id         TEXT,
    event_hash       TEXT,
    client_timestamp TEXT,
    reference        TEXT,
    outcome          TEXT    NOT NULL CHECK (outcome IN
                         ('paid', 'duplicate', 'no_amount', 'not_incoming', 'no_match', 'late', 'test')),
    reason           TEXT,
    parsed_amount    INTEGER,
    sender_name      TEXT,
    payment_id       INTEGER REFERENCES payments (id)
);
INSERT INTO notifications_v5 SELECT * FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_v5 RENAME TO notifications;
CREATE INDEX notifications_merchant ON notifications (merchant_id, received_at);

CREATE TABLE deliveries_v5 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT    NOT NULL UNIQUE,
    merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
    payment_id      INTEGER NOT NULL REFERENCES payments (id),
    event           TEXT    NOT NULL,
    body            BLOB    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    last_error      TEXT
);
INSERT INTO deliveries_v5 SELECT * FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v5 RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_payment ON deliveries (payment_id);

CREATE TABLE accounts_v5 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_operator   INTEGER NOT NULL DEFAULT 0 CHECK (is_operator IN (0, 1)),
    created_at    INTEGER NOT NULL
);
INSERT INTO accounts_v5 SELECT * FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_v5 RENAME TO accounts;

CREATE TABLE sessions_v5 (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    token_hash TEXT    NOT NULL UNIQUE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
INSERT INTO sessions_v5 SELECT * FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v5 RENAME TO sessions;
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
"#;

/// The file's schema version.
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Applies the missing steps, each in its own transaction together with the version bump. Safe against
/// a concurrent migrator (the CLI and the server): the version is re-read under the write lock.
pub fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Applies steps up to `target` (tests build old files with it). Foreign keys are off while the steps
/// run (a table rebuild drops and renames referenced tables) and checked before each step commits; the
/// connection gets them back on afterwards, whatever happened.
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), DbError> {
    let enforced: bool = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = migrate_steps(conn, target);
    conn.pragma_update(None, "foreign_keys", enforced)?;
    result
}

fn migrate_steps(conn: &mut Connection, target: i64) -> Result<(), DbError> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = version(&tx)?;
        if current > SCHEMA_VERSION {
            return Err(DbError::TooNew {
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        if current >= target {
            return Ok(());
        }
        let next = current + 1;
        let step = usize::try_from(current).expect("a version between 0 and SCHEMA_VERSION");
        tx.execute_batch(MIGRATIONS[step])
            .and_then(|()| {
                // A step must leave every reference intact; the first broken one aborts it.
                tx.query_row("PRAGMA foreign_key_check", [], |_| Ok(()))
                    .optional()?
                    .map_or(Ok(()), |()| {
                        Err(rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                            Some("a foreign key is broken after the step".to_owned()),
                        ))
                    })
            })
            .and_then(|()| tx.pragma_update(None, "user_version", next))
            .map_err(|source| DbError::Migration {
                version: next,
                source,
            })?;
        tx.commit()?;
        tracing::info!(version = next, "database schema migrated");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_file_with_data_upgrades_to_the_current_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        {
            let mut conn = Connection::open(&path).expect("open");
            migrate_to(&mut conn, 1).expect("first schema");
            assert_eq!(version(&conn).expect("version"), 1);
            conn.execute_batch(
                "INSERT INTO merchants (id, name, webhook_secret, callback_secret_hash,
                                        callback_secret_prefix, created_at)
                 VALUES (1, 'Toko ABC', 'whsec_x', 'h', 'wqcb_', 0);
                 INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                       qris_payload, created_at, expired_at)
                 VALUES ('INV-1-aaaaaa', 1, 25000, 42, 25042, 'qris', 0, 1800000);",
            )
            .expect("seed v1 data");
        }
        let mut conn = Connection::open(&path).expect("reopen");
        migrate(&mut conn).expect("upgrade");
        assert_eq!(version(&conn).expect("version"), SCHEMA_VERSION);
        let total: i64 = conn
            .query_row(
                "SELECT total_amount FROM payments WHERE invoice_id = 'INV-1-aaaaaa'",
                [],
                |r| r.get(0),
            )
            .expect("v1 data survives");
        assert_eq!(total, 25042);
        conn.execute(
            "INSERT INTO devices (merchant_id, device_id, first_seen_at, last_seen_at)
             VALUES (1, 'device-01', 0, 0)",
            [],
        )
        .expect("v2 table usable");
        conn.execute_batch(
            "INSERT INTO accounts (id, email, password_hash, is_operator, created_at)
             VALUES (1, 'owner@example.com', '$argon2id$x', 1, 0);
             INSERT INTO sessions (account_id, token_hash, csrf_token, created_at, expires_at)
             VALUES (1, 'h', 'c', 0, 1);
             UPDATE merchants SET owner_account_id = 1 WHERE id = 1;
             UPDATE api_tokens SET last_used_at = 5;
             INSERT INTO manual_confirmations (payment_id, account_id, reason, confirmed_at)
             VALUES (1, 1, 'seen in the bank app', 0);",
        )
        .expect("v3 tables usable");
        let page: Option<String> = conn
            .query_row(
                "SELECT page_token FROM payments WHERE invoice_id = 'INV-1-aaaaaa'",
                [],
                |r| r.get(0),
            )
            .expect("v3 column");
        assert_eq!(
            page, None,
            "invoices from before version 3 have no payment page"
        );
        migrate(&mut conn).expect("migrating twice is a no-op");
    }

    #[test]
    fn after_the_rebuild_deleted_ids_are_never_handed_out_again_and_old_rows_survive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("before-v5.db");
        {
            let mut conn = Connection::open(&path).expect("open");
            conn.pragma_update(None, "foreign_keys", true).expect("fk");
            let rebuild = MIGRATIONS
                .iter()
                .position(|step| *step == V5_IDS_NEVER_REUSED)
                .expect("the rebuild is a step");
            let before = i64::try_from(rebuild).expect("small");
            migrate_to(&mut conn, before).expect("the schema before the rebuild");
            conn.execute_batch(
                "INSERT INTO accounts (id, email, password_hash, is_operator, created_at)
                 VALUES (1, 'owner@example.com', '$argon2id$x', 1, 0);
                 INSERT INTO sessions (id, account_id, token_hash, csrf_token, created_at, expires_at)
                 VALUES (1, 1, 'sh', 'c', 0, 9);
                 INSERT INTO merchants (id, name, webhook_secret, callback_secret_hash,
                                        callback_secret_prefix, owner_account_id, created_at)
                 VALUES (1, 'Toko A', 'whsec_a', 'ha', 'wqcb_a', 1, 0),
                        (2, 'Toko B', 'whsec_b', 'hb', 'wqcb_b', NULL, 0);
                 INSERT INTO api_tokens (id, merchant_id, token_hash, prefix, created_at, last_used_at)
                 VALUES (1, 1, 'ta', 'wqk_a', 0, 7), (2, 2, 'tb', 'wqk_b', 0, NULL);
                 INSERT INTO operator_tokens (id, token_hash, prefix, created_at) VALUES (1, 'oa', 'wqadm_a', 0);
                 INSERT INTO payments (id, invoice_id, merchant_id, amount, unique_code, total_amount,
                                       qris_payload, status, payment_method, created_at, expired_at,
                                       paid_at, closed_at, page_token)
                 VALUES (1, 'INV-1', 1, 25000, 42, 25042, 'q', 'paid', 'manual', 0, 9, 5, 5, 'pt1'),
                        (2, 'INV-2', 2, 1000, 1, 1001, 'q', 'pending', NULL, 0, 9, NULL, NULL, NULL);
                 INSERT INTO notifications (id, merchant_id, source, received_at, message, outcome, payment_id)
                 VALUES (1, 1, 'forwarder', 5, 'Rp25.042 diterima', 'paid', 1);
                 INSERT INTO notification_payments (notification_id, position, amount, outcome, payment_id)
                 VALUES (1, 0, 25042, 'paid', 1);
                 INSERT INTO seen (merchant_id, kind, key, seen_at, notification_id)
                 VALUES (1, 'content', 'k', 5, 1);
                 INSERT INTO deliveries (id, message_id, merchant_id, payment_id, event, body,
                                         next_attempt_at, created_at)
                 VALUES (1, 'msg_1', 1, 1, 'payment.paid', x'7b7d', 5, 5);
                 INSERT INTO delivery_attempts (delivery_id, attempt, url, started_at, duration_ms)
                 VALUES (1, 1, 'https://shop.example/hook', 5, 10);
                 INSERT INTO manual_confirmations (payment_id, account_id, reason, notification_id, confirmed_at)
                 VALUES (1, 1, 'seen', 1, 5);
                 INSERT INTO devices (merchant_id, device_id, first_seen_at, last_seen_at)
                 VALUES (1, 'device-01', 0, 0);",
            )
            .expect("a populated file");
        }
        let mut conn = Connection::open(&path).expect("reopen");
        conn.pragma_update(None, "foreign_keys", true).expect("fk");
        migrate(&mut conn).expect("upgrade");
        assert_eq!(version(&conn).expect("version"), SCHEMA_VERSION);
        let fk: bool = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .expect("pragma");
        assert!(fk, "foreign keys are enforced again after the migration");
        let broken: Option<String> = conn
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()
            .expect("check");
        assert_eq!(broken, None, "every reference survived the rebuild");
        let kept: (String, i64, Option<String>, Option<i64>) = conn
            .query_row(
                "SELECT p.invoice_id, p.total_amount, p.page_token, t.last_used_at
                 FROM payments p JOIN api_tokens t ON t.merchant_id = p.merchant_id WHERE p.id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("old rows");
        assert_eq!(kept, ("INV-1".into(), 25042, Some("pt1".into()), Some(7)));
        // The pending-total invariant's index came back with the table.
        let clash = conn.execute(
            "INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, created_at, expired_at)
             VALUES ('INV-x', 2, 1000, 1, 1001, 'q', 0, 9)",
            [],
        );
        assert!(clash.is_err(), "two pending payments of one total refused");
        // Delete the newest merchant (and its rows), then make a new one: its id is new.
        conn.execute_batch(
            "DELETE FROM payments WHERE merchant_id = 2;
             DELETE FROM api_tokens WHERE merchant_id = 2;
             DELETE FROM merchants WHERE id = 2;
             INSERT INTO merchants (name, webhook_secret, callback_secret_hash, callback_secret_prefix,
                                    created_at)
             VALUES ('Toko C', 'whsec_c', 'hc', 'wqcb_c', 0);
             INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, created_at, expired_at)
             VALUES ('INV-3', 1, 1000, 2, 1002, 'q', 0, 9);",
        )
        .expect("delete and insert");
        let ids: (i64, i64) = conn
            .query_row(
                "SELECT (SELECT id FROM merchants WHERE name = 'Toko C'),
                        (SELECT id FROM payments WHERE invoice_id = 'INV-3')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("ids");
        assert_eq!(
            ids,
            (3, 3),
            "the deleted merchant 2's and payment 2's ids are not reused"
        );
    }

    #[test]
    fn a_file_from_a_newer_webqris_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = Connection::open(dir.path().join("new.db")).expect("open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("set version");
        let err = migrate(&mut conn).expect_err("refused");
        assert!(matches!(err, DbError::TooNew { .. }), "{err}");
    }

    #[test]
    fn the_pending_total_index_refuses_a_second_pending_payment_with_the_same_total() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("schema");
        conn.execute_batch(
            "INSERT INTO merchants (id, name, webhook_secret, callback_secret_hash,
                                    callback_secret_prefix, created_at)
             VALUES (1, 'A', 's', 'h', 'p', 0);
             INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, created_at, expired_at)
             VALUES ('INV-1', 1, 25000, 42, 25042, 'q', 0, 1);",
        )
        .expect("first");
        let second = conn.execute(
            "INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, created_at, expired_at)
             VALUES ('INV-2', 1, 25041, 1, 25042, 'q', 0, 1)",
            [],
        );
        assert!(second.is_err(), "same pending total refused by the index");
        conn.execute(
            "UPDATE payments SET status = 'expired', closed_at = 1 WHERE invoice_id = 'INV-1'",
            [],
        )
        .expect("expire");
        conn.execute(
            "INSERT INTO payments (invoice_id, merchant_id, amount, unique_code, total_amount,
                                   qris_payload, created_at, expired_at)
             VALUES ('INV-2', 1, 25041, 1, 25042, 'q', 0, 1)",
            [],
        )
        .expect("allowed once the first is no longer pending");
    }
}
