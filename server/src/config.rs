//! Server settings, layered: built-in defaults, then a TOML file (`--config FILE`), then `WEBQRIS_*`
//! environment variables, then command-line flags. Every setting, its TOML key, its environment name and
//! its default are listed in the README (a test keeps the two in step).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::clock::Clock;

/// Everything the server can be told. `Default` is the documented default configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// SQLite database file; it and its directory are created on first run.
    #[serde(serialize_with = "redacted_location")]
    pub db: PathBuf,
    /// Largest request body accepted, in bytes; a bigger body is answered 400.
    pub max_body_bytes: usize,
    /// `tracing` filter directives (`info`, `webqris_server=debug,info`, …).
    pub log: String,
    /// Log as JSON lines instead of human-readable text.
    pub log_json: bool,
    /// Lines that repeat per request or attempt (refused requests, a failing webhook endpoint) are
    /// written once per kind in this interval; the rest are counted in one summary line.
    pub log_repeat_secs: Seconds,
    /// The base URL customers and phones reach this server at (`https://pay.example.com`), used for
    /// payment page links, the forwarder setup QR and the `Secure` flag of session cookies (set when it is
    /// https). Unset: `http://` + the address the server is bound to (see [`Config::public_base`]).
    pub public_url: Option<String>,
    /// Invoices: lifetime, amounts, unique codes, expiry.
    pub invoice: InvoiceConfig,
    /// Inbound notifications.
    pub notification: NotificationConfig,
    /// Outbound webhooks.
    pub webhook: WebhookConfig,
    /// SQLite.
    pub database: DatabaseConfig,
    /// Incoming connections: limits and timeouts.
    pub connection: ConnectionConfig,
    /// WebSocket clients.
    pub websocket: WebSocketConfig,
    /// The Android forwarder.
    pub forwarder: ForwarderConfig,
    /// The web dashboard: accounts, sessions, uploads.
    pub dashboard: DashboardConfig,
    /// `GET /metrics`.
    pub metrics: MetricsConfig,
    /// `GET /readyz`.
    pub readiness: ReadinessConfig,
    /// How long old rows are kept.
    pub retention: RetentionConfig,
    /// The clock the server reads (system clock; tests move it forward).
    #[serde(skip)]
    pub clock: Clock,
    /// The one-time operator setup token to use instead of a random one. Only tests set it (there is no
    /// TOML key or environment name), so that they can follow the link the server prints.
    #[serde(skip)]
    pub setup_token: Option<webqris_core::SecretString>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db: PathBuf::from("./data/webqris.db"),
            max_body_bytes: 64 * 1024,
            log: "info".to_owned(),
            log_json: false,
            log_repeat_secs: Seconds::from_secs(60),
            public_url: None,
            invoice: InvoiceConfig::default(),
            notification: NotificationConfig::default(),
            webhook: WebhookConfig::default(),
            database: DatabaseConfig::default(),
            connection: ConnectionConfig::default(),
            websocket: WebSocketConfig::default(),
            forwarder: ForwarderConfig::default(),
            dashboard: DashboardConfig::default(),
            metrics: MetricsConfig::default(),
            readiness: ReadinessConfig::default(),
            retention: RetentionConfig::default(),
            clock: Clock::system(),
            setup_token: None,
        }
    }
}

/// Invoice settings (`[invoice]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvoiceConfig {
    /// How long a new invoice stays payable.
    pub ttl_secs: Seconds,
    /// Smallest `amount` accepted by create, Rupiah.
    pub amount_min: i64,
    /// Largest `amount` accepted by create, Rupiah.
    pub amount_max: i64,
    /// Smallest unique code added to the amount.
    pub unique_code_min: i64,
    /// Largest unique code added to the amount (the range bounds how many invoices of one amount can be
    /// pending at once).
    pub unique_code_max: i64,
    /// How long a total stays reserved after its invoice was paid or expired, so that a late payment or a
    /// double payment can never pay another customer's invoice.
    pub total_cooldown_secs: Seconds,
    /// How often overdue invoices are moved to `expired` (decimals allowed).
    pub expiry_sweep_secs: Seconds,
    /// Overdue invoices expired per transaction (and per `payments_expired` frame).
    pub expiry_batch: usize,
    /// Invoices one API token may create per second, sustained.
    pub create_per_sec_per_token: u32,
    /// Invoices one API token may create in a burst above that rate.
    pub create_burst_per_token: u32,
}

impl Default for InvoiceConfig {
    fn default() -> Self {
        Self {
            ttl_secs: Seconds::from_secs(1800),
            amount_min: 1,
            amount_max: 10_000_000,
            unique_code_min: 1,
            unique_code_max: 999,
            total_cooldown_secs: Seconds::from_secs(3600),
            expiry_sweep_secs: Seconds::from_secs(60),
            expiry_batch: 500,
            create_per_sec_per_token: 20,
            create_burst_per_token: 200,
        }
    }
}

/// Notification settings (`[notification]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationConfig {
    /// Identical content (same app, title and text) from one merchant within this window is a re-post of
    /// the same payment (duplicate); outside it, a new payment. Never longer than the total cooldown.
    pub duplicate_window_secs: Seconds,
}

impl Default for NotificationConfig {
    fn default() -> Self {
        Self {
            duplicate_window_secs: Seconds::from_secs(600),
        }
    }
}

