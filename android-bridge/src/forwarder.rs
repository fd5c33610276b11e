//! The uniffi surface of [`webqris_forwarder::Forwarder`]: records in the shapes Kotlin sees (times as
//! epoch milliseconds, the verdict as a typed enum), each converted from or to the forwarder's own type,
//! and one object whose methods forward to it. No logic lives here.

use std::sync::Arc;
use std::time::Duration;

use webqris_forwarder as fwd;

use crate::error::ForwarderError;
use crate::verdict::NotificationVerdict;

/// The forwarder's settings (defaults: `webqris_forwarder::config`'s constants).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct ForwarderConfig {
    /// The server's base URL, e.g. `https://pay.example.com` (endpoints are joined onto it).
    pub server_url: String,
    /// The merchant's callback secret (`Authorization: Bearer …`).
    pub callback_secret: String,
    /// This phone's name, sent as `device_id`.
    pub device_id: String,
    /// Packages whose notifications are read; `null` reads every app.
    pub enabled_apps: Option<Vec<String>>,
    /// The outbox's SQLite file (created if missing; its directory must exist).
    pub database_path: String,
    /// Sent in heartbeats.
    #[uniffi(default = "0.1.0")]
    pub app_version: String,
    /// Wait after an item's first failed attempt, milliseconds; doubles with each failure.
    #[uniffi(default = 2000)]
    pub retry_base_ms: u64,
    /// Longest wait between attempts, milliseconds.
    #[uniffi(default = 300000)]
    pub retry_cap_ms: u64,
    /// Failed attempts after which an item is parked.
    #[uniffi(default = 10)]
    pub max_attempts: u32,
    /// How often a parked item is tried again, milliseconds.
    #[uniffi(default = 1800000)]
    pub parked_retry_ms: u64,
    /// Timeout of one request, milliseconds.
    #[uniffi(default = 20000)]
    pub request_timeout_ms: u64,
    /// Heartbeat period in seconds, 0 for none (the server's answer may change it).
    #[uniffi(default = 0)]
    pub heartbeat_interval_secs: u64,
}

impl std::fmt::Debug for ForwarderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&fwd::Config::from(self.clone()), f)
    }
}

impl From<ForwarderConfig> for fwd::Config {
    fn from(c: ForwarderConfig) -> Self {
        Self {
            server_url: c.server_url,
            callback_secret: c.callback_secret,
            device_id: c.device_id,
            enabled_apps: c.enabled_apps,
            database_path: c.database_path.trim().into(),
            app_version: c.app_version,
            retry_base: Duration::from_millis(c.retry_base_ms),
            retry_cap: Duration::from_millis(c.retry_cap_ms),
            max_attempts: c.max_attempts,
            parked_retry: Duration::from_millis(c.parked_retry_ms),
            request_timeout: Duration::from_millis(c.request_timeout_ms),
            heartbeat_interval: Duration::from_secs(c.heartbeat_interval_secs),
        }
    }
}

/// A notification as the listener saw it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IncomingNotification {
    /// `StatusBarNotification.getPackageName()`.
    pub app: String,
    /// `android.title`.
    pub title: String,
    /// `android.text`.
    pub text: String,
    /// `android.bigText`, when set.
    pub big_text: Option<String>,
    /// `StatusBarNotification.getKey()`.
    pub key: String,
    /// `StatusBarNotification.getPostTime()`, epoch milliseconds.
    pub post_time_ms: i64,
    /// `Notification.category`.
    #[uniffi(default)]
    pub category: Option<String>,
    /// `Notification.EXTRA_TEMPLATE`.
    #[uniffi(default)]
    pub template: Option<String>,
    /// `Notification.getChannelId()`.
    #[uniffi(default)]
    pub channel_id: Option<String>,
}

impl From<IncomingNotification> for fwd::Incoming {
    fn from(n: IncomingNotification) -> Self {
        Self {
            app: n.app,
            title: n.title,
            text: n.text,
            big_text: n.big_text,
            key: n.key,
            post_time_ms: n.post_time_ms,
            category: n.category,
            template: n.template,
            channel_id: n.channel_id,
        }
    }
}

/// What `submit` did with a notification.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SubmitOutcome {
    /// In the outbox; it will be delivered.
    Queued {
        /// Its event hash.
        event_hash: String,
    },
    /// Already kept (Android re-delivered it): nothing done.
    AlreadySeen {
        /// Its event hash.
        event_hash: String,
    },
    /// The app is not watched: neither kept nor sent.
    AppNotEnabled,
    /// No text (a group summary): neither kept nor sent.
    Empty,
}

impl From<fwd::Submitted> for SubmitOutcome {
    fn from(s: fwd::Submitted) -> Self {
        match s {
            fwd::Submitted::Queued { event_hash } => Self::Queued { event_hash },
            fwd::Submitted::AlreadySeen { event_hash } => Self::AlreadySeen { event_hash },
            fwd::Submitted::AppNotEnabled => Self::AppNotEnabled,
            fwd::Submitted::Empty => Self::Empty,
        }
    }
}

