//! Bounded log volume. A line that can repeat once per request or per attempt (a refused request, a
//! merchant's failing webhook endpoint, a slow WebSocket client) goes through [`Repeats`]: the first of
//! its [`Kind`] in an interval is written in full, the others are only counted, and one summary line per
//! kind reports the count once the interval is over. A flood of any size therefore writes at most two
//! lines per kind per interval, and since the kinds are fixed in the code the tally itself is bounded.
//!
//! Every HTTP answer of 400 or above is counted by [`outcomes`] (the router's outermost layer): expected
//! refusals (4xx, 429, 503) at `info` or `warn`, never `error`; internal errors and panics at `error`,
//! the first of an interval with its detail.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::watch;
use tracing::Level;

use crate::periodic;
use crate::state::AppState;

/// One kind of repeatable log line: a short stable name, the HTTP status for refused requests, and the
/// level its lines are written at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kind {
    name: &'static str,
    status: Option<StatusCode>,
    level: Level,
}

impl Kind {
    /// A kind written at `warn`.
    pub const fn warn(name: &'static str) -> Self {
        Self {
            name,
            status: None,
            level: Level::WARN,
        }
    }

    /// A kind written at `error`.
    pub const fn error(name: &'static str) -> Self {
        Self {
            name,
            status: None,
            level: Level::ERROR,
        }
    }

    /// Requests answered with `status`: 5xx at `error` (our faults), 429 and 503 at `warn` (a limit
    /// reached, no free unique code: worth an operator's look, not an error), other 4xx at `info`.
    pub fn refused(status: StatusCode) -> Self {
        let level = match status.as_u16() {
            503 | 429 => Level::WARN,
            500.. => Level::ERROR,
            _ => Level::INFO,
        };
        Self {
            name: "request_refused",
            status: Some(status),
            level,
        }
    }

    /// The kind's name, as written in its lines' `kind` field.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// A webhook attempt failed and will be retried (a merchant's endpoint down or refusing).
pub const WEBHOOK_RETRY: Kind = Kind::warn("webhook_retry");
/// A webhook used up its attempts (a merchant's endpoint failing for long); stored and shown.
pub const WEBHOOK_FAILED: Kind = Kind::warn("webhook_failed");
/// A WebSocket client fell behind and was disconnected.
pub const SOCKET_TOO_SLOW: Kind = Kind::warn("websocket_too_slow");
/// A dashboard login or registration refused by the attempt limit.
pub const LOGIN_REFUSED: Kind = Kind::warn("login_refused");
/// A connection could not be accepted (out of file descriptors, reset before accept).
pub const ACCEPT_FAILED: Kind = Kind::warn("accept_failed");
/// An API token's last use could not be recorded (the writer is busy or failing).
pub const TOKEN_USE_NOT_RECORDED: Kind = Kind::warn("token_use_not_recorded");
/// A payment page socket could not read its invoice.
pub const PAGE_SOCKET_READ: Kind = Kind::warn("page_socket_read");
/// A request failed by a fault of ours (the answer is a 500).
pub const INTERNAL_ERROR: Kind = Kind::error("internal_error");

/// Writes one event at a level chosen at run time (tracing's macros need it at compile time).
macro_rules! event_at {
    ($level:expr, $($rest:tt)+) => {
        match $level {
            Level::ERROR => tracing::error!($($rest)+),
            Level::WARN => tracing::warn!($($rest)+),
            Level::INFO => tracing::info!($($rest)+),
            _ => tracing::debug!($($rest)+),
        }
    };
}

#[derive(Debug)]
struct Tally {
    since: Instant,
    /// Occurrences counted, not written, since `since`.
    counted: u64,
}

/// The per-kind tally of repeatable log lines. Cheap to clone; clones share the tally.
#[derive(Debug, Clone)]
pub struct Repeats {
    interval: Duration,
    kinds: Arc<Mutex<HashMap<Kind, Tally>>>,
}

impl Repeats {
    /// A tally writing at most one full line and one summary line per kind per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            kinds: Arc::default(),
        }
    }

    /// Counts one occurrence of `kind`. True when it is the first of its interval, and the caller writes
    /// it in full; false when it was only counted.
    pub fn first(&self, kind: Kind) -> bool {
        let now = Instant::now();
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        match kinds.get_mut(&kind) {
            Some(tally) if now.duration_since(tally.since) < self.interval => {
                tally.counted += 1;
                false
            }
            Some(tally) => {
                summarise(kind, tally.counted, now.duration_since(tally.since));
                *tally = Tally {
                    since: now,
                    counted: 0,
                };
                true
            }
            None => {
                kinds.insert(
                    kind,
                    Tally {
                        since: now,
                        counted: 0,
                    },
                );
                true
            }
        }
    }

    /// Writes the summary of every kind whose interval is over, and forgets it (its next occurrence is
    /// written in full again). `all`: every kind, whether or not its interval is over (at shutdown).
    pub fn flush(&self, all: bool) {
        let now = Instant::now();
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        kinds.retain(|kind, tally| {
            let elapsed = now.duration_since(tally.since);
            if all || elapsed >= self.interval {
                summarise(*kind, tally.counted, elapsed);
                false
            } else {
                true
            }
        });
    }
}