/// Outbound webhook settings (`[webhook]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Delays before the retries after a failed attempt (seconds, decimals allowed). `[2, 4, 8]` means
    /// four attempts in all.
    pub retry_schedule: RetrySchedule,
    /// Time allowed for one attempt (connect, send, response).
    pub timeout_secs: Seconds,
    /// Time allowed to open the connection (within `timeout_secs`): an endpoint that cannot be reached
    /// costs this, not the whole attempt timeout.
    pub connect_timeout_secs: Seconds,
    /// Allow webhook targets on loopback, private, link-local, CGNAT or metadata addresses (LAN setups).
    pub allow_private_targets: bool,
    /// Attempts in flight at once across all merchants (this machine's bound).
    pub concurrency: usize,
    /// Attempts in flight at once to one endpoint (a merchant's webhook URL), counted in the database so
    /// that it holds for every worker sharing it.
    pub endpoint_concurrency: usize,
    /// Consecutive attempts to an endpoint that time out or cannot connect before its circuit opens (then
    /// one probe at a time until it answers).
    pub breaker_threshold: u32,
    /// While an endpoint's circuit is open, the pause between the end of one probe and the next.
    pub breaker_probe_secs: Seconds,
    /// How long a claimed delivery belongs to its worker; renewed every third of it while the attempt
    /// runs, so it only runs out when the worker is gone (or cannot reach the database).
    pub lease_secs: Seconds,
    /// Bytes of each response body kept in the attempt log.
    pub max_response_bytes: usize,
    /// How often the worker looks at the outbox when nothing rang it: work queued by another process
    /// (`webqris webhook replay`) is picked up within this.
    pub poll_secs: Seconds,
    /// After the webhook secret is rotated, how long the previous secret keeps signing too (both
    /// signatures in `webhook-signature`), so that receivers can switch without dropping a webhook.
    pub secret_overlap_secs: Seconds,
    /// An endpoint whose attempts have all failed for this long (no 2xx since) raises `webhook_alert`.
    pub failing_alert_secs: Seconds,
    /// How often endpoints are checked for that alert.
    pub alert_sweep_secs: Seconds,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            retry_schedule: RetrySchedule::outlasting_an_outage(),
            timeout_secs: Seconds::from_secs(10),
            connect_timeout_secs: Seconds::from_secs(3),
            allow_private_targets: false,
            concurrency: 32,
            endpoint_concurrency: 8,
            breaker_threshold: 5,
            breaker_probe_secs: Seconds::from_secs(5),
            lease_secs: Seconds::from_secs(15),
            max_response_bytes: 2048,
            poll_secs: Seconds::from_secs(5),
            secret_overlap_secs: Seconds::from_secs(24 * 3600),
            failing_alert_secs: Seconds::from_secs(3600),
            alert_sweep_secs: Seconds::from_secs(60),
        }
    }
}

/// Database settings (`[database]`): the first three for SQLite, the last two for PostgreSQL.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `PRAGMA synchronous` in WAL mode: `full` (default; a commit survives power loss) or `normal`
    /// (survives a crash of the process, may lose the last commits on power loss).
    pub synchronous: Synchronous,
    /// Read-only connections for queries (the single writer is separate).
    pub readers: usize,
    /// How long a connection waits for a lock held by another process (the CLI), milliseconds.
    pub busy_timeout_ms: u64,
    /// PostgreSQL connections this node keeps (reads and writes share them).
    pub pool: usize,
    /// How long connecting to PostgreSQL may take before it is an error.
    pub connect_timeout_secs: Seconds,
    /// Writes waiting for the single writer at most; beyond that a write is refused at once (the
    /// request is answered 503 with `Retry-After`) instead of memory growing.
    pub write_queue: usize,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            readers: 4,
            busy_timeout_ms: 5000,
            pool: 16,
            connect_timeout_secs: Seconds::from_secs(5),
            write_queue: 4096,
        }
    }
}

/// Connection settings (`[connection]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Time a client has to send a whole request head (line and headers) once it starts one.
    pub header_read_timeout_secs: Seconds,
    /// A keep-alive connection with no request in flight for this long is closed.
    pub idle_timeout_secs: Seconds,
    /// Connections open at once (WebSockets included); more are answered 503 and closed. Keep the
    /// process's file-descriptor limit (`ulimit -n`) above it.
    pub max_connections: usize,
    /// Connections open at once from one peer address (behind a reverse proxy, that is the proxy).
    pub max_connections_per_address: usize,
    /// Peers whose `X-Forwarded-For` is believed (the reverse proxies in front of this server); empty:
    /// the header is ignored and the peer's address is the client's.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: Seconds::from_secs(10),
            idle_timeout_secs: Seconds::from_secs(60),
            max_connections: 4096,
            max_connections_per_address: 256,
            trusted_proxies: Vec::new(),
        }
    }
}

/// WebSocket settings (`[websocket]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSocketConfig {
    /// Events a client may fall behind before it is disconnected (a slow client never slows the server).
    pub queue: usize,
    /// Time allowed to write one frame to a client before it is disconnected.
    pub send_timeout_secs: Seconds,
    /// A socket that sends nothing (no frame, no answer to the server's pings) for this long is closed.
    /// The server pings every third of it, and browsers and WebSocket libraries answer pings by
    /// themselves, so only dead or silent peers are cut.
    pub idle_timeout_secs: Seconds,
    /// WebSockets open at once (all kinds together).
    pub max_sockets: usize,
    /// WebSockets open at once from one client address.
    pub max_per_address: usize,
    /// WebSockets open at once with one credential (an API token, an operator token, a dashboard
    /// session).
    pub max_per_credential: usize,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            queue: 1024,
            send_timeout_secs: Seconds::from_secs(10),
            idle_timeout_secs: Seconds::from_secs(90),
            max_sockets: 2048,
            max_per_address: 64,
            max_per_credential: 16,
        }
    }
}

/// Forwarder settings (`[forwarder]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForwarderConfig {
    /// The heartbeat interval the server asks forwarders to keep.
    pub heartbeat_interval_secs: u64,
    /// A device not heard from for this long is shown as silent in the dashboard (its notifications may
    /// not be reaching the server).
    pub silence_alert_secs: Seconds,
    /// A device alive but whose oldest undelivered notification has waited this long (or with parked
    /// notifications) is shown as unable to deliver.
    pub stuck_alert_secs: Seconds,
    /// How often devices are checked for silence, so that the alert reaches the live feed.
    pub alert_sweep_secs: Seconds,
}

impl Default for ForwarderConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval_secs: 300,
            silence_alert_secs: Seconds::from_secs(900),
            stuck_alert_secs: Seconds::from_secs(300),
            alert_sweep_secs: Seconds::from_secs(60),
        }
    }
}

/// Dashboard settings (`[dashboard]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardConfig {
    /// Whether anyone may register an (ordinary) account in the browser. Off (the default): accounts are
    /// made by invite links from the operator or with `webqris account create`. Either way, the operator
    /// is made only by the one-time setup link or `webqris account create --operator`.
    pub registration: bool,
    /// How long an invite link stays usable.
    pub invite_ttl_secs: Seconds,
    /// Merchants one dashboard account may own.
    pub max_merchants_per_account: usize,
    /// How long a login stays valid (absolute, from the login).
    pub session_ttl_secs: Seconds,
    /// Failed logins allowed per login name, and per client address, within `login_window_secs`;
    /// further attempts are answered 429 until the window has passed.
    pub login_max_failures: u32,
    /// The window failed logins are counted in.
    pub login_window_secs: Seconds,
    /// Largest QR image (photo or screenshot) accepted for upload, in bytes.
    pub max_upload_bytes: usize,
    /// Password hashes (argon2id, 19 MiB each) computed at once, on their own threads; a login or
    /// registration that finds them all busy is answered 503 with `Retry-After`. Default: the number of
    /// CPU cores.
    pub password_hash_concurrency: usize,
}

