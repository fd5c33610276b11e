//! The schema and its migrations, the same version numbers on every backend. The list is append-only
//! (never edit a released step, add one); the backend records how many steps it has applied (SQLite:
//! `PRAGMA user_version`). Money is INTEGER Rupiah, instants INTEGER epoch milliseconds, states TEXT
//! checked against their spellings, booleans INTEGER 0/1.
//!
//! A step is written once ([`Migration::Both`]) in the DDL both SQLite and PostgreSQL accept once
//! PostgreSQL's spellings are substituted: `INTEGER PRIMARY KEY` for a row id, `INTEGER`, `TEXT`,
//! `BLOB`, `WITHOUT ROWID`, `CHECK`, partial indexes, `ALTER TABLE … ADD COLUMN`. A step that cannot be
//! (a SQLite table rebuild, say) is spelled per dialect ([`Migration::PerDialect`]).

use super::DbError;

/// One migration step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migration {
    /// The same DDL on every backend.
    Both(&'static str),
    /// DDL that differs per backend.
    PerDialect {
        /// For SQLite.
        sqlite: &'static str,
        /// For PostgreSQL.
        postgres: &'static str,
    },
}

impl Migration {
    /// The step as SQLite runs it.
    pub const fn sqlite(self) -> &'static str {
        match self {
            Self::Both(sql) | Self::PerDialect { sqlite: sql, .. } => sql,
        }
    }
}

