//! The `Forwarder`: takes notifications from the listener, keeps them in the on-device outbox and delivers
//! them to the server in arrival order from a background worker, with capped exponential backoff.
//!
//! Every call is blocking and short (a local SQLite write at most), except `test_connection` and
//! `send_heartbeat`, which wait for the server: the app calls those off the main thread. Delivery is
//! at-least-once (a crash between the server's answer and our write re-sends the item); the server's
//! event-hash dedupe makes the *effect* exactly-once.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use url::Url;
use webqris_core::event::{self, NotificationEvent};
use webqris_core::notification::{self, Notification};
use webqris_core::wire::{self, NotificationRequest};
use webqris_core::{SecretString, Timestamp};

use crate::backoff::Backoff;
use crate::delivery::{self, Attempt, HEARTBEAT_PATH, NOTIFICATION_PATH};
use crate::error::ForwarderError;
use crate::http;
use crate::outbox::{Answer, Inserted, NewRow, Row, RowState, Store};
use crate::verdict::{IgnoreReason, NotificationVerdict};

/// How long the worker waits before touching the database again after it failed.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// The forwarder's settings.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct ForwarderConfig {
    /// The server's base URL, e.g. `https://pay.example.com` (endpoints are joined onto it).
    pub server_url: String,
    /// The merchant's callback secret (`Authorization: Bearer …`).
    pub callback_secret: String,
    /// This phone's name, sent as `device_id`.
    pub device_id: String,
    /// Packages whose notifications are read; `null` reads every app (the host command's default).
    pub enabled_apps: Option<Vec<String>>,
    /// Send every notification of the enabled apps, not only those the core reads as incoming payments
    /// (the server still decides; for apps the core does not know yet).
    pub send_all: bool,
    /// The outbox's SQLite file (created if missing; its directory must exist).
    pub database_path: String,
    /// Sent in heartbeats.
    #[uniffi(default = "0.1.0")]
    pub app_version: String,
    /// Wait after the first failed delivery, milliseconds; doubles with each failure.
    #[uniffi(default = 2000)]
    pub retry_base_ms: u64,
    /// Longest wait between deliveries, milliseconds.
    #[uniffi(default = 300000)]
    pub retry_cap_ms: u64,
    /// Timeout of one request, milliseconds.
    #[uniffi(default = 20000)]
    pub request_timeout_ms: u64,
    /// Heartbeat period in seconds, 0 for none (the server's answer may change it).
    #[uniffi(default = 0)]
    pub heartbeat_interval_secs: u64,
}

impl std::fmt::Debug for ForwarderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwarderConfig")
            .field("server_url", &self.server_url)
            .field("callback_secret", &"<redacted>")
            .field("device_id", &self.device_id)
            .field("enabled_apps", &self.enabled_apps)
            .field("send_all", &self.send_all)
            .field("database_path", &self.database_path)
            .finish_non_exhaustive()
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
}

/// What `submit` did with a notification.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SubmitOutcome {
    /// In the outbox; it will be delivered.
    Queued {
        /// Its event hash.
        event_hash: String,
    },
    /// Logged, not sent: the core does not read it as an incoming payment.
    Ignored {
        /// Its event hash.
        event_hash: String,
        /// Why.
        reason: IgnoreReason,
    },
    /// Already kept (Android re-delivered it): nothing done.
    AlreadySeen {
        /// Its event hash.
        event_hash: String,
    },
    /// The app is not enabled: neither kept nor sent.
    AppNotEnabled,
    /// No text (a group summary): neither kept nor sent.
    Empty,
}