/// The number of CPU cores (the default of the settings that bound CPU-heavy work).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            registration: false,
            invite_ttl_secs: Seconds::from_secs(7 * 24 * 3600),
            max_merchants_per_account: 50,
            session_ttl_secs: Seconds::from_secs(7 * 24 * 3600),
            login_max_failures: 5,
            login_window_secs: Seconds::from_secs(900),
            max_upload_bytes: 8 * 1024 * 1024,
            password_hash_concurrency: cores(),
        }
    }
}

/// Retention settings (`[retention]`): ages in days, 0 keeps rows forever.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Notifications received longer ago are deleted (except those a manual confirmation refers to).
    pub notifications_days: u64,
    /// Duplicate keys (`seen`) last counted longer ago are deleted: a copy of a notification replayed
    /// after that is no longer recognised by its client `event_hash`.
    pub seen_keys_days: u64,
    /// Attempts of finished webhook deliveries made longer ago are deleted.
    pub delivery_attempts_days: u64,
    /// Paid and expired invoices closed longer ago are deleted with their deliveries (never sooner than
    /// the total cooldown).
    pub finished_invoices_days: u64,
    /// Stored events (the feed of `GET /api/events` and `/ws/merchant?since=`) older than this are
    /// deleted: a client offline longer than that cannot catch up from its cursor.
    pub events_days: u64,
    /// How often the pruner runs.
    pub prune_every_secs: Seconds,
    /// Rows deleted per transaction.
    pub prune_batch: usize,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            notifications_days: 180,
            seen_keys_days: 180,
            delivery_attempts_days: 90,
            finished_invoices_days: 365,
            events_days: 30,
            prune_every_secs: Seconds::from_secs(3600),
            prune_batch: 500,
        }
    }
}

/// Metrics settings (`[metrics]`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` without a credential. Off (the default), a scraper sends an operator token in
    /// `Authorization: Bearer`. The metrics carry no merchant's data, but they do show a shop's volume.
    pub public: bool,
}

/// Readiness settings (`[readiness]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadinessConfig {
    /// How long `/readyz` waits for its probe write to commit before it answers 503.
    pub timeout_secs: Seconds,
}

impl Default for ReadinessConfig {
    fn default() -> Self {
        Self {
            timeout_secs: Seconds::from_secs(5),
        }
    }
}

/// `PRAGMA synchronous` for the WAL journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// Every commit is synced to disk before it is acknowledged.
    Full,
    /// Commits are synced at checkpoints; durable across process crashes, not power loss.
    Normal,
}

impl Synchronous {
    /// The pragma value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

impl FromStr for Synchronous {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(format!("expected `full` or `normal`, got {other:?}")),
        }
    }
}

/// A non-negative number of seconds, decimals allowed (`60`, `0.05`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(Duration);

impl Seconds {
    /// Whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// From a [`Duration`].
    pub const fn from_duration(duration: Duration) -> Self {
        Self(duration)
    }

    /// As a [`Duration`].
    pub const fn duration(self) -> Duration {
        self.0
    }

    /// In milliseconds, the unit of stored instants (saturating).
    pub fn millis(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }

    fn from_f64(secs: f64) -> Result<Self, String> {
        if !secs.is_finite() || secs < 0.0 {
            return Err(format!("{secs} is not a non-negative number of seconds"));
        }
        Duration::try_from_secs_f64(secs)
            .map(Self)
            .map_err(|e| format!("{secs} seconds: {e}"))
    }
}

impl FromStr for Seconds {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let secs: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a number of seconds"))?;
        Self::from_f64(secs)
    }
}

/// Whole seconds as an integer (`60`), others as a decimal (`0.05`): what the TOML file would say.
impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.subsec_nanos() == 0 {
            serializer.serialize_u64(self.0.as_secs())
        } else {
            serializer.serialize_f64(self.0.as_secs_f64())
        }
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Float(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Int(secs) => Ok(Self::from_secs(secs)),
            Raw::Float(secs) => Self::from_f64(secs).map_err(serde::de::Error::custom),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Delays before successive webhook retries. Written `2,4,8` (environment) or `[2, 4, 8]` / `"2,4,8"`
/// (TOML); empty means a single attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Seconds>);

impl RetrySchedule {
    /// The default: the contract's 2 s, 4 s, 8 s, then 1 min, 5 min, 30 min, 2 h, 6 h, 12 h and 24 h, so
    /// that a receiver down for a day (about 44.6 hours in all) still gets its webhooks.
    pub fn outlasting_an_outage() -> Self {
        Self(
            [2, 4, 8, 60, 300, 1800, 7200, 21_600, 43_200, 86_400]
                .into_iter()
                .map(Seconds::from_secs)
                .collect(),
        )
    }

    /// The time from the first attempt to the last (the sum of the delays).
    pub fn span(&self) -> Duration {
        self.0.iter().map(|s| s.duration()).sum()
    }

    /// The delay before retry number `retry` (1-based), or `None` when attempts are exhausted.
    pub fn delay_before_retry(&self, retry: usize) -> Option<Seconds> {
        retry.checked_sub(1).and_then(|i| self.0.get(i)).copied()
    }

    /// Attempts in all: the first one plus one per delay.
    pub fn max_attempts(&self) -> usize {
        self.0.len() + 1
    }
}

impl FromStr for RetrySchedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Ok(Self(Vec::new()));
        }
        s.split(',')
            .map(str::parse)
            .collect::<Result<Vec<Seconds>, _>>()
            .map(Self)
    }
}

impl Serialize for RetrySchedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RetrySchedule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            List(Vec<Seconds>),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::List(list) => Ok(Self(list)),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A database location as `webqris config` shows it: a URL's password (`postgres://user:pw@host/db`) is
/// replaced by `***`; a file path is shown as it is.
fn redacted_location<S: Serializer>(location: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::db::shown_location(location))
}

