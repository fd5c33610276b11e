//! The [`Forwarder`]: takes notifications from the listener, keeps them in the on-device outbox, and runs
//! the delivery worker and the heartbeat worker on its own small runtime.
//!
//! Every call is blocking and short (a local SQLite write at most), except `test_connection` and
//! `send_heartbeat`, which wait for the server: the app calls those off the main thread. Delivery is
//! at-least-once (a crash between the server's answer and our write re-sends the item); the server's
//! event-hash dedupe makes the *effect* exactly-once.
//!
//! Delivery never stops for good, and no item holds back another:
//! - each item has its own attempt count and next-try time, and the worker always takes the item due
//!   first: an item the server keeps failing (HTTP 500, a timeout) waits on its own schedule while the
//!   ones behind it are delivered; after `max_attempts` failures it is *parked* (kept, visible in the
//!   log with its error, tried every `parked_retry`, at each start and on "retry now");
//! - a refusal (401, 403, 3xx) or an unreachable server is nobody's item's fault: the whole queue waits
//!   on a schedule that starts at its first step (a hiccup heals in seconds) and is capped, and the state
//!   is shown as a [`Problem`] until an answer clears it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::Notify;
use webqris_core::Timestamp;

use crate::backoff::Backoff;
use crate::config::{Config, Settings};
use crate::delivery;
use crate::error::Error;
use crate::heartbeat;
use crate::http;
use crate::notification::{self, Incoming, Submitted};
use crate::outbox::{Counts, Inserted, NewRow, Store};
use crate::status::{Drain, Health, HeartbeatAnswer, LogEntry, Problem, ProblemKind, Status};
use crate::worker;

/// Told whenever the forwarder's [`Health`] changes (the app's persistent notification). Called on the
/// forwarder's own threads, never while it holds a lock: an observer may call back into the forwarder.
pub trait StatusObserver: Send + Sync {
    /// The new health.
    fn health_changed(&self, health: &Health);
}

/// Why the whole queue is waiting (a refusal, an unreachable server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gate {
    pub(crate) kind: ProblemKind,
    pub(crate) error: String,
    pub(crate) status: Option<u16>,
    /// Failures in a row of this kind (the schedule's step).
    pub(crate) failures: u32,
    /// Not before this instant, epoch ms.
    pub(crate) next_try_ms: i64,
}

/// What waiters and observers watch.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub(crate) counts: Counts,
    /// The newest failed attempt's error among waiting items (for parked items' problem).
    pub(crate) pending_error: Option<String>,
    pub(crate) gate: Option<Gate>,
    pub(crate) last_heartbeat_at_ms: Option<i64>,
    pub(crate) last_heartbeat_error: Option<String>,
    /// The health last told to the observer.
    published: Option<Health>,
}