/// Migration steps, in order; step `i` brings the database from version `i` to `i + 1`.
pub const MIGRATIONS: &[Migration] = &[
    Migration::Both(V1_INITIAL),
    Migration::Both(V2_DEVICES),
    Migration::Both(V3_DASHBOARD),
    Migration::Both(V4_DEVICE_HEALTH),
    Migration::Both(V5_ENDPOINTS),
    Migration::PerDialect {
        sqlite: V6_TRUST_SQLITE,
        postgres: V6_TRUST_POSTGRES,
    },
    Migration::Both(V7_INVITES),
    Migration::PerDialect {
        sqlite: V8_IDS_NEVER_REUSED_SQLITE,
        postgres: V8_IDS_NEVER_REUSED_POSTGRES,
    },
    Migration::Both(WEBHOOK_OUTAGES),
    Migration::Both(SANDBOX),
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

/// Version 4: a forwarder's delivery health, as its heartbeat reports it (notification access, parked
/// count, since when its oldest undelivered notification waits on the server's clock, why it cannot
/// deliver) and the alert last announced for the device, so that each change is announced once.
pub const V4_DEVICE_HEALTH: &str = r#"
ALTER TABLE devices ADD COLUMN notification_access INTEGER;
ALTER TABLE devices ADD COLUMN parked_count INTEGER;
ALTER TABLE devices ADD COLUMN oldest_pending_since INTEGER;
ALTER TABLE devices ADD COLUMN last_delivery_error TEXT;
ALTER TABLE devices ADD COLUMN alert TEXT CHECK (alert IN ('silent', 'cannot_deliver', 'no_notification_access'));
"#;

/// Version 5: fair webhook delivery. Each merchant's webhook URL is an endpoint with a circuit breaker
/// (its state survives a restart and is shared by every worker on the database); deliveries are found per
/// merchant in due order, leases are counted through their own index when claiming and name their
/// worker.
pub const V5_ENDPOINTS: &str = r#"
CREATE TABLE webhook_endpoints (
    merchant_id INTEGER NOT NULL REFERENCES merchants (id) ON DELETE CASCADE,
    -- The webhook URL this state belongs to: a merchant whose URL changed starts afresh, closed.
    url         TEXT    NOT NULL,
    -- closed: attempts flow, up to the per-endpoint cap; open: one probe at a time, from probe_at.
    circuit     TEXT    NOT NULL DEFAULT 'closed' CHECK (circuit IN ('closed', 'open')),
    -- Attempts in a row that timed out or could not connect.
    failures    INTEGER NOT NULL DEFAULT 0,
    -- When the circuit last opened or closed.
    changed_at  INTEGER,
    -- While open: when the next probe may start.
    probe_at    INTEGER,
    -- Why the last unreachable attempt failed.
    last_error  TEXT,
    PRIMARY KEY (merchant_id)
);
CREATE INDEX deliveries_merchant_due ON deliveries (merchant_id, next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE lease_until IS NOT NULL;
-- The worker that holds the lease (random per worker run), so it can renew all of its leases at once.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
"#;

/// Version 6: only a real payment notification pays (issue 8). Notifications gain the outcomes
/// `untrusted` (stored, never pays) and `held` (waits for a person: a new channel), the Android facts the
/// forwarder sends (`category`, `template`, `channel_id`) and the trust decision (`trust`, `trust_reason`).
/// SQLite cannot change a CHECK constraint, so there the table is rebuilt the way SQLite documents: a new
/// table filled with the same rows and ids, the old one dropped, the new one renamed (the tables referring
/// to `notifications` keep referring to that name; the SQLite migrator runs steps with foreign keys off and
/// checks every reference before a step commits). PostgreSQL alters the constraint in place
/// ([`V6_TRUST_POSTGRES`]). Merchants' trusted sources (a package and the exact titles it pays with) and the
/// `(app, channel)` pairs that paid or that a person confirmed get their own tables.
pub const V6_TRUST_SQLITE: &str = r#"
CREATE TABLE notifications_rebuilt (
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
                         ('paid', 'duplicate', 'no_amount', 'not_incoming', 'no_match', 'late', 'test',
                          'untrusted', 'held')),
    -- The parser's reason for not_incoming/no_amount, or which key made it a duplicate.
    reason           TEXT,
    parsed_amount    INTEGER,
    sender_name      TEXT,
    -- The invoice concerned: the one paid, the expired one a late payment was for, the recently paid
    -- one an unmatched payment repeats, or the one a person assigned it to.
    payment_id       INTEGER REFERENCES payments (id),
    -- Android's Notification.category, EXTRA_TEMPLATE and channel id, when the forwarder sent them.
    category         TEXT,
    template         TEXT,
    channel_id       TEXT,
    -- The trust decision (NULL where none was taken: duplicates, tests, callbacks, older rows) and its
    -- reason (untrusted_source, conversation, new_channel, ...).
    trust            TEXT    CHECK (trust IN ('trusted', 'untrusted', 'held')),
    trust_reason     TEXT
);
INSERT INTO notifications_rebuilt (id, merchant_id, source, received_at, app, title, message, device_id,
                              notif_id, event_hash, client_timestamp, reference, outcome, reason,
                              parsed_amount, sender_name, payment_id)
    SELECT id, merchant_id, source, received_at, app, title, message, device_id, notif_id, event_hash,
           client_timestamp, reference, outcome, reason, parsed_amount, sender_name, payment_id
    FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_rebuilt RENAME TO notifications;
CREATE INDEX notifications_merchant ON notifications (merchant_id, received_at);
CREATE INDEX notifications_held ON notifications (merchant_id, app, channel_id) WHERE outcome = 'held';

-- Sources a merchant trusts beyond the built-in payment families: one row per (package, title).
CREATE TABLE trusted_titles (
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    -- Lowercased Android package name.
    package     TEXT    NOT NULL,
    -- The title as the merchant typed it (trimmed); compared ignoring case and runs of spaces.
    title       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, package, title)
) WITHOUT ROWID;

-- The channels an app has paid on for a merchant, or that a person confirmed: once an app has one, a
-- payment on any other channel is held for review.
CREATE TABLE merchant_channels (
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    -- Lowercased Android package name.
    app         TEXT    NOT NULL,
    channel_id  TEXT    NOT NULL,
    learned_by  TEXT    NOT NULL CHECK (learned_by IN ('payment', 'person')),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, app, channel_id)
) WITHOUT ROWID;
"#;

/// Version 6 on PostgreSQL: the same result as [`V6_TRUST_SQLITE`], altered in place (the column CHECK of
/// `outcome` has PostgreSQL's default name `notifications_outcome_check`).
pub const V6_TRUST_POSTGRES: &str = r#"
ALTER TABLE notifications DROP CONSTRAINT notifications_outcome_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_outcome_check CHECK (outcome IN
    ('paid', 'duplicate', 'no_amount', 'not_incoming', 'no_match', 'late', 'test', 'untrusted', 'held'));