/// Why the configuration could not be loaded. Each variant names the file, variable or key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML file is not valid TOML or has an unknown key or a value of the wrong type.
    #[error("config file {path} is invalid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said (with line and column).
        source: Box<toml::de::Error>,
    },
    /// An environment variable has a value that does not parse.
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Env {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A setting is out of range once all layers are applied.
    #[error("setting {key} is invalid: {reason}")]
    Invalid {
        /// The TOML key.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

type EnvSetter = fn(&mut Config, &str) -> Result<(), String>;

fn parse<T: FromStr>(value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse::<T>().map_err(|e| e.to_string())
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

/// Every `WEBQRIS_*` environment variable the server reads, with the setting it overrides.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("WEBQRIS_LISTEN", "listen"),
    ("WEBQRIS_DB", "db"),
    ("WEBQRIS_MAX_BODY_BYTES", "max_body_bytes"),
    ("WEBQRIS_LOG", "log"),
    ("WEBQRIS_LOG_JSON", "log_json"),
    ("WEBQRIS_LOG_REPEAT_SECS", "log_repeat_secs"),
    ("WEBQRIS_PUBLIC_URL", "public_url"),
    ("WEBQRIS_INVOICE_TTL_SECS", "invoice.ttl_secs"),
    ("WEBQRIS_AMOUNT_MIN", "invoice.amount_min"),
    ("WEBQRIS_AMOUNT_MAX", "invoice.amount_max"),
    ("WEBQRIS_UNIQUE_CODE_MIN", "invoice.unique_code_min"),
    ("WEBQRIS_UNIQUE_CODE_MAX", "invoice.unique_code_max"),
    ("WEBQRIS_TOTAL_COOLDOWN_SECS", "invoice.total_cooldown_secs"),
    ("WEBQRIS_EXPIRY_SWEEP_SECS", "invoice.expiry_sweep_secs"),
    ("WEBQRIS_EXPIRY_BATCH", "invoice.expiry_batch"),
    (
        "WEBQRIS_CREATE_PER_SEC_PER_TOKEN",
        "invoice.create_per_sec_per_token",
    ),
    (
        "WEBQRIS_CREATE_BURST_PER_TOKEN",
        "invoice.create_burst_per_token",
    ),
    (
        "WEBQRIS_DUPLICATE_WINDOW_SECS",
        "notification.duplicate_window_secs",
    ),
    ("WEBQRIS_WEBHOOK_RETRY_SCHEDULE", "webhook.retry_schedule"),
    ("WEBQRIS_WEBHOOK_TIMEOUT_SECS", "webhook.timeout_secs"),
    (
        "WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS",
        "webhook.allow_private_targets",
    ),
    (
        "WEBQRIS_WEBHOOK_CONNECT_TIMEOUT_SECS",
        "webhook.connect_timeout_secs",
    ),
    ("WEBQRIS_WEBHOOK_CONCURRENCY", "webhook.concurrency"),
    (
        "WEBQRIS_WEBHOOK_ENDPOINT_CONCURRENCY",
        "webhook.endpoint_concurrency",
    ),
    (
        "WEBQRIS_WEBHOOK_BREAKER_THRESHOLD",
        "webhook.breaker_threshold",
    ),
    (
        "WEBQRIS_WEBHOOK_BREAKER_PROBE_SECS",
        "webhook.breaker_probe_secs",
    ),
    ("WEBQRIS_WEBHOOK_LEASE_SECS", "webhook.lease_secs"),
    (
        "WEBQRIS_WEBHOOK_MAX_RESPONSE_BYTES",
        "webhook.max_response_bytes",
    ),
    ("WEBQRIS_WEBHOOK_POLL_SECS", "webhook.poll_secs"),
    (
        "WEBQRIS_WEBHOOK_SECRET_OVERLAP_SECS",
        "webhook.secret_overlap_secs",
    ),
    (
        "WEBQRIS_WEBHOOK_FAILING_ALERT_SECS",
        "webhook.failing_alert_secs",
    ),
    (
        "WEBQRIS_WEBHOOK_ALERT_SWEEP_SECS",
        "webhook.alert_sweep_secs",
    ),
    ("WEBQRIS_DB_SYNCHRONOUS", "database.synchronous"),
    ("WEBQRIS_DB_READERS", "database.readers"),
    ("WEBQRIS_DB_BUSY_TIMEOUT_MS", "database.busy_timeout_ms"),
    ("WEBQRIS_DB_POOL", "database.pool"),
    (
        "WEBQRIS_DB_CONNECT_TIMEOUT_SECS",
        "database.connect_timeout_secs",
    ),
    ("WEBQRIS_DB_WRITE_QUEUE", "database.write_queue"),
    (
        "WEBQRIS_HEADER_READ_TIMEOUT_SECS",
        "connection.header_read_timeout_secs",
    ),
    ("WEBQRIS_IDLE_TIMEOUT_SECS", "connection.idle_timeout_secs"),
    ("WEBQRIS_MAX_CONNECTIONS", "connection.max_connections"),
    (
        "WEBQRIS_MAX_CONNECTIONS_PER_ADDRESS",
        "connection.max_connections_per_address",
    ),
    ("WEBQRIS_TRUSTED_PROXIES", "connection.trusted_proxies"),
    ("WEBQRIS_WS_QUEUE", "websocket.queue"),
    (
        "WEBQRIS_WS_SEND_TIMEOUT_SECS",
        "websocket.send_timeout_secs",
    ),
    (
        "WEBQRIS_WS_IDLE_TIMEOUT_SECS",
        "websocket.idle_timeout_secs",
    ),
    ("WEBQRIS_WS_MAX_SOCKETS", "websocket.max_sockets"),
    ("WEBQRIS_WS_MAX_PER_ADDRESS", "websocket.max_per_address"),
    (
        "WEBQRIS_WS_MAX_PER_CREDENTIAL",
        "websocket.max_per_credential",
    ),
    (
        "WEBQRIS_HEARTBEAT_INTERVAL_SECS",
        "forwarder.heartbeat_interval_secs",
    ),
    (
        "WEBQRIS_FORWARDER_SILENCE_ALERT_SECS",
        "forwarder.silence_alert_secs",
    ),
    (
        "WEBQRIS_FORWARDER_STUCK_ALERT_SECS",
        "forwarder.stuck_alert_secs",
    ),
    (
        "WEBQRIS_FORWARDER_ALERT_SWEEP_SECS",
        "forwarder.alert_sweep_secs",
    ),
    ("WEBQRIS_REGISTRATION", "dashboard.registration"),
    ("WEBQRIS_INVITE_TTL_SECS", "dashboard.invite_ttl_secs"),
    (
        "WEBQRIS_MAX_MERCHANTS_PER_ACCOUNT",
        "dashboard.max_merchants_per_account",
    ),
    ("WEBQRIS_SESSION_TTL_SECS", "dashboard.session_ttl_secs"),
    ("WEBQRIS_LOGIN_MAX_FAILURES", "dashboard.login_max_failures"),
    ("WEBQRIS_LOGIN_WINDOW_SECS", "dashboard.login_window_secs"),
    ("WEBQRIS_MAX_UPLOAD_BYTES", "dashboard.max_upload_bytes"),
    ("WEBQRIS_METRICS_PUBLIC", "metrics.public"),
    ("WEBQRIS_READINESS_TIMEOUT_SECS", "readiness.timeout_secs"),
    (
        "WEBQRIS_RETENTION_NOTIFICATIONS_DAYS",
        "retention.notifications_days",
    ),
    (
        "WEBQRIS_RETENTION_SEEN_KEYS_DAYS",
        "retention.seen_keys_days",
    ),
    (
        "WEBQRIS_RETENTION_DELIVERY_ATTEMPTS_DAYS",
        "retention.delivery_attempts_days",
    ),
    (
        "WEBQRIS_RETENTION_FINISHED_INVOICES_DAYS",
        "retention.finished_invoices_days",
    ),
    ("WEBQRIS_RETENTION_EVENTS_DAYS", "retention.events_days"),
    ("WEBQRIS_PRUNE_EVERY_SECS", "retention.prune_every_secs"),
    ("WEBQRIS_PRUNE_BATCH", "retention.prune_batch"),
    (
        "WEBQRIS_PASSWORD_HASH_CONCURRENCY",
        "dashboard.password_hash_concurrency",
    ),
];

fn parse_text(value: &str) -> Result<String, String> {
    Ok(value.to_owned())
}

fn parse_optional_text(value: &str) -> Result<Option<String>, String> {
    Ok(Some(value.to_owned()))
}

/// `10.0.0.2, ::1` (empty: none).
fn parse_addresses(value: &str) -> Result<Vec<IpAddr>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| a.parse().map_err(|_| format!("{a:?} is not an IP address")))
        .collect()
}

