//! What the forwarder tells the app: the log, the status screen, the health behind the persistent
//! notification, and the outcome of waiting for the outbox.

use crate::outbox::{Row, RowState};

/// Where a logged notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// In the outbox.
    Queued,
    /// Still in the outbox, but parked after too many failed attempts: tried on the slow schedule, or
    /// when a person asks.
    Parked,
    /// The server answered (see the status and message).
    Sent,
    /// Never sent (rows of forwarders before every notification was sent).
    Ignored,
}

/// One line of the log screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Arrival order.
    pub id: i64,
    /// Event hash.
    pub event_hash: String,
    /// Package name.
    pub app: String,
    /// Title, as sent.
    pub title: String,
    /// The text sent (big text when present; one-time codes masked).
    pub message: String,
    /// When the app posted it, epoch ms.
    pub post_time_ms: i64,
    /// When the forwarder got it, epoch ms.
    pub received_at_ms: i64,
    /// What the phone's parser concluded, as `webqris notif parse --json` prints it.
    pub verdict_json: String,
    /// One-time codes were masked before sending.
    pub masked: bool,
    /// Where it stands.
    pub state: DeliveryState,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it is tried next, epoch ms (while queued or parked).
    pub next_attempt_at_ms: Option<i64>,
    /// The server's status code.
    pub http_status: Option<u16>,
    /// The server's message.
    pub server_message: Option<String>,
    /// The invoice the server marked paid.
    pub invoice_id: Option<String>,
    /// When the server answered, epoch ms.
    pub completed_at_ms: Option<i64>,
}

impl From<Row> for LogEntry {
    fn from(row: Row) -> Self {
        let state = match (row.state, row.parked_at_ms) {
            (RowState::Pending, None) => DeliveryState::Queued,
            (RowState::Pending, Some(_)) => DeliveryState::Parked,
            (RowState::Sent, _) => DeliveryState::Sent,
            (RowState::Skipped, _) => DeliveryState::Ignored,
        };
        Self {
            next_attempt_at_ms: (row.state == RowState::Pending).then_some(row.next_attempt_at_ms),
            state,
            id: row.id,
            event_hash: row.event_hash,
            app: row.app,
            title: row.title,
            message: row.message,
            post_time_ms: row.post_time_ms,
            received_at_ms: row.received_at_ms,
            verdict_json: row.verdict_json,
            masked: row.masked,
            attempts: row.attempts,
            last_error: row.last_error,
            http_status: row.http_status,
            server_message: row.server_message,
            invoice_id: row.invoice_id,
            completed_at_ms: row.completed_at_ms,
        }
    }
}

/// Why the forwarder cannot deliver right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The server (or a proxy) refuses the forwarder: 401, 403 or a redirect. Retried on the refusal
    /// schedule; usually the secret or the URL needs fixing.
    Refused,
    /// The server cannot be reached at all (no network, server down, DNS, TLS).
    Unreachable,
    /// Some notifications are parked after too many failed attempts.
    Parked,
}

/// A delivery problem, for the status screen, the persistent notification and the heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What went wrong, in words a merchant can act on.
    pub message: String,
    /// The server's status, when it answered.
    pub http_status: Option<u16>,
    /// When delivery is tried next, epoch ms (refusals, unreachable).
    pub next_try_at_ms: Option<i64>,
}

/// The forwarder's health at a glance: what the persistent notification shows. Observers are told
/// whenever it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Items in the outbox (parked ones included).
    pub pending: u64,
    /// Of those, the parked ones.
    pub parked: u64,
    /// When the oldest waiting item arrived, epoch ms.
    pub oldest_pending_at_ms: Option<i64>,
    /// Why delivery is failing, if it is.
    pub problem: Option<Problem>,
    /// As last told by the app.
    pub listener_connected: bool,
    /// As last told by the app; `None` when it never said (the host command).
    pub notification_access: Option<bool>,
}

/// What the status screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The health (queue, parked, problem, listener).
    pub health: Health,
    /// Final server answers received since this forwarder started.
    pub delivered_since_start: u64,
    /// When the newest notification arrived, epoch ms.
    pub last_notification_at_ms: Option<i64>,
    /// The newest server answer.
    pub last_answer: Option<LogEntry>,
    /// When a heartbeat last succeeded, epoch ms.
    pub last_heartbeat_at_ms: Option<i64>,
    /// Why the last heartbeat failed.
    pub last_heartbeat_error: Option<String>,
}

/// The result of waiting for the outbox to empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drain {
    /// The outbox is empty.
    pub drained: bool,
    /// Items still queued (parked ones included).
    pub pending: u64,
    /// Of those, the parked ones.
    pub parked: u64,
    /// Why delivery was failing when the wait ended, if it was.
    pub problem: Option<Problem>,
}

/// The server's answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatAnswer {
    /// The merchant the secret belongs to.
    pub merchant: Option<String>,
    /// The server's clock.
    pub server_time: Option<String>,
    /// How often the server wants a heartbeat.
    pub heartbeat_interval_secs: Option<u64>,
}
