//! The server's Prometheus metrics (`GET /metrics`, Prometheus text format 0.0.4): one registry per
//! server, and a small typed API the rest of the server calls at the moment something happens
//! ([`Metrics::payment_paid`], [`Metrics::webhook_attempt`], …). Gauges of what is stored (the webhook
//! outbox, forwarder devices) are read from the database at scrape time ([`OpsSnapshot`]).
//!
//! Labels are aggregates only: every label value comes from a closed set (an outcome, an app family, a
//! route template such as `/api/payments/{invoiceId}/status`, a status code), never from a merchant's
//! name, a token, an invoice id, an amount or a raw path, so a scrape reveals no merchant's business and
//! its size stays bounded whatever clients send.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use webqris_core::notification::app_family;

use crate::db::{NotificationOutcome, NotificationSource, OpsSnapshot};

/// Latency buckets of HTTP requests, seconds.
const HTTP_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Latency buckets of webhook attempts, seconds (the default attempt timeout is 10 s).
const WEBHOOK_BUCKETS: [f64; 11] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Latency buckets of database commits, seconds (an fsync takes 0.1–10 ms on common disks).
const COMMIT_BUCKETS: [f64; 13] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// The route label of a request that matched no route (never its raw path).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// How a payment was confirmed, for `webqris_payments_paid_total{method}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaidBy {
    /// A forwarded notification of a payment app.
    App,
    /// `POST /api/callback/notify`.
    Callback,
    /// A person in the dashboard.
    Manual,
    /// A simulated payment of a sandbox (test) invoice: no money moved.
    Sandbox,
}

impl PaidBy {
    const fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Callback => "callback",
            Self::Manual => "manual",
            Self::Sandbox => "sandbox",
        }
    }
}

/// What one webhook attempt came to, for `webqris_webhook_attempts_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    /// A 2xx answer.
    Delivered,
    /// An answer that is not 2xx.
    Rejected,
    /// No answer: a timeout or a connection that could not be made (refused, DNS, TLS).
    Unreachable,
    /// Anything else: nothing sent (no webhook URL, a refused target, a lease lost mid-attempt) or
    /// another error.
    Other,
}

impl WebhookResult {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Rejected => "rejected",
            Self::Unreachable => "unreachable",
            Self::Other => "other",
        }
    }
}

/// Who a WebSocket is open for, for `webqris_websockets_open{kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// `/ws` with an operator token or the operator's session.
    Operator,
    /// `/ws` with another dashboard account's session.
    Account,
    /// `/ws/merchant` with an API token.
    Merchant,
    /// `/pay/{token}/ws`, a customer's payment page.
    PaymentPage,
}