fn parse_path(value: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(value))
}

/// A setter for one field: `set!(invoice.ttl_secs, parse)` parses the text and assigns it.
macro_rules! set {
    ($($field:ident).+, $parse:expr) => {
        |c: &mut Config, v: &str| {
            c.$($field).+ = $parse(v)?;
            Ok(())
        }
    };
}

fn setter(key: &str) -> Option<EnvSetter> {
    let set: EnvSetter = match key {
        "listen" => set!(listen, parse),
        "db" => set!(db, parse_path),
        "max_body_bytes" => set!(max_body_bytes, parse),
        "log" => set!(log, parse_text),
        "log_json" => set!(log_json, parse_bool),
        "log_repeat_secs" => set!(log_repeat_secs, parse),
        "public_url" => set!(public_url, parse_optional_text),
        "invoice.ttl_secs" => set!(invoice.ttl_secs, parse),
        "invoice.amount_min" => set!(invoice.amount_min, parse),
        "invoice.amount_max" => set!(invoice.amount_max, parse),
        "invoice.unique_code_min" => set!(invoice.unique_code_min, parse),
        "invoice.unique_code_max" => set!(invoice.unique_code_max, parse),
        "invoice.total_cooldown_secs" => set!(invoice.total_cooldown_secs, parse),
        "invoice.expiry_sweep_secs" => set!(invoice.expiry_sweep_secs, parse),
        "invoice.expiry_batch" => set!(invoice.expiry_batch, parse),
        "invoice.create_per_sec_per_token" => set!(invoice.create_per_sec_per_token, parse),
        "invoice.create_burst_per_token" => set!(invoice.create_burst_per_token, parse),
        "notification.duplicate_window_secs" => set!(notification.duplicate_window_secs, parse),
        "webhook.retry_schedule" => set!(webhook.retry_schedule, parse),
        "webhook.timeout_secs" => set!(webhook.timeout_secs, parse),
        "webhook.allow_private_targets" => set!(webhook.allow_private_targets, parse_bool),
        "webhook.connect_timeout_secs" => set!(webhook.connect_timeout_secs, parse),
        "webhook.concurrency" => set!(webhook.concurrency, parse),
        "webhook.endpoint_concurrency" => set!(webhook.endpoint_concurrency, parse),
        "webhook.breaker_threshold" => set!(webhook.breaker_threshold, parse),
        "webhook.breaker_probe_secs" => set!(webhook.breaker_probe_secs, parse),
        "webhook.lease_secs" => set!(webhook.lease_secs, parse),
        "webhook.max_response_bytes" => set!(webhook.max_response_bytes, parse),
        "webhook.poll_secs" => set!(webhook.poll_secs, parse),
        "webhook.secret_overlap_secs" => set!(webhook.secret_overlap_secs, parse),
        "webhook.failing_alert_secs" => set!(webhook.failing_alert_secs, parse),
        "webhook.alert_sweep_secs" => set!(webhook.alert_sweep_secs, parse),
        "database.synchronous" => set!(database.synchronous, parse),
        "database.readers" => set!(database.readers, parse),
        "database.busy_timeout_ms" => set!(database.busy_timeout_ms, parse),
        "database.pool" => set!(database.pool, parse),
        "database.connect_timeout_secs" => set!(database.connect_timeout_secs, parse),
        "database.write_queue" => set!(database.write_queue, parse),
        "websocket.queue" => set!(websocket.queue, parse),
        "websocket.send_timeout_secs" => set!(websocket.send_timeout_secs, parse),
        "websocket.idle_timeout_secs" => set!(websocket.idle_timeout_secs, parse),
        "websocket.max_sockets" => set!(websocket.max_sockets, parse),
        "websocket.max_per_address" => set!(websocket.max_per_address, parse),
        "websocket.max_per_credential" => set!(websocket.max_per_credential, parse),
        "connection.header_read_timeout_secs" => {
            set!(connection.header_read_timeout_secs, parse)
        }
        "connection.idle_timeout_secs" => set!(connection.idle_timeout_secs, parse),
        "connection.max_connections" => set!(connection.max_connections, parse),
        "connection.max_connections_per_address" => {
            set!(connection.max_connections_per_address, parse)
        }
        "connection.trusted_proxies" => set!(connection.trusted_proxies, parse_addresses),
        "forwarder.heartbeat_interval_secs" => set!(forwarder.heartbeat_interval_secs, parse),
        "forwarder.silence_alert_secs" => set!(forwarder.silence_alert_secs, parse),
        "forwarder.stuck_alert_secs" => set!(forwarder.stuck_alert_secs, parse),
        "forwarder.alert_sweep_secs" => set!(forwarder.alert_sweep_secs, parse),
        "dashboard.registration" => set!(dashboard.registration, parse_bool),
        "dashboard.invite_ttl_secs" => set!(dashboard.invite_ttl_secs, parse),
        "dashboard.max_merchants_per_account" => {
            set!(dashboard.max_merchants_per_account, parse)
        }
        "dashboard.session_ttl_secs" => set!(dashboard.session_ttl_secs, parse),
        "dashboard.login_max_failures" => set!(dashboard.login_max_failures, parse),
        "dashboard.login_window_secs" => set!(dashboard.login_window_secs, parse),
        "dashboard.max_upload_bytes" => set!(dashboard.max_upload_bytes, parse),
        "metrics.public" => set!(metrics.public, parse_bool),
        "readiness.timeout_secs" => set!(readiness.timeout_secs, parse),
        "retention.notifications_days" => set!(retention.notifications_days, parse),
        "retention.seen_keys_days" => set!(retention.seen_keys_days, parse),
        "retention.delivery_attempts_days" => set!(retention.delivery_attempts_days, parse),
        "retention.finished_invoices_days" => set!(retention.finished_invoices_days, parse),
        "retention.events_days" => set!(retention.events_days, parse),
        "retention.prune_every_secs" => set!(retention.prune_every_secs, parse),
        "retention.prune_batch" => set!(retention.prune_batch, parse),
        "dashboard.password_hash_concurrency" => {
            set!(dashboard.password_hash_concurrency, parse)
        }
        _ => return None,
    };
    Some(set)
}