/// Where a logged notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DeliveryState {
    /// In the outbox.
    Queued,
    /// The server answered (see the status and message).
    Sent,
    /// Not sent: not an incoming payment.
    Ignored,
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
    /// Title.
    pub title: String,
    /// The text sent (big text when present).
    pub message: String,
    /// When the app posted it, epoch ms.
    pub post_time_ms: i64,
    /// When the forwarder got it, epoch ms.
    pub received_at_ms: i64,
    /// What the phone concluded.
    pub verdict: NotificationVerdict,
    /// Where it stands.
    pub state: DeliveryState,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
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
        Self {
            verdict: NotificationVerdict::from_json(&row.verdict_json),
            state: match row.state {
                RowState::Pending => DeliveryState::Queued,
                RowState::Sent => DeliveryState::Sent,
                RowState::Skipped => DeliveryState::Ignored,
            },
            id: row.id,
            event_hash: row.event_hash,
            app: row.app,
            title: row.title,
            message: row.message,
            post_time_ms: row.post_time_ms,
            received_at_ms: row.received_at_ms,
            attempts: row.attempts,
            last_error: row.last_error,
            http_status: row.http_status,
            server_message: row.server_message,
            invoice_id: row.invoice_id,
            completed_at_ms: row.completed_at_ms,
        }
    }
}

/// The result of waiting for the outbox to empty.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DrainResult {
    /// The outbox is empty.
    pub drained: bool,
    /// Items still queued.
    pub pending: u64,
    /// Set when delivery stopped on a configuration error (401): waiting longer would not help.
    pub config_error: Option<String>,
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

/// What the status screen shows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ForwarderStatus {
    /// Items in the outbox.
    pub pending: u64,
    /// Final server answers received since this forwarder started.
    pub delivered_since_start: u64,
    /// As last told by the app.
    pub listener_connected: bool,
    /// When the newest notification arrived, epoch ms.
    pub last_notification_at_ms: Option<i64>,
    /// The newest server answer.
    pub last_answer: Option<LogEntry>,
    /// Delivery stopped on this configuration error (until the settings change or a retry).
    pub config_error: Option<String>,
    /// When a heartbeat last succeeded, epoch ms.
    pub last_heartbeat_at_ms: Option<i64>,
    /// Why the last heartbeat failed.
    pub last_heartbeat_error: Option<String>,
}

/// Settings in the form the worker uses.
#[derive(Debug, Clone)]
struct Settings {
    base: Url,
    secret: SecretString,
    device_id: String,
    enabled_apps: Option<HashSet<String>>,
    send_all: bool,
    app_version: String,
    backoff: Backoff,
    timeout: Duration,
    heartbeat_interval: Duration,
    database_path: PathBuf,
}

impl Settings {
    fn from_config(config: &ForwarderConfig) -> Result<Self, ForwarderError> {
        let invalid = |setting: &str, detail: String| ForwarderError::Config {
            setting: setting.to_owned(),
            detail,
        };
        let base = delivery::base_url(&config.server_url).map_err(|d| invalid("server_url", d))?;
        let secret = config.callback_secret.trim();
        if secret.is_empty() {
            return Err(invalid("callback_secret", "is empty".into()));
        }
        if config.database_path.trim().is_empty() {
            return Err(invalid("database_path", "is empty".into()));
        }
        if config.retry_base_ms == 0 || config.retry_cap_ms < config.retry_base_ms {
            return Err(invalid(
                "retry_base_ms/retry_cap_ms",
                format!(
                    "need 0 < base ≤ cap, got {} and {}",
                    config.retry_base_ms, config.retry_cap_ms
                ),
            ));
        }
        if config.request_timeout_ms == 0 {
            return Err(invalid("request_timeout_ms", "is 0".into()));
        }
        Ok(Self {
            base,
            secret: SecretString::new(secret),
            // The server requires a device id (heartbeats are refused without one).
            device_id: match config.device_id.trim() {
                "" => "webqris-forwarder".to_owned(),
                id => id.chars().take(128).collect(),
            },
            enabled_apps: config.enabled_apps.as_ref().map(|apps| {
                apps.iter()
                    .map(|a| event::normalize_app(a))
                    .filter(|a| !a.is_empty())
                    .collect()
            }),
            send_all: config.send_all,
            app_version: config.app_version.clone(),
            backoff: Backoff {
                base: Duration::from_millis(config.retry_base_ms),
                cap: Duration::from_millis(config.retry_cap_ms),
                retry_after_cap: Duration::from_millis(config.retry_cap_ms)
                    .max(Duration::from_secs(3600)),
            },
            timeout: Duration::from_millis(config.request_timeout_ms),
            heartbeat_interval: Duration::from_secs(config.heartbeat_interval_secs),
            database_path: PathBuf::from(config.database_path.trim()),
        })
    }