ALTER TABLE notifications ADD COLUMN category TEXT;
ALTER TABLE notifications ADD COLUMN template TEXT;
ALTER TABLE notifications ADD COLUMN channel_id TEXT;
ALTER TABLE notifications ADD COLUMN trust TEXT CHECK (trust IN ('trusted', 'untrusted', 'held'));
ALTER TABLE notifications ADD COLUMN trust_reason TEXT;
CREATE INDEX notifications_held ON notifications (merchant_id, app, channel_id) WHERE outcome = 'held';

CREATE TABLE trusted_titles (
    merchant_id BIGINT  NOT NULL REFERENCES merchants (id),
    package     TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (merchant_id, package, title)
);

CREATE TABLE merchant_channels (
    merchant_id BIGINT  NOT NULL REFERENCES merchants (id),
    app         TEXT    NOT NULL,
    channel_id  TEXT    NOT NULL,
    learned_by  TEXT    NOT NULL CHECK (learned_by IN ('payment', 'person')),
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (merchant_id, app, channel_id)
);
"#;

/// Version 7: invitations to make a dashboard account (registration is off by default; the operator
/// invites). Only the SHA-256 of the invite token is stored; an invite makes at most one account.
pub const V7_INVITES: &str = r#"
CREATE TABLE invites (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,
    created_by INTEGER REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    INTEGER REFERENCES accounts (id)
);
CREATE INDEX invites_expiry ON invites (expires_at);
"#;