impl Config {
    /// Defaults, then the TOML `file` when given, then the environment as read by `env` (a function so
    /// that tests need not touch the process environment). Flags are applied by the caller afterwards,
    /// then [`Config::validated`].
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => Self::from_toml_file(path)?,
            None => Self::default(),
        };
        config.apply_env(env)?;
        Ok(config)
    }

    /// Reads a TOML file; keys it omits keep their defaults, unknown keys are refused.
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Applies every variable of [`ENVIRONMENT`] that `env` knows.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for (name, key) in ENVIRONMENT {
            let Some(value) = env(name) else { continue };
            let set = setter(key).expect("every ENVIRONMENT key has a setter (tested)");
            set(self, &value).map_err(|reason| ConfigError::Env {
                name,
                value: value.clone(),
                reason,
            })?;
        }
        Ok(())
    }

    /// Checks ranges once all layers are applied; clamps the duplicate window to the cooldown (the design
    /// requires it never to be longer) with a warning.
    pub fn validated(mut self) -> Result<Self, ConfigError> {
        let invalid = |key: &'static str, reason: String| ConfigError::Invalid { key, reason };
        let inv = &self.invoice;
        if inv.amount_min < 1 {
            return Err(invalid("invoice.amount_min", "must be at least 1".into()));
        }
        if inv.amount_max < inv.amount_min {
            return Err(invalid(
                "invoice.amount_max",
                format!("{} is below amount_min {}", inv.amount_max, inv.amount_min),
            ));
        }
        if inv.unique_code_min < 0 {
            return Err(invalid(
                "invoice.unique_code_min",
                "must be 0 or more".into(),
            ));
        }
        if inv.unique_code_max < inv.unique_code_min {
            return Err(invalid(
                "invoice.unique_code_max",
                format!(
                    "{} is below unique_code_min {}",
                    inv.unique_code_max, inv.unique_code_min
                ),
            ));
        }
        if inv.amount_max.checked_add(inv.unique_code_max).is_none() {
            return Err(invalid(
                "invoice.amount_max",
                "amount_max + unique_code_max overflows".into(),
            ));
        }
        if inv.ttl_secs.duration().is_zero() {
            return Err(invalid("invoice.ttl_secs", "must be more than 0".into()));
        }
        if inv.expiry_sweep_secs.duration().is_zero() {
            return Err(invalid(
                "invoice.expiry_sweep_secs",
                "must be more than 0".into(),
            ));
        }
        if self.log_repeat_secs.duration().is_zero() {
            return Err(invalid("log_repeat_secs", "must be more than 0".into()));
        }
        if self.max_body_bytes == 0 {
            return Err(invalid("max_body_bytes", "must be more than 0".into()));
        }
        if self.forwarder.alert_sweep_secs.duration().is_zero() {
            return Err(invalid(
                "forwarder.alert_sweep_secs",
                "must be more than 0".into(),
            ));
        }
        if self.webhook.timeout_secs.duration().is_zero() {
            return Err(invalid(
                "webhook.timeout_secs",
                "must be more than 0".into(),
            ));
        }
        if self.readiness.timeout_secs.duration().is_zero() {
            return Err(invalid(
                "readiness.timeout_secs",
                "must be more than 0".into(),
            ));
        }
        if self.webhook.connect_timeout_secs.duration().is_zero() {
            return Err(invalid(
                "webhook.connect_timeout_secs",
                "must be more than 0".into(),
            ));
        }
        if self.webhook.concurrency == 0 {
            return Err(invalid("webhook.concurrency", "must be at least 1".into()));
        }
        if self.webhook.endpoint_concurrency == 0 {
            return Err(invalid(
                "webhook.endpoint_concurrency",
                "must be at least 1".into(),
            ));
        }
        if self.webhook.breaker_threshold == 0 {
            return Err(invalid(
                "webhook.breaker_threshold",
                "must be at least 1".into(),
            ));
        }
        if self.webhook.lease_secs.millis() < 3 {
            return Err(invalid(
                "webhook.lease_secs",
                "must be at least 0.003 (it is renewed every third of it)".into(),
            ));
        }
        for (key, value) in [
            ("webhook.poll_secs", self.webhook.poll_secs),
            ("webhook.alert_sweep_secs", self.webhook.alert_sweep_secs),
        ] {
            if value.duration().is_zero() {
                return Err(invalid(key, "must be more than 0".into()));
            }
        }
        if self.database.readers == 0 {
            return Err(invalid("database.readers", "must be at least 1".into()));
        }
        for (key, value) in [
            ("websocket.queue", self.websocket.queue),
            ("invoice.expiry_batch", self.invoice.expiry_batch),
            ("retention.prune_batch", self.retention.prune_batch),
            ("database.write_queue", self.database.write_queue),
            ("database.pool", self.database.pool),
            (
                "dashboard.max_merchants_per_account",
                self.dashboard.max_merchants_per_account,
            ),
            ("websocket.max_sockets", self.websocket.max_sockets),
            ("websocket.max_per_address", self.websocket.max_per_address),
            (
                "websocket.max_per_credential",
                self.websocket.max_per_credential,
            ),
            (
                "connection.max_connections",
                self.connection.max_connections,
            ),
            (
                "connection.max_connections_per_address",
                self.connection.max_connections_per_address,
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1".into()));
            }
        }
        for (key, value) in [
            (
                "connection.header_read_timeout_secs",
                self.connection.header_read_timeout_secs,
            ),
            (
                "connection.idle_timeout_secs",
                self.connection.idle_timeout_secs,
            ),
            (
                "websocket.idle_timeout_secs",
                self.websocket.idle_timeout_secs,
            ),
        ] {
            if value.duration().is_zero() {
                return Err(invalid(key, "must be more than 0".into()));
            }
        }
        if let Some(url) = self.public_url.take() {
            self.public_url =
                Some(normalise_public_url(&url).map_err(|reason| invalid("public_url", reason))?);
        }
        if self.dashboard.session_ttl_secs.duration().is_zero() {
            return Err(invalid(
                "dashboard.session_ttl_secs",
                "must be more than 0".into(),
            ));
        }
        if self.dashboard.login_max_failures == 0 {
            return Err(invalid(
                "dashboard.login_max_failures",
                "must be at least 1".into(),
            ));
        }
        let days = |d: u64| Duration::from_secs(d.saturating_mul(24 * 3600));
        let r = &self.retention;
        if r.finished_invoices_days != 0
            && days(r.finished_invoices_days) < self.invoice.total_cooldown_secs.duration()
        {
            return Err(invalid(
                "retention.finished_invoices_days",
                "must cover invoice.total_cooldown_secs (a total is never reassigned too soon)"
                    .into(),
            ));
        }
        if r.seen_keys_days != 0
            && days(r.seen_keys_days) < self.notification.duplicate_window_secs.duration()
        {
            return Err(invalid(
                "retention.seen_keys_days",
                "must cover notification.duplicate_window_secs".into(),
            ));
        }
        if self.retention.prune_every_secs.duration().is_zero() {
            return Err(invalid(
                "retention.prune_every_secs",
                "must be more than 0".into(),
            ));
        }
        if self.dashboard.password_hash_concurrency == 0 {
            return Err(invalid(
                "dashboard.password_hash_concurrency",
                "must be at least 1".into(),
            ));
        }
        if self.notification.duplicate_window_secs > self.invoice.total_cooldown_secs {
            tracing::warn!(
                window = ?self.notification.duplicate_window_secs.duration(),
                cooldown = ?self.invoice.total_cooldown_secs.duration(),
                "notification.duplicate_window_secs is longer than invoice.total_cooldown_secs; clamped to the cooldown"
            );
            self.notification.duplicate_window_secs = self.invoice.total_cooldown_secs;
        }
        Ok(self)
    }
}