    fn app_enabled(&self, app: &str) -> bool {
        match &self.enabled_apps {
            None => true,
            Some(apps) => apps.contains(&event::normalize_app(app)),
        }
    }
}

/// What waiters of [`Forwarder::wait_until_drained`] watch.
#[derive(Debug, Default)]
struct Progress {
    pending: u64,
    config_error: Option<String>,
    last_heartbeat_at_ms: Option<i64>,
    last_heartbeat_error: Option<String>,
}

/// State shared by the caller threads and the worker.
#[derive(Debug)]
struct Shared {
    store: Mutex<Store>,
    settings: RwLock<Arc<Settings>>,
    client: RwLock<http::Client>,
    progress: Mutex<Progress>,
    changed: Condvar,
    wake: Notify,
    shutdown: AtomicBool,
    listener_connected: AtomicBool,
    delivered: AtomicU64,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves SQLite consistent (each write is one statement or
        // transaction), so a poisoned lock is still safe to use.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn client(&self) -> http::Client {
        self.client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Re-reads the queue length and wakes the waiters.
    fn publish(&self) {
        let pending = self.store().pending_count();
        let mut progress = self.progress();
        match pending {
            Ok(n) => progress.pending = n,
            Err(e) => tracing::warn!(error = %e, "cannot count the outbox"),
        }
        drop(progress);
        self.changed.notify_all();
    }

    fn set_config_error(&self, error: Option<String>) {
        self.progress().config_error = error;
        self.changed.notify_all();
    }
}

/// The on-device forwarder.
#[derive(Debug, uniffi::Object)]
pub struct Forwarder {
    shared: Arc<Shared>,
    runtime: Mutex<Option<Runtime>>,
}

#[uniffi::export]
impl Forwarder {
    /// Opens the outbox at `config.database_path` and starts delivering what it holds.
    #[uniffi::constructor]
    pub fn new(config: ForwarderConfig) -> Result<Arc<Self>, ForwarderError> {
        let settings = Settings::from_config(&config)?;
        let store = Store::open(&settings.database_path)?;
        let now = now_ms();
        if let Err(e) = store.prune(now) {
            tracing::warn!(error = %e, "cannot prune the outbox; keeping old rows");
        }
        // A new process (app start, reboot) tries its queue at once: whatever made the last attempt fail
        // (no network, server down) may be over.
        store.make_all_due()?;
        let client =
            delivery::client(settings.timeout).map_err(|detail| ForwarderError::Config {
                setting: "tls".into(),
                detail,
            })?;
        let pending = store.pending_count()?;
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            settings: RwLock::new(Arc::new(settings)),
            client: RwLock::new(client),
            progress: Mutex::new(Progress {
                pending,
                ..Progress::default()
            }),
            changed: Condvar::new(),
            wake: Notify::new(),
            shutdown: AtomicBool::new(false),
            listener_connected: AtomicBool::new(false),
            delivered: AtomicU64::new(0),
        });
        // One worker thread: deliveries are sequential by design (arrival order), and the phone's
        // battery does not want more. Blocking SQLite work goes to the runtime's blocking pool.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(2)
            .thread_name("webqris-forwarder")
            .enable_all()
            .build()
            .map_err(|e| ForwarderError::Config {
                setting: "runtime".into(),
                detail: format!("cannot start the delivery thread: {e}"),
            })?;
        runtime.spawn(deliver_forever(shared.clone()));
        runtime.spawn(heartbeat_forever(shared.clone()));
        Ok(Arc::new(Self {
            shared,
            runtime: Mutex::new(Some(runtime)),
        }))
    }

    /// Reads, filters and keeps a notification; returns at once (delivery happens in the background).
    pub fn submit(
        &self,
        notification: IncomingNotification,
    ) -> Result<SubmitOutcome, ForwarderError> {
        self.ensure_running()?;
        let settings = self.shared.settings();
        if !settings.app_enabled(&notification.app) {
            return Ok(SubmitOutcome::AppNotEnabled);
        }
        let message =
            notification::effective_text(&notification.text, notification.big_text.as_deref());
        if message.trim().is_empty() {
            return Ok(SubmitOutcome::Empty);
        }
        let verdict: NotificationVerdict = notification::parse(&Notification {
            app: &notification.app,
            title: &notification.title,
            text: &notification.text,
            big_text: notification.big_text.as_deref(),
        })
        .into();
        let event_hash = event::event_hash(&NotificationEvent {
            app: &notification.app,
            key: &notification.key,
            post_time_ms: notification.post_time_ms,
            title: &notification.title,
            text: message,
        });
        let send = settings.send_all || verdict.is_incoming();
        let inserted = self.shared.store().insert(&NewRow {
            event_hash: &event_hash,
            app: notification.app.trim(),
            title: &notification.title,
            message,
            notif_key: &notification.key,
            post_time_ms: notification.post_time_ms,
            received_at_ms: now_ms(),
            verdict_json: &verdict.to_json(),
            state: if send {
                RowState::Pending
            } else {
                RowState::Skipped
            },
        })?;
        Ok(match (inserted, send, verdict) {
            (Inserted::AlreadySeen, _, _) => SubmitOutcome::AlreadySeen { event_hash },
            (Inserted::New, true, _) => {
                self.shared.publish();
                self.shared.wake.notify_one();
                SubmitOutcome::Queued { event_hash }
            }
            (Inserted::New, false, NotificationVerdict::NotIncoming { reason }) => {
                SubmitOutcome::Ignored { event_hash, reason }
            }
            (Inserted::New, false, NotificationVerdict::Incoming { .. }) => {
                // `send` is true for every incoming verdict.
                SubmitOutcome::Queued { event_hash }
            }
        })
    }

    /// Items waiting in the outbox.
    pub fn pending_count(&self) -> Result<u64, ForwarderError> {
        Ok(self.shared.store().pending_count()?)
    }

    /// Blocks until the outbox is empty, delivery stopped on a configuration error, or `timeout_ms`
    /// passed, whichever comes first.
    pub fn wait_until_drained(&self, timeout_ms: u64) -> DrainResult {
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        let mut progress = self.shared.progress();
        loop {
            if progress.pending == 0 || progress.config_error.is_some() {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            progress = self
                .shared
                .changed
                .wait_timeout(progress, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        DrainResult {
            drained: progress.pending == 0,
            pending: progress.pending,
            config_error: progress.config_error.clone(),
        }
    }

    /// Tries every queued item now, and resumes delivery stopped by a configuration error.
    pub fn retry_now(&self) -> Result<(), ForwarderError> {
        self.ensure_running()?;
        self.shared.store().make_all_due()?;
        self.shared.set_config_error(None);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Replaces the settings (the database path cannot change) and retries the queue with them.
    pub fn reconfigure(&self, config: ForwarderConfig) -> Result<(), ForwarderError> {
        self.ensure_running()?;
        let settings = Settings::from_config(&config)?;
        if settings.database_path != self.shared.settings().database_path {
            return Err(ForwarderError::Config {
                setting: "database_path".into(),
                detail: "cannot change on a running forwarder; shut it down and open a new one"
                    .into(),
            });
        }
        let client =
            delivery::client(settings.timeout).map_err(|detail| ForwarderError::Config {
                setting: "tls".into(),
                detail,
            })?;
        *self
            .shared
            .client
            .write()
            .unwrap_or_else(|p| p.into_inner()) = client;
        *self
            .shared
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
        self.retry_now()
    }

    /// The newest `limit` notifications with what the phone concluded and what the server answered.
    pub fn recent_log(&self, limit: u32) -> Result<Vec<LogEntry>, ForwarderError> {
        Ok(self
            .shared
            .store()
            .recent(limit)?
            .into_iter()
            .map(LogEntry::from)
            .collect())
    }

    /// The log entry of one event hash.
    pub fn log_entry(&self, event_hash: String) -> Result<Option<LogEntry>, ForwarderError> {
        Ok(self
            .shared
            .store()
            .by_event_hash(&event_hash)?
            .map(LogEntry::from))
    }

    /// What the status screen shows.
    pub fn status(&self) -> Result<ForwarderStatus, ForwarderError> {
        let (pending, last_notification_at_ms, last_answer) = {
            let store = self.shared.store();
            (
                store.pending_count()?,
                store.last_received_at()?,
                store.last_answer()?.map(LogEntry::from),
            )
        };
        let progress = self.shared.progress();
        Ok(ForwarderStatus {
            pending,
            delivered_since_start: self.shared.delivered.load(Ordering::Relaxed),
            listener_connected: self.shared.listener_connected.load(Ordering::Relaxed),
            last_notification_at_ms,
            last_answer,
            config_error: progress.config_error.clone(),
            last_heartbeat_at_ms: progress.last_heartbeat_at_ms,
            last_heartbeat_error: progress.last_heartbeat_error.clone(),
        })
    }

    /// Tells the forwarder whether the notification listener is connected (sent in heartbeats).
    pub fn set_listener_connected(&self, connected: bool) {
        self.shared
            .listener_connected
            .store(connected, Ordering::Relaxed);
    }

    /// Sends the contract's connection test (`event_hash: "test"`) and returns the server's message.
    pub fn test_connection(&self) -> Result<String, ForwarderError> {
        let shared = self.shared.clone();
        self.block_on(async move { connection_test(&shared).await })?
    }

    /// Tells the server this phone is alive now.
    pub fn send_heartbeat(&self) -> Result<HeartbeatAnswer, ForwarderError> {
        let shared = self.shared.clone();
        self.block_on(async move { heartbeat(&shared).await })?
    }

    /// Stops the worker (an in-flight delivery is abandoned and re-sent by the next forwarder on this
    /// database). Later calls fail with `ShutDown`.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        let runtime = self
            .runtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(runtime) = runtime {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Shutting a runtime down from inside another runtime's async context panics (a Rust
                // caller on tokio, e.g. a test dropping the forwarder): wait for it on a plain thread.
                let stopped = std::thread::spawn(move || {
                    runtime.shutdown_timeout(Duration::from_secs(2));
                })
                .join();
                if stopped.is_err() {
                    tracing::error!("the forwarder's runtime panicked while shutting down");
                }
            } else {
                runtime.shutdown_timeout(Duration::from_secs(2));
            }
        }
        self.shared.changed.notify_all();
    }
}

impl Forwarder {
    fn ensure_running(&self) -> Result<(), ForwarderError> {
        if self.shared.shutdown.load(Ordering::SeqCst) {
            Err(ForwarderError::ShutDown)
        } else {
            Ok(())
        }
    }

    fn block_on<T>(
        &self,
        future: impl std::future::Future<Output = T>,
    ) -> Result<T, ForwarderError> {
        let handle = {
            let runtime = self.runtime.lock().unwrap_or_else(|p| p.into_inner());
            runtime
                .as_ref()
                .ok_or(ForwarderError::ShutDown)?
                .handle()
                .clone()
        };
        // A multi-thread runtime's workers drive its IO and timers, so any thread outside the runtime
        // (the app's background thread, a JNA call) may block on it.
        Ok(handle.block_on(future))
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn now_ms() -> i64 {
    Timestamp::now().as_millis()
}

/// The body of `POST /api/webhook/payment` for a queued row (api.md, field for field).
fn request_body(row: &Row, settings: &Settings) -> NotificationRequest {
    NotificationRequest {
        app: Some(row.app.clone()),
        title: Some(row.title.clone()),
        message: row.message.clone(),
        timestamp: Some(Timestamp::from_millis(row.post_time_ms).to_iso()),
        device_id: Some(settings.device_id.clone()),
        notif_id: Some(event::forwarder_notif_id(&row.notif_key, row.post_time_ms)),
        event_hash: Some(row.event_hash.clone()),
        category: None,
        template: None,
        channel_id: None,
    }
}

/// What the worker does next.
enum Step {
    /// Look at the queue again at once.
    Again,
    /// Sleep this long (or until woken).
    Wait(Duration),
    /// Sleep until woken.
    Idle,
}

/// The delivery worker: the head of the queue, in arrival order, until shut down.
async fn deliver_forever(shared: Arc<Shared>) {
    while !shared.shutdown.load(Ordering::SeqCst) {
        let woken = shared.wake.notified();
        tokio::pin!(woken);
        // Registered before looking at the queue, so a submit in between is not missed.
        woken.as_mut().enable();
        let step = deliver_head(&shared).await;
        match step {
            Step::Again => continue,
            Step::Wait(duration) => {
                tokio::select! {
                    () = &mut woken => {}
                    () = tokio::time::sleep(duration) => {}
                }
            }
            Step::Idle => woken.await,
        }
    }
}

async fn with_store<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&Store) -> T + Send + 'static,
) -> Option<T> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || f(&shared.store()))
        .await
        .ok()
}