/// The summary line of `counted` occurrences of `kind` over `elapsed` (nothing when none was counted).
fn summarise(kind: Kind, counted: u64, elapsed: Duration) {
    if counted == 0 {
        return;
    }
    let over_secs = elapsed.as_secs();
    match kind.status {
        Some(status) => event_at!(
            kind.level,
            kind = kind.name,
            status = status.as_u16(),
            repeats = counted,
            over_secs,
            "more requests refused alike; counted, not logged one by one"
        ),
        None => event_at!(
            kind.level,
            kind = kind.name,
            repeats = counted,
            over_secs,
            "more alike; counted, not logged one by one"
        ),
    }
}

/// Writes the summaries that are due every interval until the server stops (the server writes the rest
/// when it has stopped).
pub async fn run(state: AppState, stop: watch::Receiver<bool>) {
    let repeats = state.repeats.clone();
    periodic::every(repeats.interval, stop, "log summary", || {
        repeats.flush(false);
        std::future::ready(Ok::<(), crate::db::DbError>(()))
    })
    .await;
}

/// What a refused request was told (set by [`crate::error::AppError`]'s response), for the log.
#[derive(Debug, Clone)]
pub struct Refusal(pub String);

/// The detail of an internal error or a panic (set on its 500 response), for the log only.
#[derive(Debug, Clone)]
pub struct Fault(pub String);

/// The router's outermost layer: counts every answer of 400 or above in [`Repeats`] and writes the first
/// of each status per interval (the method, the path without its query, which may hold a token, and the
/// message or fault detail).
pub async fn outcomes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    let path = uri.path();
    if let Some(Fault(detail)) = response.extensions().get::<Fault>() {
        if state.repeats.first(INTERNAL_ERROR) {
            tracing::error!(kind = INTERNAL_ERROR.name, %method, path, status = status.as_u16(), %detail, "internal error");
        }
        return response;
    }
    let kind = Kind::refused(status);
    if state.repeats.first(kind) {
        let message = response
            .extensions()
            .get::<Refusal>()
            .map_or("", |Refusal(m)| m.as_str());
        event_at!(
            kind.level,
            kind = kind.name,
            %method,
            path,
            status = status.as_u16(),
            message,
            "request refused; more alike are counted"
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_of_a_kind_in_an_interval_is_written_and_the_rest_are_counted() {
        let repeats = Repeats::new(Duration::from_secs(3600));
        let no_code = Kind::refused(StatusCode::SERVICE_UNAVAILABLE);
        let garbage = Kind::refused(StatusCode::BAD_REQUEST);
        assert!(repeats.first(no_code));
        assert!(repeats.first(garbage), "each kind has its own tally");
        assert!(repeats.first(WEBHOOK_RETRY));
        for _ in 0..10_000 {
            assert!(!repeats.first(no_code));
        }
        assert!(!repeats.first(garbage));
        let counted = |kind: Kind| {
            repeats
                .kinds
                .lock()
                .expect("tally")
                .get(&kind)
                .map(|t| t.counted)
        };
        assert_eq!(counted(no_code), Some(10_000));
        assert_eq!(counted(garbage), Some(1));
        assert_eq!(counted(WEBHOOK_RETRY), Some(0));
        // Within the interval nothing is due; at shutdown everything is written and forgotten.
        repeats.flush(false);
        assert_eq!(counted(no_code), Some(10_000));
        repeats.flush(true);
        assert_eq!(counted(no_code), None);
        assert!(repeats.first(no_code), "a new interval starts in full");
    }

    #[test]
    fn an_interval_that_is_over_starts_again_with_a_full_line() {
        let repeats = Repeats::new(Duration::ZERO);
        assert!(repeats.first(WEBHOOK_FAILED));
        assert!(repeats.first(WEBHOOK_FAILED));
        repeats.flush(false);
        assert!(repeats.kinds.lock().expect("tally").is_empty());
    }

    #[test]
    fn expected_refusals_are_never_errors() {
        for status in [400, 401, 403, 404, 405, 409, 413, 422] {
            let status = StatusCode::from_u16(status).expect("status");
            assert_eq!(Kind::refused(status).level, Level::INFO, "{status}");
        }
        assert_eq!(
            Kind::refused(StatusCode::TOO_MANY_REQUESTS).level,
            Level::WARN
        );
        assert_eq!(
            Kind::refused(StatusCode::SERVICE_UNAVAILABLE).level,
            Level::WARN
        );
        assert_eq!(
            Kind::refused(StatusCode::INTERNAL_SERVER_ERROR).level,
            Level::ERROR
        );
    }
}