/// State shared by the caller threads and the workers.
pub(crate) struct Shared {
    store: Mutex<Store>,
    settings: RwLock<Arc<Settings>>,
    client: RwLock<http::Client>,
    progress: Mutex<Progress>,
    /// Signalled whenever `progress` changes.
    changed: Condvar,
    /// Wakes the delivery worker (a new item, a retry, new settings).
    pub(crate) wake: Notify,
    pub(crate) shutdown: AtomicBool,
    listener_connected: AtomicBool,
    /// 0 unknown, 1 granted, 2 missing.
    notification_access: std::sync::atomic::AtomicU8,
    pub(crate) delivered: AtomicU64,
    observer: RwLock<Option<Arc<dyn StatusObserver>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("settings", &self.settings)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves SQLite consistent (each write is one statement or
        // transaction), so a poisoned lock is still safe to use.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn client(&self) -> http::Client {
        self.client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn listener_connected(&self) -> bool {
        self.listener_connected.load(Ordering::Relaxed)
    }

    pub(crate) fn notification_access(&self) -> Option<bool> {
        match self.notification_access.load(Ordering::Relaxed) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }

    /// The health as `progress` and the flags say now.
    fn health(&self, progress: &Progress) -> Health {
        let problem = match (&progress.gate, progress.counts.parked) {
            (Some(gate), _) => Some(Problem {
                kind: gate.kind,
                message: gate.error.clone(),
                http_status: gate.status,
                next_try_at_ms: Some(gate.next_try_ms),
            }),
            (None, 0) => None,
            (None, parked) => Some(Problem {
                kind: ProblemKind::Parked,
                message: progress
                    .pending_error
                    .clone()
                    .unwrap_or_else(|| format!("{parked} notification(s) parked")),
                http_status: None,
                next_try_at_ms: None,
            }),
        };
        Health {
            pending: progress.counts.pending,
            parked: progress.counts.parked,
            oldest_pending_at_ms: progress.counts.oldest_received_at_ms,
            problem,
            listener_connected: self.listener_connected(),
            notification_access: self.notification_access(),
        }
    }

    /// Re-reads the queue, wakes the waiters, and tells the observer if the health changed. Blocking
    /// (SQLite): call it off the async executor.
    pub(crate) fn publish(&self) {
        let read = {
            let store = self.store();
            store
                .counts()
                .and_then(|c| Ok((c, store.last_pending_error()?)))
        };
        self.update(|progress| match read {
            Ok((counts, error)) => {
                progress.counts = counts;
                progress.pending_error = error;
            }
            Err(e) => tracing::warn!(error = %e, "cannot count the outbox"),
        });
    }

    /// Changes `progress`, then wakes the waiters and tells the observer when the health changed.
    pub(crate) fn update(&self, change: impl FnOnce(&mut Progress)) {
        let changed_health = {
            let mut progress = self.progress();
            change(&mut progress);
            let health = self.health(&progress);
            (progress.published.as_ref() != Some(&health)).then(|| {
                progress.published = Some(health.clone());
                health
            })
        };
        self.changed.notify_all();
        if let Some(mut health) = changed_health {
            let observer = self
                .observer
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(observer) = observer {
                // The observer is called outside the lock, so another thread's newer health may reach
                // it before ours (the phone would keep showing ours, stale). After our call, tell the
                // newest again whenever it is not what we told.
                loop {
                    observer.health_changed(&health);
                    match self.progress().published.clone() {
                        Some(newest) if newest != health => health = newest,
                        _ => break,
                    }
                }
            }
        }
    }

    /// The wait before anything may be tried, while the whole queue waits on a refusal or an
    /// unreachable server.
    pub(crate) fn gate_wait(&self, now_ms: i64) -> Option<Duration> {
        let progress = self.progress();
        let gate = progress.gate.as_ref()?;
        (gate.next_try_ms > now_ms).then(|| millis(gate.next_try_ms - now_ms))
    }

    /// Records a refusal or an unreachable server: the whole queue waits on `backoff`, starting at its
    /// first step when the problem is new.
    pub(crate) fn close_gate(
        &self,
        kind: ProblemKind,
        status: Option<u16>,
        error: String,
        backoff: &Backoff,
        now_ms: i64,
    ) {
        self.update(|progress| {
            let failures = match &progress.gate {
                Some(gate) if gate.kind == kind => gate.failures.saturating_add(1),
                _ => 1,
            };
            let delay = backoff.delay(failures);
            tracing::warn!(?kind, failures, ?delay, %error, "delivery is waiting");
            progress.gate = Some(Gate {
                kind,
                error,
                status,
                failures,
                next_try_ms: now_ms.saturating_add(as_millis(delay)),
            });
        });
    }

    /// An answer came: whatever made the whole queue wait is over.
    pub(crate) fn open_gate(&self) {
        if self.progress().gate.is_some() {
            self.update(|progress| progress.gate = None);
        }
    }

    /// A person asked to retry (or the settings changed): the queue may be tried now, and a refusal's
    /// schedule starts again at its first step. The problem stays shown until an answer clears it.
    fn reopen_gate(&self) {
        self.update(|progress| {
            if let Some(gate) = &mut progress.gate {
                gate.failures = 0;
                gate.next_try_ms = 0;
            }
        });
    }

    pub(crate) fn record_heartbeat(&self, result: &Result<HeartbeatAnswer, Error>) {
        self.update(|progress| match result {
            Ok(_) => {
                progress.last_heartbeat_at_ms = Some(now_ms());
                progress.last_heartbeat_error = None;
            }
            Err(e) => progress.last_heartbeat_error = Some(e.to_string()),
        });
    }
}

/// The on-device forwarder.
#[derive(Debug)]
pub struct Forwarder {
    shared: Arc<Shared>,
    runtime: Mutex<Option<Runtime>>,
}

impl Forwarder {
    /// Opens the outbox at `config.database_path` and starts delivering what it holds.
    pub fn open(config: Config) -> Result<Self, Error> {
        let settings = Settings::from_config(&config)?;
        let store = Store::open(&settings.database_path)?;
        if let Err(e) = store.prune(now_ms()) {
            tracing::warn!(error = %e, "cannot prune the outbox; keeping old rows");
        }
        // A new process (app start, reboot) tries its queue at once, parked items included: whatever
        // made the last attempts fail (no network, server down) may be over.
        store.make_all_due()?;
        let client = client(&settings)?;
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            settings: RwLock::new(Arc::new(settings)),
            client: RwLock::new(client),
            progress: Mutex::new(Progress::default()),
            changed: Condvar::new(),
            wake: Notify::new(),
            shutdown: AtomicBool::new(false),
            listener_connected: AtomicBool::new(false),
            notification_access: std::sync::atomic::AtomicU8::new(0),
            delivered: AtomicU64::new(0),
            observer: RwLock::new(None),
        });
        shared.publish();
        // One worker thread: one delivery at a time is plenty for a shop's notifications, and the
        // phone's battery does not want more. Blocking SQLite work goes to the runtime's blocking pool.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(2)
            .thread_name("webqris-forwarder")
            .enable_all()
            .build()
            .map_err(|e| Error::Config {
                setting: "runtime".into(),
                detail: format!("cannot start the delivery thread: {e}"),
            })?;
        runtime.spawn(worker::deliver_forever(shared.clone()));
        runtime.spawn(heartbeat::heartbeat_forever(shared.clone()));
        Ok(Self {
            shared,
            runtime: Mutex::new(Some(runtime)),
        })
    }

    /// Filters and keeps a notification; returns at once (delivery happens in the background).
    pub fn submit(&self, incoming: &Incoming) -> Result<Submitted, Error> {
        self.ensure_running()?;
        if !self.shared.settings().app_enabled(&incoming.app) {
            return Ok(Submitted::AppNotEnabled);
        }
        let Some(prepared) = notification::prepare(incoming) else {
            return Ok(Submitted::Empty);
        };
        let verdict_json = serde_json::to_string(&prepared.verdict)
            .unwrap_or_else(|_| r#"{"incoming":false,"reason":"unrecognized"}"#.to_owned());
        let inserted = self.shared.store().insert(&NewRow {
            event_hash: &prepared.event_hash,
            app: incoming.app.trim(),
            title: &prepared.title,
            message: &prepared.message,
            notif_key: &incoming.key,
            post_time_ms: incoming.post_time_ms,
            received_at_ms: now_ms(),
            verdict_json: &verdict_json,
            category: prepared.category.as_deref(),
            template: prepared.template.as_deref(),
            channel_id: prepared.channel_id.as_deref(),
            masked: prepared.masked,
        })?;
        let event_hash = prepared.event_hash;
        Ok(match inserted {
            Inserted::AlreadySeen => Submitted::AlreadySeen { event_hash },
            Inserted::New => {
                self.shared.publish();
                self.shared.wake.notify_one();
                Submitted::Queued { event_hash }
            }
        })
    }

    /// Blocks until the outbox is empty, nothing left in it can be tried before the deadline (every
    /// remaining item is parked until later), or `timeout` passed. Refusals and an unreachable server do
    /// not end the wait: delivery goes on through them.
    pub fn wait_until_drained(&self, timeout: Duration) -> Drain {
        // Longer than any wait anyone means, short enough that the deadline arithmetic cannot overflow.
        let timeout = timeout.min(Duration::from_secs(365 * 24 * 3600));
        let deadline = std::time::Instant::now() + timeout;
        let deadline_ms = now_ms().saturating_add(as_millis(timeout));
        let mut progress = self.shared.progress();
        loop {
            let counts = progress.counts;
            let only_parked_until_later = counts.pending == counts.parked
                && counts.next_attempt_at_ms.is_some_and(|at| at > deadline_ms);
            if counts.pending == 0 || only_parked_until_later {
                break;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
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
        let health = self.shared.health(&progress);
        Drain {
            drained: health.pending == 0,
            pending: health.pending,
            parked: health.parked,
            problem: health.problem,
        }
    }

    /// Tries every queued item now (parked ones too, with a fresh attempt count), and starts the refusal
    /// schedule again from its first step.
    pub fn retry_now(&self) -> Result<(), Error> {
        self.ensure_running()?;
        self.shared.store().retry(None)?;
        self.after_retry();
        Ok(())
    }

    /// Tries one item now (a tap on a parked item in the log); false if it is not waiting.
    pub fn retry_item(&self, event_hash: &str) -> Result<bool, Error> {
        self.ensure_running()?;
        let touched = self.shared.store().retry(Some(event_hash))? > 0;
        if touched {
            self.after_retry();
        }
        Ok(touched)
    }

    fn after_retry(&self) {
        self.shared.publish();
        self.shared.reopen_gate();
        self.shared.wake.notify_one();
    }

    /// Replaces the settings (the database path cannot change) and retries the queue with them.
    pub fn reconfigure(&self, config: Config) -> Result<(), Error> {
        self.ensure_running()?;
        let settings = Settings::from_config(&config)?;
        if settings.database_path != self.shared.settings().database_path {
            return Err(Error::Config {
                setting: "database_path".into(),
                detail: "cannot change on a running forwarder; shut it down and open a new one"
                    .into(),
            });
        }
        let client = client(&settings)?;
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

    /// Sets (or removes) the observer of the forwarder's health; it is told the current health at once.
    pub fn set_observer(&self, observer: Option<Arc<dyn StatusObserver>>) {
        let first = observer.clone();
        *self
            .shared
            .observer
            .write()
            .unwrap_or_else(|p| p.into_inner()) = observer;
        if let Some(observer) = first {
            let health = self.shared.health(&self.shared.progress());
            observer.health_changed(&health);
        }
    }

    /// The newest `limit` notifications with what the phone concluded and what the server answered.
    pub fn recent_log(&self, limit: u32) -> Result<Vec<LogEntry>, Error> {
        Ok(self
            .shared
            .store()
            .recent(limit)?
            .into_iter()
            .map(LogEntry::from)
            .collect())
    }

    /// The log entry of one event hash.
    pub fn log_entry(&self, event_hash: &str) -> Result<Option<LogEntry>, Error> {
        Ok(self
            .shared
            .store()
            .by_event_hash(event_hash)?
            .map(LogEntry::from))
    }

    /// The forwarder's health (what the persistent notification shows).
    pub fn health(&self) -> Health {
        self.shared.health(&self.shared.progress())
    }

    /// What the status screen shows.
    pub fn status(&self) -> Result<Status, Error> {
        let (last_notification_at_ms, last_answer) = {
            let store = self.shared.store();
            (
                store.last_received_at()?,
                store.last_answer()?.map(LogEntry::from),
            )
        };
        let progress = self.shared.progress();
        Ok(Status {
            health: self.shared.health(&progress),
            delivered_since_start: self.shared.delivered.load(Ordering::Relaxed),
            last_notification_at_ms,
            last_answer,
            last_heartbeat_at_ms: progress.last_heartbeat_at_ms,
            last_heartbeat_error: progress.last_heartbeat_error.clone(),
        })
    }

    /// Tells the forwarder whether the notification listener is connected (shown, and sent in
    /// heartbeats).
    pub fn set_listener_connected(&self, connected: bool) {
        self.shared
            .listener_connected
            .store(connected, Ordering::Relaxed);
        self.shared.update(|_| {});
    }

    /// Tells the forwarder whether the app has notification access (shown, and sent in heartbeats).
    pub fn set_notification_access(&self, granted: bool) {
        self.shared
            .notification_access
            .store(if granted { 1 } else { 2 }, Ordering::Relaxed);
        self.shared.update(|_| {});
    }

    /// Sends the contract's connection test (`event_hash: "test"`) and returns the server's message.
    pub fn test_connection(&self) -> Result<String, Error> {
        let (client, settings) = (self.shared.client(), self.shared.settings());
        self.block_on(async move { delivery::connection_test(&client, &settings, now_ms()).await })?
    }

    /// Tells the server this phone is alive now, and how its delivery is doing.
    pub fn send_heartbeat(&self) -> Result<HeartbeatAnswer, Error> {
        let shared = self.shared.clone();
        self.block_on(async move { heartbeat::heartbeat(&shared).await })?
    }

    /// Stops the workers (an in-flight delivery is abandoned and re-sent by the next forwarder on this
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

    fn ensure_running(&self) -> Result<(), Error> {
        if self.shared.shutdown.load(Ordering::SeqCst) {
            Err(Error::ShutDown)
        } else {
            Ok(())
        }
    }

    fn block_on<T>(&self, future: impl std::future::Future<Output = T>) -> Result<T, Error> {
        let handle = {
            let runtime = self.runtime.lock().unwrap_or_else(|p| p.into_inner());
            runtime.as_ref().ok_or(Error::ShutDown)?.handle().clone()
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

fn client(settings: &Settings) -> Result<http::Client, Error> {
    delivery::client(settings.timeout).map_err(|detail| Error::Config {
        setting: "tls".into(),
        detail,
    })
}

pub(crate) fn now_ms() -> i64 {
    Timestamp::now().as_millis()
}

pub(crate) fn as_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