async fn deliver_head(shared: &Arc<Shared>) -> Step {
    if shared.progress().config_error.is_some() {
        return Step::Idle;
    }
    let head = match with_store(shared, Store::head).await {
        Some(Ok(Some(row))) => row,
        Some(Ok(None)) => return Step::Idle,
        Some(Err(e)) => {
            // Deliberately swallowed: the worker must outlive a transient database error.
            tracing::error!(error = %e, "cannot read the outbox; retrying");
            return Step::Wait(STORE_RETRY);
        }
        None => return Step::Wait(STORE_RETRY),
    };
    let now = now_ms();
    if head.next_attempt_at_ms > now {
        let wait = u64::try_from(head.next_attempt_at_ms - now).unwrap_or(0);
        return Step::Wait(Duration::from_millis(wait));
    }
    let settings = shared.settings();
    let url = delivery::endpoint(&settings.base, NOTIFICATION_PATH);
    let body = request_body(&head, &settings);
    let attempt =
        delivery::post_notification(&shared.client(), &url, settings.secret.expose(), &body, now)
            .await;
    let id = head.id;
    let written = match attempt {
        Attempt::Answered {
            status,
            message,
            invoice_id,
        } => {
            tracing::info!(id, status, ?invoice_id, "delivered");
            let answer = Answer {
                http_status: status,
                message,
                invoice_id,
            };
            let done = with_store(shared, move |s| s.complete(id, &answer, now_ms())).await;
            if matches!(done, Some(Ok(()))) {
                shared.delivered.fetch_add(1, Ordering::Relaxed);
            }
            done
        }
        Attempt::Retry {
            status,
            error,
            retry_after,
        } => {
            let failures = head.attempts.saturating_add(1);
            let delay = settings
                .backoff
                .delay_with_retry_after(failures, retry_after);
            tracing::warn!(id, failures, ?delay, %error, "delivery failed; will retry");
            let next = now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
            with_store(shared, move |s| s.fail_attempt(id, &error, status, next)).await
        }
        Attempt::Refused { status, error } => {
            tracing::error!(id, status, %error, "server refused the forwarder; delivery stopped");
            shared.set_config_error(Some(error.clone()));
            with_store(shared, move |s| s.note_error(id, &error, Some(status))).await
        }
    };
    if let Some(Err(e)) = &written {
        // Deliberately swallowed: the row is re-sent, and the server dedupes it.
        tracing::error!(error = %e, id, "cannot record the delivery outcome");
    }
    shared.publish();
    Step::Again
}