impl SocketKind {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Account => "account",
            Self::Merchant => "merchant",
            Self::PaymentPage => "payment_page",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PaidLabels {
    method: &'static str,
    family: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotificationLabels {
    source: &'static str,
    outcome: &'static str,
    family: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertLabels {
    alert: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_BUCKETS)
}

fn webhook_histogram() -> Histogram {
    Histogram::new(WEBHOOK_BUCKETS)
}

/// Every metric of the server. Cheap to clone (one shared registry).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    payments_created: Counter,
    payments_paid: Family<PaidLabels, Counter>,
    payments_expired: Counter,
    notifications: Family<NotificationLabels, Counter>,
    webhook_attempts: Family<ResultLabels, Counter>,
    webhook_duration: HistogramFamily<ResultLabels>,
    outbox_pending: Gauge,
    outbox_due: Gauge,
    outbox_in_flight: Gauge,
    outbox_oldest_due_age: Gauge<f64, AtomicU64>,
    endpoints_failing: Gauge,
    devices: Gauge,
    devices_silent: Gauge,
    devices_alerting: Family<AlertLabels, Gauge>,
    http_requests: Family<StatusLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
    db_batch: Histogram,
    db_commit: Histogram,
    websockets: Family<KindLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let inner = Inner {
            payments_created: Counter::default(),
            payments_paid: Family::default(),
            payments_expired: Counter::default(),
            notifications: Family::default(),
            webhook_attempts: Family::default(),
            webhook_duration: Family::new_with_constructor(webhook_histogram),
            outbox_pending: Gauge::default(),
            outbox_due: Gauge::default(),
            outbox_in_flight: Gauge::default(),
            outbox_oldest_due_age: Gauge::default(),
            endpoints_failing: Gauge::default(),
            devices: Gauge::default(),
            devices_silent: Gauge::default(),
            devices_alerting: Family::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(http_histogram),
            db_batch: Histogram::new(exponential_buckets(1.0, 2.0, 8)),
            db_commit: Histogram::new(COMMIT_BUCKETS),
            websockets: Family::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "webqris_payments_created",
            "Invoices created",
            inner.payments_created.clone(),
        );
        r.register(
            "webqris_payments_paid",
            "Invoices paid, by how (app, callback, manual) and the paying app's family",
            inner.payments_paid.clone(),
        );
        r.register(
            "webqris_payments_expired",
            "Invoices expired by the sweep",
            inner.payments_expired.clone(),
        );
        r.register(
            "webqris_notifications",
            "Notifications received, by source, outcome and app family",
            inner.notifications.clone(),
        );
        r.register(
            "webqris_webhook_attempts",
            "Webhook attempts, by result (delivered; rejected: not 2xx; unreachable: timeout or no connection; other: not sent or another error)",
            inner.webhook_attempts.clone(),
        );
        r.register(
            "webqris_webhook_attempt_duration_seconds",
            "Time one webhook attempt took, by result",
            inner.webhook_duration.clone(),
        );
        r.register(
            "webqris_webhook_outbox_pending",
            "Webhook deliveries not yet delivered or failed (the outbox depth)",
            inner.outbox_pending.clone(),
        );
        r.register(
            "webqris_webhook_outbox_due",
            "Pending webhook deliveries whose next attempt is due now",
            inner.outbox_due.clone(),
        );
        r.register(
            "webqris_webhook_outbox_in_flight",
            "Webhook deliveries being attempted (leased by a worker)",
            inner.outbox_in_flight.clone(),
        );
        r.register(
            "webqris_webhook_outbox_oldest_due_age_seconds",
            "How long the longest-waiting due webhook delivery has been due (0 when none is due)",
            inner.outbox_oldest_due_age.clone(),
        );
        r.register(
            "webqris_webhook_endpoints_failing",
            "Merchants' webhook endpoints with no 2xx for webhook.failing_alert_secs (their alert is raised)",
            inner.endpoints_failing.clone(),
        );
        r.register(
            "webqris_forwarder_devices",
            "Forwarder devices known (every merchant)",
            inner.devices.clone(),
        );
        r.register(
            "webqris_forwarder_devices_silent",
            "Forwarder devices not heard from for forwarder.silence_alert_secs",
            inner.devices_silent.clone(),
        );
        r.register(
            "webqris_forwarder_devices_alerting",
            "Forwarder devices by the alert last announced for them",
            inner.devices_alerting.clone(),
        );
        r.register(
            "webqris_http_requests",
            "HTTP requests answered, by method, route template and status",
            inner.http_requests.clone(),
        );
        r.register(
            "webqris_http_request_duration_seconds",
            "Time to answer an HTTP request (WebSockets: until the upgrade), by method and route template",
            inner.http_duration.clone(),
        );
        r.register(
            "webqris_db_write_batch_size",
            "Writes committed together in one database transaction (group commit)",
            inner.db_batch.clone(),
        );
        r.register(
            "webqris_db_commit_duration_seconds",
            "Time the database took to make one group commit durable",
            inner.db_commit.clone(),
        );
        r.register(
            "webqris_websockets_open",
            "WebSockets open now, by kind",
            inner.websockets.clone(),
        );
        let build: Family<VersionLabels, Gauge> = Family::default();
        build
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        r.register("webqris_build_info", "The running webqris version", build);
        let started: Gauge = Gauge::default();
        started.set(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        );
        r.register(
            "process_start_time_seconds",
            "When this server process started, Unix time",
            started,
        );
        Self(Arc::new(Inner { registry, ..inner }))
    }

    /// An invoice was created.
    pub fn payment_created(&self) {
        self.0.payments_created.inc();
    }

    /// An invoice was paid with `payment_method` (an app's package, `callback` or `manual`).
    pub fn payment_paid(&self, payment_method: &str) {
        let (method, family) = match payment_method {
            "callback" => (PaidBy::Callback, "none".to_owned()),
            "manual" => (PaidBy::Manual, "none".to_owned()),
            "sandbox" => (PaidBy::Sandbox, "none".to_owned()),
            package => (PaidBy::App, family_label(Some(package))),
        };
        self.0
            .payments_paid
            .get_or_create(&PaidLabels {
                method: method.as_str(),
                family,
            })
            .inc();
    }