impl Config {
    /// The base URL this server is reached at, without a trailing slash: `public_url` when set, else
    /// `http://` + `bound` (the address actually listened on), with an unspecified address
    /// (`0.0.0.0`, `::`) replaced by loopback.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let ip = match bound.ip() {
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
            }
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
                std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
            }
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, bound.port()))
    }
}

/// Checks a `public_url`: an absolute http(s) URL with a host and nothing after the path; returns it
/// without a trailing slash.
fn normalise_public_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| format!("{text:?} is not an absolute URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("{text:?} must be an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "{text:?} must not carry a query, a fragment or credentials"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::load(None, env(&[])).expect("defaults load");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.db, PathBuf::from("./data/webqris.db"));
        assert_eq!(c.max_body_bytes, 65536);
        assert_eq!(c.invoice.ttl_secs, Seconds::from_secs(1800));
        assert_eq!(c.invoice.expiry_sweep_secs, Seconds::from_secs(60));
        assert_eq!(c.invoice.total_cooldown_secs, Seconds::from_secs(3600));
        assert_eq!(
            (c.invoice.unique_code_min, c.invoice.unique_code_max),
            (1, 999)
        );
        assert_eq!(c.invoice.amount_max, 10_000_000);
        assert_eq!(
            c.notification.duplicate_window_secs,
            Seconds::from_secs(600)
        );
        assert_eq!(
            c.webhook.retry_schedule,
            "2,4,8,60,300,1800,7200,21600,43200,86400"
                .parse()
                .expect("schedule")
        );
        assert_eq!(
            c.webhook.retry_schedule.max_attempts(),
            11,
            "the contract's first three retries, then seven more"
        );
        assert!(
            c.webhook.retry_schedule.span() >= Duration::from_secs(24 * 3600),
            "a receiver down for a whole day still gets its webhooks"
        );
        assert_eq!(c.webhook.poll_secs, Seconds::from_secs(5));
        assert_eq!(c.webhook.secret_overlap_secs, Seconds::from_secs(86400));
        assert_eq!(c.webhook.failing_alert_secs, Seconds::from_secs(3600));
        assert_eq!(c.webhook.timeout_secs, Seconds::from_secs(10));
        assert!(!c.webhook.allow_private_targets);
        assert_eq!(c.webhook.connect_timeout_secs, Seconds::from_secs(3));
        assert_eq!(
            (c.webhook.concurrency, c.webhook.endpoint_concurrency),
            (32, 8)
        );
        assert_eq!(c.webhook.breaker_threshold, 5);
        assert_eq!(c.webhook.breaker_probe_secs, Seconds::from_secs(5));
        assert_eq!(c.webhook.lease_secs, Seconds::from_secs(15));
        assert_eq!(c.database.synchronous, Synchronous::Full);
    }

    #[test]
    fn layers_apply_in_order_file_then_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("webqris.toml");
        std::fs::write(
            &file,
            r#"
listen = "0.0.0.0:9000"
[invoice]
ttl_secs = 900
total_cooldown_secs = 7200
[webhook]
retry_schedule = [1, 0.5]
allow_private_targets = true
"#,
        )
        .expect("write");
        let c = Config::load(
            Some(&file),
            env(&[
                ("WEBQRIS_INVOICE_TTL_SECS", "60"),
                ("WEBQRIS_WEBHOOK_RETRY_SCHEDULE", "0.01,0.02"),
            ]),
        )
        .expect("loads");
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000", "from the file");
        assert_eq!(
            c.invoice.total_cooldown_secs,
            Seconds::from_secs(7200),
            "from the file"
        );
        assert!(c.webhook.allow_private_targets, "from the file");
        assert_eq!(
            c.invoice.ttl_secs,
            Seconds::from_secs(60),
            "environment beats the file"
        );
        assert_eq!(
            c.webhook.retry_schedule.0,
            vec![
                Seconds::from_duration(Duration::from_millis(10)),
                Seconds::from_duration(Duration::from_millis(20))
            ]
        );
    }

    #[test]
    fn every_environment_variable_has_a_setter_and_rejects_garbage_by_name() {
        for (name, key) in ENVIRONMENT {
            assert!(setter(key).is_some(), "{name} -> {key} has a setter");
        }
        let err = Config::load(None, env(&[("WEBQRIS_INVOICE_TTL_SECS", "soon")]))
            .expect_err("garbage refused");
        assert!(
            err.to_string().contains("WEBQRIS_INVOICE_TTL_SECS"),
            "{err}"
        );
        let err = Config::load(
            None,
            env(&[("WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "maybe")]),
        )
        .expect_err("garbage refused");
        assert!(err.to_string().contains("ALLOW_PRIVATE_TARGETS"), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "[invoice]\nttl = 5\n").expect("write");
        let err = Config::load(Some(&file), env(&[])).expect_err("typo refused");
        assert!(err.to_string().contains("bad.toml"), "{err}");
        assert!(err.to_string().contains("ttl"), "{err}");
    }

    #[test]
    fn the_duplicate_window_is_clamped_to_the_cooldown() {
        let c = Config::load(
            None,
            env(&[
                ("WEBQRIS_TOTAL_COOLDOWN_SECS", "300"),
                ("WEBQRIS_DUPLICATE_WINDOW_SECS", "600"),
            ]),
        )
        .expect("loads")
        .validated()
        .expect("valid");
        assert_eq!(
            c.notification.duplicate_window_secs,
            Seconds::from_secs(300)
        );
    }

    #[test]
    fn out_of_range_settings_are_refused_with_their_key() {
        let mut c = Config::default();
        c.invoice.unique_code_max = 0;
        let err = c.validated().expect_err("max below min");
        assert!(err.to_string().contains("invoice.unique_code_max"), "{err}");
        let mut c = Config::default();
        c.webhook.endpoint_concurrency = 0;
        let err = c.validated().expect_err("no slot per endpoint");
        assert!(
            err.to_string().contains("webhook.endpoint_concurrency"),
            "{err}"
        );
        let mut c = Config::default();
        c.webhook.lease_secs = Seconds::from_secs(0);
        let err = c.validated().expect_err("no lease");
        assert!(err.to_string().contains("webhook.lease_secs"), "{err}");
        assert!("-1".parse::<Seconds>().is_err());
        assert!("NaN".parse::<Seconds>().is_err());
        assert_eq!(
            "".parse::<RetrySchedule>()
                .expect("empty ok")
                .max_attempts(),
            1
        );
    }

    #[test]
    fn the_public_url_is_checked_and_otherwise_derived_from_the_bound_address() {
        let bound: SocketAddr = "0.0.0.0:9090".parse().expect("addr");
        assert_eq!(
            Config::default().public_base(bound),
            "http://127.0.0.1:9090"
        );
        let c = Config::load(
            None,
            env(&[("WEBQRIS_PUBLIC_URL", "https://pay.example.com/webqris/")]),
        )
        .expect("loads")
        .validated()
        .expect("valid");
        assert_eq!(c.public_base(bound), "https://pay.example.com/webqris");
        for bad in [
            "pay.example.com",
            "ftp://x.example",
            "https://x.example/?a=1",
        ] {
            let err = Config::load(None, env(&[("WEBQRIS_PUBLIC_URL", bad)]))
                .expect("loads")
                .validated()
                .expect_err("refused");
            assert!(err.to_string().contains("public_url"), "{err}");
        }
    }

    /// Every leaf of a JSON object as a dotted key.
    fn leaf_keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        match value.as_object() {
            Some(map) => {
                for (key, inner) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    leaf_keys(inner, &path, out);
                }
            }
            None => out.push(prefix.to_owned()),
        }
    }

    #[test]
    fn the_effective_configuration_lists_every_key_with_its_value_and_no_password() {
        let c = Config::load(
            None,
            env(&[
                ("WEBQRIS_WEBHOOK_RETRY_SCHEDULE", "1,0.5"),
                (
                    "WEBQRIS_DB",
                    "postgres://webqris:hunter2@db.example/webqris",
                ),
            ]),
        )
        .expect("loads")
        .validated()
        .expect("valid");
        let shown = serde_json::to_value(&c).expect("serialises");
        let mut keys = Vec::new();
        leaf_keys(&shown, "", &mut keys);
        keys.sort();
        let mut expected: Vec<String> = ENVIRONMENT.iter().map(|(_, k)| (*k).to_owned()).collect();
        expected.sort();
        assert_eq!(keys, expected, "every setting, and nothing else");
        assert_eq!(
            shown["webhook"]["retry_schedule"],
            serde_json::json!([1, 0.5])
        );
        assert_eq!(shown["invoice"]["ttl_secs"], 1800);
        assert_eq!(shown["database"]["synchronous"], "full");
        assert_eq!(shown["db"], "postgres://webqris:***@db.example/webqris");
        assert!(!shown.to_string().contains("hunter2"), "{shown}");
        let path = Config::default();
        assert_eq!(
            serde_json::to_value(&path).expect("json")["db"],
            "./data/webqris.db"
        );
    }

    #[test]
    fn the_readme_documents_every_setting() {
        let readme = include_str!("../../README.md");
        for (name, key) in ENVIRONMENT {
            assert!(readme.contains(name), "README mentions {name}");
            assert!(
                readme.contains(&format!("`{key}`")),
                "README mentions `{key}`"
            );
        }
    }
}