/// Version 8: ids that leave the database (merchants, tokens, payments, notifications, deliveries,
/// accounts, sessions: in WebSocket audiences, frames, URLs, the CLI's output) are never reused after a
/// delete. SQLite reuses the largest rowid of an `INTEGER PRIMARY KEY` once that row is deleted; only
/// `AUTOINCREMENT` stops it, and it can only be had by rebuilding each table (SQLite's 12-step
/// procedure; the SQLite migrator turns foreign keys off around the steps and checks them before
/// commit). PostgreSQL identities never reuse ids, so there it is nothing.
/// Columns keep their order (those added by `ALTER TABLE` last; `notifications` as version 6 rebuilt it),
/// so rows are copied with `SELECT *`.
pub const V8_IDS_NEVER_REUSED_SQLITE: &str = r#"
CREATE TABLE merchants_new (
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
INSERT INTO merchants_new SELECT * FROM merchants;
DROP TABLE merchants;
ALTER TABLE merchants_new RENAME TO merchants;
CREATE INDEX merchants_owner ON merchants (owner_account_id);

CREATE TABLE api_tokens_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id  INTEGER NOT NULL REFERENCES merchants (id),
    token_hash   TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
INSERT INTO api_tokens_new SELECT * FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_merchant ON api_tokens (merchant_id);

CREATE TABLE operator_tokens_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
INSERT INTO operator_tokens_new SELECT * FROM operator_tokens;
DROP TABLE operator_tokens;
ALTER TABLE operator_tokens_new RENAME TO operator_tokens;

CREATE TABLE payments_new (
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
INSERT INTO payments_new SELECT * FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE UNIQUE INDEX payments_pending_total ON payments (merchant_id, total_amount)
    WHERE status = 'pending';
CREATE INDEX payments_overdue ON payments (expired_at) WHERE status = 'pending';
CREATE INDEX payments_closed ON payments (merchant_id, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX payments_total ON payments (merchant_id, total_amount, closed_at);
CREATE UNIQUE INDEX payments_page_token ON payments (page_token) WHERE page_token IS NOT NULL;
CREATE INDEX payments_created ON payments (merchant_id, created_at);

CREATE TABLE notifications_new (
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
                         ('paid', 'duplicate', 'no_amount', 'not_incoming', 'no_match', 'late', 'test',
                          'untrusted', 'held')),
    reason           TEXT,
    parsed_amount    INTEGER,
    sender_name      TEXT,
    payment_id       INTEGER REFERENCES payments (id),
    category         TEXT,
    template         TEXT,
    channel_id       TEXT,
    trust            TEXT    CHECK (trust IN ('trusted', 'untrusted', 'held')),
    trust_reason     TEXT
);
INSERT INTO notifications_new SELECT * FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_merchant ON notifications (merchant_id, received_at);
CREATE INDEX notifications_held ON notifications (merchant_id, app, channel_id) WHERE outcome = 'held';

CREATE TABLE deliveries_new (
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
    last_error      TEXT,
    lease_owner     TEXT
);
INSERT INTO deliveries_new SELECT * FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_payment ON deliveries (payment_id);
CREATE INDEX deliveries_merchant_due ON deliveries (merchant_id, next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE lease_until IS NOT NULL;

CREATE TABLE accounts_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_operator   INTEGER NOT NULL DEFAULT 0 CHECK (is_operator IN (0, 1)),
    created_at    INTEGER NOT NULL
);
INSERT INTO accounts_new SELECT * FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;

CREATE TABLE sessions_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    token_hash TEXT    NOT NULL UNIQUE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
INSERT INTO sessions_new SELECT * FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
"#;

/// Version 8 on PostgreSQL: identity columns never hand out a deleted id again; nothing to do.
pub const V8_IDS_NEVER_REUSED_POSTGRES: &str = "SELECT 1";

/// Webhooks that outlast an outage (issue 12): the previous webhook secret, which keeps signing until
/// its overlap ends after a rotation; each endpoint's delivery health (last 2xx, failing since when,
/// failed attempts in a row, whether the "failing for an hour" alert is raised); and deliveries found by
/// merchant and creation time, for replays.
pub const WEBHOOK_OUTAGES: &str = r#"
ALTER TABLE merchants ADD COLUMN previous_webhook_secret TEXT;
ALTER TABLE merchants ADD COLUMN previous_webhook_secret_until INTEGER;
ALTER TABLE webhook_endpoints ADD COLUMN last_success_at INTEGER;
-- The first failed attempt since the last 2xx (NULL while the last attempt succeeded).
ALTER TABLE webhook_endpoints ADD COLUMN failing_since INTEGER;
ALTER TABLE webhook_endpoints ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
-- 1 once the alert was announced, back to 0 when announced recovered: each change is announced once.
ALTER TABLE webhook_endpoints ADD COLUMN alert INTEGER NOT NULL DEFAULT 0 CHECK (alert IN (0, 1));
CREATE INDEX deliveries_merchant_created ON deliveries (merchant_id, created_at);
"#;

/// The sandbox (issue 12): test API tokens, the test invoices they create and the synthetic
/// notifications `simulate` stores. Test and live invoices are two pools: the money invariant (no two
/// pending totals alike) now holds within each pool of a merchant, so neither takes a unique code from
/// the other, and matching only ever looks in one pool.
pub const SANDBOX: &str = r#"
ALTER TABLE api_tokens ADD COLUMN test INTEGER NOT NULL DEFAULT 0 CHECK (test IN (0, 1));
ALTER TABLE payments ADD COLUMN test INTEGER NOT NULL DEFAULT 0 CHECK (test IN (0, 1));
ALTER TABLE notifications ADD COLUMN test INTEGER NOT NULL DEFAULT 0 CHECK (test IN (0, 1));
DROP INDEX payments_pending_total;
CREATE UNIQUE INDEX payments_pending_total ON payments (merchant_id, test, total_amount)
    WHERE status = 'pending';
"#;

/// The step that brings a database at version `current` one closer to `target`, with the version it
/// reaches; `None` when it is there. A database newer than this binary is refused, whatever `target`.
pub(super) fn next_step(current: i64, target: i64) -> Result<Option<(i64, Migration)>, DbError> {
    if current > SCHEMA_VERSION {
        return Err(DbError::TooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    if current >= target {
        return Ok(None);
    }
    let step = usize::try_from(current).expect("a version between 0 and SCHEMA_VERSION");
    Ok(Some((current + 1, MIGRATIONS[step])))
}