    /// The expiry sweep expired `count` invoices.
    pub fn payments_expired(&self, count: usize) {
        self.0
            .payments_expired
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// A notification from `source`, posted by `app` (a package name, when it has one), was stored with
    /// `outcome`.
    pub fn notification(
        &self,
        source: NotificationSource,
        app: Option<&str>,
        outcome: NotificationOutcome,
    ) {
        self.0
            .notifications
            .get_or_create(&NotificationLabels {
                source: source.as_str(),
                outcome: outcome.as_str(),
                family: family_label(app),
            })
            .inc();
    }

    /// A webhook attempt ended with `result` after `took`.
    pub fn webhook_attempt(&self, result: WebhookResult, took: Duration) {
        let labels = ResultLabels {
            result: result.as_str(),
        };
        self.0.webhook_attempts.get_or_create(&labels).inc();
        self.0
            .webhook_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// The database committed `writes` writes together; the commit took `took`.
    pub fn committed(&self, writes: usize, took: Duration) {
        // usize → f64 is exact for any batch the writer can hold.
        self.0.db_batch.observe(writes as f64);
        self.0.db_commit.observe(took.as_secs_f64());
    }

    /// A WebSocket of `kind` opened; it counts as open until the returned guard is dropped.
    pub fn websocket_opened(&self, kind: SocketKind) -> OpenSocket {
        let gauge = self.0.websockets.get_or_create_owned(&KindLabels {
            kind: kind.as_str(),
        });
        gauge.inc();
        OpenSocket(gauge)
    }

    /// A request to `route` (a template, or [`UNMATCHED_ROUTE`]) was answered `status` after `took`.
    pub fn http_request(&self, method: &Method, route: &str, status: u16, took: Duration) {
        let method = method_label(method);
        self.0
            .http_requests
            .get_or_create(&StatusLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
        self.0
            .http_duration
            .get_or_create(&RouteLabels {
                method,
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Every metric in the Prometheus text format, with the stored gauges set from `snapshot`.
    pub fn render(&self, snapshot: &OpsSnapshot) -> String {
        let m = &self.0;
        m.outbox_pending.set(snapshot.outbox.pending);
        m.outbox_due.set(snapshot.outbox.due);
        m.outbox_in_flight.set(snapshot.outbox.in_flight);
        m.outbox_oldest_due_age.set(
            snapshot
                .outbox
                .oldest_due_age
                .map_or(0.0, |age| age.as_secs_f64()),
        );
        m.endpoints_failing.set(snapshot.outbox.endpoints_failing);
        m.devices.set(snapshot.devices.total);
        m.devices_silent.set(snapshot.devices.silent);
        m.devices_alerting.clear();
        for (alert, count) in &snapshot.devices.alerting {
            m.devices_alerting
                .get_or_create(&AlertLabels { alert })
                .set(*count);
        }
        let mut text = String::new();
        if let Err(e) = prometheus_text::encode(&mut text, &m.registry) {
            // Writing into a String cannot fail; keep what was written and say so in the scrape.
            let _ = writeln!(text, "# encoding failed: {e}");
        }
        text
    }
}

/// An open WebSocket, counted in `webqris_websockets_open` until dropped.
#[derive(Debug)]
pub struct OpenSocket(Gauge);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The `family` label of an app package: its family in the core's table as snake case
/// (`gopay_merchant`), `other` for a package the table does not know, `none` without a package.
fn family_label(app: Option<&str>) -> String {
    let Some(app) = app.map(str::trim).filter(|a| !a.is_empty()) else {
        return "none".to_owned();
    };
    match app_family(app) {
        Some(family) => snake_case(&format!("{family:?}")),
        None => "other".to_owned(),
    }
}

/// `GoPayMerchant` → `go_pay_merchant`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The method label: the standard methods by name, anything else `other` (a client may send any token
/// as a method).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware recording every request by its route template (axum's [`MatchedPath`]; requests that
/// matched no route are [`UNMATCHED_ROUTE`]), method and status.
pub async fn track_http(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.http_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{DeviceStats, OutboxStats};

    fn snapshot() -> OpsSnapshot {
        OpsSnapshot {
            outbox: OutboxStats {
                pending: 3,
                due: 2,
                in_flight: 1,
                oldest_due_age: Some(Duration::from_millis(1500)),
                endpoints_failing: 2,
            },
            devices: DeviceStats {
                total: 4,
                silent: 1,
                alerting: vec![("silent", 1), ("cannot_deliver", 2)],
            },
        }
    }

    fn line<'t>(text: &'t str, prefix: &str) -> &'t str {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
    }

    #[test]
    fn app_families_become_snake_case_labels_and_unknown_apps_other() {
        assert_eq!(
            family_label(Some("com.gojek.gopaymerchant")),
            "go_pay_merchant"
        );
        assert_eq!(family_label(Some(" id.dana ")), "dana");
        assert_eq!(family_label(Some("com.example.anything")), "other");
        assert_eq!(family_label(Some("")), "none");
        assert_eq!(family_label(None), "none");
    }

    #[test]
    fn the_scrape_is_prometheus_text_with_every_metric_and_the_snapshot_gauges() {
        let metrics = Metrics::new();
        metrics.payment_created();
        metrics.payment_paid("id.dana");
        metrics.payment_paid("manual");
        metrics.payment_paid("sandbox");
        metrics.payments_expired(3);
        metrics.notification(
            NotificationSource::Forwarder,
            Some("com.gojek.gopaymerchant"),
            NotificationOutcome::NoMatch,
        );
        metrics.webhook_attempt(WebhookResult::Rejected, Duration::from_millis(20));
        metrics.committed(5, Duration::from_micros(700));
        metrics.http_request(
            &Method::GET,
            "/api/payments/{invoiceId}/status",
            200,
            Duration::from_millis(3),
        );
        let socket = metrics.websocket_opened(SocketKind::Merchant);
        let text = metrics.render(&snapshot());
        for (prefix, value) in [
            ("webqris_payments_created_total ", "1"),
            (
                "webqris_payments_paid_total{method=\"app\",family=\"dana\"} ",
                "1",
            ),
            (
                "webqris_payments_paid_total{method=\"manual\",family=\"none\"} ",
                "1",
            ),
            (
                "webqris_payments_paid_total{method=\"sandbox\",family=\"none\"} ",
                "1",
            ),
            ("webqris_payments_expired_total ", "3"),
            (
                "webqris_notifications_total{source=\"forwarder\",outcome=\"no_match\",family=\"go_pay_merchant\"} ",
                "1",
            ),
            ("webqris_webhook_attempts_total{result=\"rejected\"} ", "1"),
            (
                "webqris_webhook_attempt_duration_seconds_count{result=\"rejected\"} ",
                "1",
            ),
            ("webqris_webhook_outbox_pending ", "3"),
            ("webqris_webhook_outbox_due ", "2"),
            ("webqris_webhook_outbox_in_flight ", "1"),
            ("webqris_webhook_outbox_oldest_due_age_seconds ", "1.5"),
            ("webqris_webhook_endpoints_failing ", "2"),
            ("webqris_forwarder_devices ", "4"),
            ("webqris_forwarder_devices_silent ", "1"),
            (
                "webqris_forwarder_devices_alerting{alert=\"cannot_deliver\"} ",
                "2",
            ),
            ("webqris_db_write_batch_size_sum ", "5.0"),
            ("webqris_db_write_batch_size_bucket{le=\"4\"} ", "0"),
            ("webqris_db_write_batch_size_bucket{le=\"8\"} ", "1"),
            ("webqris_db_commit_duration_seconds_count ", "1"),
            (
                "webqris_http_requests_total{method=\"GET\",route=\"/api/payments/{invoiceId}/status\",status=\"200\"} ",
                "1",
            ),
            (
                "webqris_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/payments/{invoiceId}/status\",le=\"0.005\"} ",
                "1",
            ),
            ("webqris_websockets_open{kind=\"merchant\"} ", "1"),
        ] {
            assert_eq!(
                line(&text, prefix).trim_start_matches(prefix),
                value,
                "{prefix}"
            );
        }
        assert!(line(&text, "webqris_build_info{").ends_with(" 1"));
        assert!(text.contains("# TYPE webqris_http_request_duration_seconds histogram"));
        assert!(!text.contains("# EOF"), "Prometheus text, not OpenMetrics");
        drop(socket);
        let text = metrics.render(&snapshot());
        assert_eq!(
            line(&text, "webqris_websockets_open{kind=\"merchant\"} "),
            "webqris_websockets_open{kind=\"merchant\"} 0"
        );
    }

    #[test]
    fn alerts_that_cleared_leave_the_scrape() {
        let metrics = Metrics::new();
        metrics.render(&snapshot());
        let mut healthy = snapshot();
        healthy.devices.alerting.clear();
        let text = metrics.render(&healthy);
        assert!(
            !text.contains("webqris_forwarder_devices_alerting{"),
            "{text}"
        );
    }
}