/// Where a logged notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DeliveryState {
    /// In the outbox.
    Queued,
    /// In the outbox, parked after too many failed attempts (slow schedule, or a tap).
    Parked,
    /// The server answered (see the status and message).
    Sent,
    /// Never sent (kept by forwarders before every notification was sent).
    Ignored,
}

impl From<fwd::DeliveryState> for DeliveryState {
    fn from(s: fwd::DeliveryState) -> Self {
        match s {
            fwd::DeliveryState::Queued => Self::Queued,
            fwd::DeliveryState::Parked => Self::Parked,
            fwd::DeliveryState::Sent => Self::Sent,
            fwd::DeliveryState::Ignored => Self::Ignored,
        }
    }
}

/// One line of the log screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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
    /// What the phone concluded (shown only; the server decides).
    pub verdict: NotificationVerdict,
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

impl From<fwd::LogEntry> for LogEntry {
    fn from(e: fwd::LogEntry) -> Self {
        Self {
            verdict: NotificationVerdict::from_json(&e.verdict_json),
            state: e.state.into(),
            id: e.id,
            event_hash: e.event_hash,
            app: e.app,
            title: e.title,
            message: e.message,
            post_time_ms: e.post_time_ms,
            received_at_ms: e.received_at_ms,
            masked: e.masked,
            attempts: e.attempts,
            last_error: e.last_error,
            next_attempt_at_ms: e.next_attempt_at_ms,
            http_status: e.http_status,
            server_message: e.server_message,
            invoice_id: e.invoice_id,
            completed_at_ms: e.completed_at_ms,
        }
    }
}

/// Why the forwarder cannot deliver right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ProblemKind {
    /// The server or a proxy refuses the forwarder (401, 403, a redirect).
    Refused,
    /// The server cannot be reached at all.
    Unreachable,
    /// Some notifications are parked after too many failed attempts.
    Parked,
}

/// A delivery problem.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeliveryProblem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What went wrong, in words a merchant can act on.
    pub message: String,
    /// The server's status, when it answered.
    pub http_status: Option<u16>,
    /// When delivery is tried next, epoch ms.
    pub next_try_at_ms: Option<i64>,
}

impl From<fwd::Problem> for DeliveryProblem {
    fn from(p: fwd::Problem) -> Self {
        Self {
            kind: match p.kind {
                fwd::ProblemKind::Refused => ProblemKind::Refused,
                fwd::ProblemKind::Unreachable => ProblemKind::Unreachable,
                fwd::ProblemKind::Parked => ProblemKind::Parked,
            },
            message: p.message,
            http_status: p.http_status,
            next_try_at_ms: p.next_try_at_ms,
        }
    }
}

/// The forwarder's health at a glance (what the persistent notification shows).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ForwarderHealth {
    /// Items in the outbox (parked ones included).
    pub pending: u64,
    /// Of those, the parked ones.
    pub parked: u64,
    /// When the oldest waiting item arrived, epoch ms.
    pub oldest_pending_at_ms: Option<i64>,
    /// Why delivery is failing, if it is.
    pub problem: Option<DeliveryProblem>,
    /// As last told by the app.
    pub listener_connected: bool,
    /// As last told by the app.
    pub notification_access: Option<bool>,
}

impl From<fwd::Health> for ForwarderHealth {
    fn from(h: fwd::Health) -> Self {
        Self {
            pending: h.pending,
            parked: h.parked,
            oldest_pending_at_ms: h.oldest_pending_at_ms,
            problem: h.problem.map(Into::into),
            listener_connected: h.listener_connected,
            notification_access: h.notification_access,
        }
    }
}

/// What the status screen shows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ForwarderStatus {
    /// Queue, parked items, problem, listener.
    pub health: ForwarderHealth,
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

impl From<fwd::Status> for ForwarderStatus {
    fn from(s: fwd::Status) -> Self {
        Self {
            health: s.health.into(),
            delivered_since_start: s.delivered_since_start,
            last_notification_at_ms: s.last_notification_at_ms,
            last_answer: s.last_answer.map(Into::into),
            last_heartbeat_at_ms: s.last_heartbeat_at_ms,
            last_heartbeat_error: s.last_heartbeat_error,
        }
    }
}

/// The result of waiting for the outbox to empty.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DrainResult {
    /// The outbox is empty.
    pub drained: bool,
    /// Items still queued (parked ones included).
    pub pending: u64,
    /// Of those, the parked ones.
    pub parked: u64,
    /// Why delivery was failing when the wait ended, if it was.
    pub problem: Option<DeliveryProblem>,
}

impl From<fwd::Drain> for DrainResult {
    fn from(d: fwd::Drain) -> Self {
        Self {
            drained: d.drained,
            pending: d.pending,
            parked: d.parked,
            problem: d.problem.map(Into::into),
        }
    }
}

/// The server's answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HeartbeatAnswer {
    /// The merchant the secret belongs to.
    pub merchant: Option<String>,
    /// The server's clock.
    pub server_time: Option<String>,
    /// How often the server wants a heartbeat.
    pub heartbeat_interval_secs: Option<u64>,
}