/// The heartbeat's JSON answer.
#[derive(Debug, Default, Deserialize)]
struct HeartbeatBody {
    #[serde(default)]
    merchant: Option<String>,
    #[serde(default)]
    server_time: Option<String>,
    #[serde(default)]
    heartbeat_interval_secs: Option<u64>,
    #[serde(default)]
    message: Option<String>,
}

/// The heartbeat loop; the period is the setting, adjusted by the server's answer.
async fn heartbeat_forever(shared: Arc<Shared>) {
    let mut period = shared.settings().heartbeat_interval;
    while !shared.shutdown.load(Ordering::SeqCst) {
        if period.is_zero() {
            return;
        }
        tokio::time::sleep(period).await;
        match heartbeat(&shared).await {
            Ok(answer) => {
                if let Some(secs) = answer.heartbeat_interval_secs.filter(|s| *s >= 30) {
                    period = Duration::from_secs(secs);
                }
            }
            // Deliberately swallowed: recorded for the status screen by `heartbeat`.
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
    }
}

/// `POST /api/forwarder/heartbeat`.
async fn heartbeat(shared: &Arc<Shared>) -> Result<HeartbeatAnswer, ForwarderError> {
    let settings = shared.settings();
    let (pending, last) = with_store(shared, |s| (s.pending_count(), s.last_received_at()))
        .await
        .ok_or(ForwarderError::ShutDown)?;
    let body = serde_json::json!({
        "device_id": settings.device_id,
        "app_version": settings.app_version,
        "listener_connected": shared.listener_connected.load(Ordering::Relaxed),
        "outbox_pending": pending?,
        "last_notification_at": last?.map(|ms| Timestamp::from_millis(ms).to_iso()),
    });
    let url = delivery::endpoint(&settings.base, HEARTBEAT_PATH);
    let result = post_json(shared, &settings, &url, &body)
        .await
        .and_then(|(status, text)| {
            let parsed: HeartbeatBody = serde_json::from_str(&text).unwrap_or_default();
            if (200..300).contains(&status) {
                Ok(HeartbeatAnswer {
                    merchant: parsed.merchant,
                    server_time: parsed.server_time,
                    heartbeat_interval_secs: parsed.heartbeat_interval_secs,
                })
            } else {
                Err(status_error(status, parsed.message, &text))
            }
        });
    let mut progress = shared.progress();
    match &result {
        Ok(_) => {
            progress.last_heartbeat_at_ms = Some(now_ms());
            progress.last_heartbeat_error = None;
        }
        Err(e) => progress.last_heartbeat_error = Some(e.to_string()),
    }
    result
}

/// The connection test of the contract: `event_hash: "test"`; the server processes nothing.
async fn connection_test(shared: &Arc<Shared>) -> Result<String, ForwarderError> {
    let settings = shared.settings();
    let now = now_ms();
    let body = NotificationRequest {
        app: Some("webqris.forwarder".into()),
        title: Some("Tes koneksi".into()),
        message: "Tes koneksi webqris forwarder".into(),
        timestamp: Some(Timestamp::from_millis(now).to_iso()),
        device_id: Some(settings.device_id.clone()),
        notif_id: Some(format!("test@{now}")),
        event_hash: Some(wire::TEST_EVENT_HASH.into()),
        category: None,
        template: None,
        channel_id: None,
    };
    let url = delivery::endpoint(&settings.base, NOTIFICATION_PATH);
    let (status, text) = post_json(shared, &settings, &url, &body).await?;
    #[derive(Deserialize, Default)]
    struct TestAnswer {
        #[serde(default)]
        success: bool,
        #[serde(default)]
        message: Option<String>,
    }
    let parsed: TestAnswer = serde_json::from_str(&text).unwrap_or_default();
    if (200..300).contains(&status) && parsed.success {
        Ok(parsed.message.unwrap_or_else(|| "OK".into()))
    } else {
        Err(status_error(status, parsed.message, &text))
    }
}

fn status_error(status: u16, message: Option<String>, text: &str) -> ForwarderError {
    let detail = message.unwrap_or_else(|| text.chars().take(200).collect());
    match status {
        401 | 403 => ForwarderError::Unauthorized {
            status,
            detail: format!("the server refused the callback secret (HTTP {status}): {detail}"),
        },
        _ => ForwarderError::Server { status, detail },
    }
}

async fn post_json(
    shared: &Arc<Shared>,
    settings: &Settings,
    url: &Url,
    body: &impl serde::Serialize,
) -> Result<(u16, String), ForwarderError> {
    let response = shared
        .client()
        .post(url.clone())
        .bearer_auth(settings.secret.expose())
        .json(body)
        .send()
        .await
        .map_err(|e| ForwarderError::Network {
            detail: delivery::describe_send_error(&e),
        })?;
    let status = response.status().as_u16();
    Ok((status, delivery::read_limited(response).await))
}
