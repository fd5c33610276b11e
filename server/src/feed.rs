//! The events feed (issue 12 item 3): a merchant's stored events (the event log of `db/event.rs`, one
//! gapless cursor per merchant, each event written in the same transaction as its change), read after a
//! cursor by `GET /api/events?after=&limit=` and by `/ws/merchant?since=`. Both send each event as
//! `{"id","event","data","ts"}`: `id` is the cursor to continue from.

use serde::Serialize;
use webqris_core::wire::WsEvent;

use crate::db::{EventBounds, MerchantId, StoredEvent};
use crate::error::AppError;
use crate::state::AppState;

/// Events in a page of `GET /api/events` when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// The most events in one page.
pub const MAX_LIMIT: usize = 1000;

/// A stored event as the feed and cursor sockets send it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedEvent<'a> {
    /// Its cursor: the merchant's first event is 1, then 2, 3… with no gap.
    pub id: i64,
    /// `event` and `data`, as on `/ws/merchant`.
    #[serde(flatten)]
    pub event: &'a WsEvent,
    /// When it happened, epoch milliseconds.
    pub ts: i64,
}

impl<'a> From<&'a StoredEvent> for FeedEvent<'a> {
    fn from(stored: &'a StoredEvent) -> Self {
        Self {
            id: stored.seq,
            event: &stored.event,
            ts: stored.ts,
        }
    }
}

/// A cursor of a query (`after`, `since`): an event's `id`, or 0 for the merchant's first event on.
pub fn cursor(field: &str, value: Option<&str>) -> Result<Option<i64>, AppError> {
    value
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "{field} must be an event id (an integer, 0 for the first event on)"
                    ))
                })
        })
        .transpose()
}

/// The `limit` of a page: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when not given.
pub fn limit(value: Option<&str>) -> Result<usize, AppError> {
    match value {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::BadRequest(format!("limit must be an integer from 1 to {MAX_LIMIT}"))
            }),
    }
}

/// Refuses a cursor the log cannot continue from: one beyond the merchant's newest event (never handed
/// out), or one older than the oldest event retention kept (continuing would skip deleted events
/// silently; the client should read its invoices' status and continue from the oldest kept).
pub fn check(bounds: EventBounds, after: i64) -> Result<(), AppError> {
    if after > bounds.newest {
        return Err(AppError::BadRequest(format!(
            "cursor {after} is beyond the newest event ({})",
            bounds.newest
        )));
    }
    if after < bounds.newest && bounds.oldest.is_none_or(|oldest| after + 1 < oldest) {
        let kept = bounds.oldest.map_or(bounds.newest, |oldest| oldest - 1);
        return Err(AppError::BadRequest(format!(
            "cursor {after} is older than the events kept (retention.events_days): read your invoices' status, then continue from {kept}"
        )));
    }
    Ok(())
}

/// [`check`] for `merchant` as of now.
pub async fn checked(state: &AppState, merchant: MerchantId, after: i64) -> Result<i64, AppError> {
    let bounds = state.db.read(move |c| c.event_bounds(merchant)).await?;
    check(bounds, after)?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_limits_are_checked_with_clear_messages() {
        assert_eq!(cursor("after", None).expect("none"), None);
        assert_eq!(cursor("after", Some(" 12 ")).expect("12"), Some(12));
        for bad in ["", "-1", "1.5", "x", "99999999999999999999"] {
            let e = cursor("after", Some(bad)).expect_err(bad);
            assert!(
                e.to_string().starts_with("after must be an event id"),
                "{e}"
            );
        }
        assert_eq!(limit(None).expect("default"), DEFAULT_LIMIT);
        assert_eq!(limit(Some("1000")).expect("max"), 1000);
        for bad in ["0", "1001", "-3", "many"] {
            assert!(limit(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cursor_must_be_within_what_the_log_holds() {
        let held = EventBounds {
            newest: 10,
            oldest: Some(4),
        };
        for ok in [3, 4, 9, 10] {
            assert!(check(held, ok).is_ok(), "{ok}");
        }
        assert!(check(held, 11).is_err(), "beyond the newest");
        assert!(check(held, 2).is_err(), "event 3 was pruned");
        let pruned = EventBounds {
            newest: 10,
            oldest: None,
        };
        assert!(check(pruned, 10).is_ok(), "caught up: nothing was missed");
        assert!(check(pruned, 9).is_err(), "event 10 was pruned");
        let empty = EventBounds {
            newest: 0,
            oldest: None,
        };
        assert!(check(empty, 0).is_ok());
    }
}