impl From<fwd::HeartbeatAnswer> for HeartbeatAnswer {
    fn from(a: fwd::HeartbeatAnswer) -> Self {
        Self {
            merchant: a.merchant,
            server_time: a.server_time,
            heartbeat_interval_secs: a.heartbeat_interval_secs,
        }
    }
}

/// Implemented in Kotlin: told whenever the forwarder's health changes, on the forwarder's threads.
#[uniffi::export(with_foreign)]
pub trait HealthObserver: Send + Sync {
    /// The new health.
    fn health_changed(&self, health: ForwarderHealth);
}

/// A Kotlin observer seen as the forwarder's.
struct ForeignObserver(Arc<dyn HealthObserver>);

impl fwd::StatusObserver for ForeignObserver {
    fn health_changed(&self, health: &fwd::Health) {
        self.0.health_changed(health.clone().into());
    }
}

/// The on-device forwarder.
#[derive(Debug, uniffi::Object)]
pub struct Forwarder(fwd::Forwarder);

#[uniffi::export]
impl Forwarder {
    /// Opens the outbox at `config.database_path` and starts delivering what it holds.
    #[uniffi::constructor]
    pub fn new(config: ForwarderConfig) -> Result<Arc<Self>, ForwarderError> {
        Ok(Arc::new(Self(fwd::Forwarder::open(config.into())?)))
    }

    /// Filters and keeps a notification; returns at once (delivery happens in the background).
    pub fn submit(
        &self,
        notification: IncomingNotification,
    ) -> Result<SubmitOutcome, ForwarderError> {
        Ok(self.0.submit(&notification.into())?.into())
    }

    /// Blocks until the outbox is empty, nothing left can be tried before the deadline, or `timeout_ms`
    /// passed; delivery goes on through refusals and an unreachable server meanwhile.
    pub fn wait_until_drained(&self, timeout_ms: u64) -> DrainResult {
        self.0
            .wait_until_drained(Duration::from_millis(timeout_ms))
            .into()
    }

    /// Tries every queued item now, parked ones included (the "retry now" button).
    pub fn retry_now(&self) -> Result<(), ForwarderError> {
        Ok(self.0.retry_now()?)
    }

    /// Tries one item now (a tap on a parked item); false if it is not waiting.
    pub fn retry_item(&self, event_hash: String) -> Result<bool, ForwarderError> {
        Ok(self.0.retry_item(&event_hash)?)
    }

    /// Replaces the settings (the database path cannot change) and retries the queue with them.
    pub fn reconfigure(&self, config: ForwarderConfig) -> Result<(), ForwarderError> {
        Ok(self.0.reconfigure(config.into())?)
    }

    /// The newest `limit` notifications with what the phone concluded and what the server answered.
    pub fn recent_log(&self, limit: u32) -> Result<Vec<LogEntry>, ForwarderError> {
        Ok(self
            .0
            .recent_log(limit)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The log entry of one event hash.
    pub fn log_entry(&self, event_hash: String) -> Result<Option<LogEntry>, ForwarderError> {
        Ok(self.0.log_entry(&event_hash)?.map(Into::into))
    }

    /// Items waiting in the outbox (parked ones included).
    pub fn pending_count(&self) -> u64 {
        self.0.health().pending
    }

    /// The health (what the persistent notification shows).
    pub fn health(&self) -> ForwarderHealth {
        self.0.health().into()
    }

    /// What the status screen shows.
    pub fn status(&self) -> Result<ForwarderStatus, ForwarderError> {
        Ok(self.0.status()?.into())
    }

    /// Sets (or, with `null`, removes) the observer of the health; it is told the current health at once.
    pub fn set_health_observer(&self, observer: Option<Arc<dyn HealthObserver>>) {
        self.0.set_observer(
            observer.map(|o| Arc::new(ForeignObserver(o)) as Arc<dyn fwd::StatusObserver>),
        );
    }

    /// Tells the forwarder whether the notification listener is connected.
    pub fn set_listener_connected(&self, connected: bool) {
        self.0.set_listener_connected(connected);
    }

    /// Tells the forwarder whether the app has notification access.
    pub fn set_notification_access(&self, granted: bool) {
        self.0.set_notification_access(granted);
    }

    /// Sends the contract's connection test (`event_hash: "test"`) and returns the server's message.
    pub fn test_connection(&self) -> Result<String, ForwarderError> {
        Ok(self.0.test_connection()?)
    }

    /// Tells the server this phone is alive now, and how its delivery is doing.
    pub fn send_heartbeat(&self) -> Result<HeartbeatAnswer, ForwarderError> {
        Ok(self.0.send_heartbeat()?.into())
    }

    /// Stops the workers (an in-flight delivery is abandoned and re-sent by the next forwarder on this
    /// database). Later calls fail with `ShutDown`.
    pub fn shutdown(&self) {
        self.0.shutdown();
    }
}
