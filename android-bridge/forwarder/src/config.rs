//! The forwarder's settings: [`Config`] as the app or the command gives it, and the checked form the
//! workers use.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;
use webqris_core::SecretString;
use webqris_core::event;

use crate::backoff::Backoff;
use crate::delivery;
use crate::error::Error;

/// Wait after an item's first failed attempt; each further failure doubles it.
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(2);
/// Longest wait between two attempts of an item, and between two tries after a refusal.
pub const DEFAULT_RETRY_CAP: Duration = Duration::from_secs(300);
/// Failed attempts after which an item is parked (about 18 minutes of trying on the default schedule).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// How often a parked item is tried again (it is also tried at each start and on "retry now").
pub const DEFAULT_PARKED_RETRY: Duration = Duration::from_secs(30 * 60);
/// Timeout of one request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest device id sent (the server's bound).
pub const MAX_DEVICE_ID_CHARS: usize = 128;
/// The device id when none is set (the server requires one).
pub const DEFAULT_DEVICE_ID: &str = "webqris-forwarder";

/// The forwarder's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The server's base URL, e.g. `https://pay.example.com` (endpoints are joined onto it).
    pub server_url: String,
    /// The merchant's callback secret (`Authorization: Bearer …`).
    pub callback_secret: String,
    /// This phone's name, sent as `device_id`.
    pub device_id: String,
    /// Packages whose notifications are read; `None` reads every app (the host command's default).
    pub enabled_apps: Option<Vec<String>>,
    /// The outbox's SQLite file (created if missing; its directory must exist).
    pub database_path: PathBuf,
    /// Sent in heartbeats.
    pub app_version: String,
    /// Wait after an item's first failed attempt; doubles with each failure.
    pub retry_base: Duration,
    /// Longest wait between attempts (items, refusals and an unreachable server alike).
    pub retry_cap: Duration,
    /// Failed attempts after which an item is parked.
    pub max_attempts: u32,
    /// How often a parked item is tried again.
    pub parked_retry: Duration,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Heartbeat period, zero for none (the server's answer may change it).
    pub heartbeat_interval: Duration,
}

impl Config {
    /// Settings with the documented defaults for everything but the server, the secret and the outbox.
    pub fn new(
        server_url: impl Into<String>,
        callback_secret: impl Into<String>,
        database_path: impl Into<PathBuf>,
    ) -> Self {
        Self {
            server_url: server_url.into(),
            callback_secret: callback_secret.into(),
            device_id: DEFAULT_DEVICE_ID.into(),
            enabled_apps: None,
            database_path: database_path.into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            retry_base: DEFAULT_RETRY_BASE,
            retry_cap: DEFAULT_RETRY_CAP,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            parked_retry: DEFAULT_PARKED_RETRY,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            heartbeat_interval: Duration::ZERO,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("server_url", &self.server_url)
            .field("callback_secret", &"<redacted>")
            .field("device_id", &self.device_id)
            .field("enabled_apps", &self.enabled_apps)
            .field("database_path", &self.database_path)
            .finish_non_exhaustive()
    }
}

/// Settings in the form the workers use.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) base: Url,
    pub(crate) secret: SecretString,
    pub(crate) device_id: String,
    pub(crate) enabled_apps: Option<HashSet<String>>,
    pub(crate) app_version: String,
    /// An item's schedule after failed attempts.
    pub(crate) item_backoff: Backoff,
    /// The whole queue's schedule while the server refuses us (401, 403, 3xx).
    pub(crate) refusal_backoff: Backoff,
    /// The whole queue's schedule while the server cannot be reached at all.
    pub(crate) unreachable_backoff: Backoff,
    pub(crate) max_attempts: u32,
    pub(crate) parked_retry: Duration,
    pub(crate) timeout: Duration,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) database_path: PathBuf,
}

impl Settings {
    pub(crate) fn from_config(config: &Config) -> Result<Self, Error> {
        let invalid = |setting: &str, detail: String| Error::Config {
            setting: setting.to_owned(),
            detail,
        };
        let base = delivery::base_url(&config.server_url).map_err(|d| invalid("server_url", d))?;
        let secret = config.callback_secret.trim();
        if secret.is_empty() {
            return Err(invalid("callback_secret", "is empty".into()));
        }
        if config.database_path.as_os_str().is_empty() {
            return Err(invalid("database_path", "is empty".into()));
        }
        if config.retry_base.is_zero() || config.retry_cap < config.retry_base {
            return Err(invalid(
                "retry_base/retry_cap",
                format!(
                    "need 0 < base ≤ cap, got {:?} and {:?}",
                    config.retry_base, config.retry_cap
                ),
            ));
        }
        if config.max_attempts == 0 {
            return Err(invalid("max_attempts", "is 0".into()));
        }
        if config.parked_retry.is_zero() {
            return Err(invalid("parked_retry", "is 0".into()));
        }
        if config.request_timeout.is_zero() {
            return Err(invalid("request_timeout", "is 0".into()));
        }
        Ok(Self {
            base,
            secret: SecretString::new(secret),
            device_id: match config.device_id.trim() {
                "" => DEFAULT_DEVICE_ID.to_owned(),
                id => id.chars().take(MAX_DEVICE_ID_CHARS).collect(),
            },
            enabled_apps: config.enabled_apps.as_ref().map(|apps| {
                apps.iter()
                    .map(|a| event::normalize_app(a))
                    .filter(|a| !a.is_empty())
                    .collect()
            }),
            app_version: config.app_version.clone(),
            item_backoff: Backoff::doubling(config.retry_base, config.retry_cap),
            refusal_backoff: Backoff::refusals(config.retry_base, config.retry_cap),
            unreachable_backoff: Backoff::doubling(config.retry_base, config.retry_cap),
            max_attempts: config.max_attempts,
            parked_retry: config.parked_retry,
            timeout: config.request_timeout,
            heartbeat_interval: config.heartbeat_interval,
            database_path: config.database_path.clone(),
        })
    }

    pub(crate) fn app_enabled(&self, app: &str) -> bool {
        match &self.enabled_apps {
            None => true,
            Some(apps) => apps.contains(&event::normalize_app(app)),
        }
    }
}
