//! `GET /api/events?after=<cursor>&limit=<n>`: the API token's merchant's events after a cursor, oldest
//! first (the feed of `crate::feed`), so that an integration that was offline catches up on what it
//! missed.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json as JsonResponse, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::MerchantAuth;
use crate::db::DbError;
use crate::error::AppError;
use crate::feed::{self, FeedEvent};
use crate::state::AppState;

/// The events route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/events", get(list))
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    after: Option<String>,
    limit: Option<String>,
}

/// `{"success":true,"events":[{"id","event","data","ts"}…],"next_after","has_more"}`: up to `limit`
/// events after `after` (default 0: from the first one kept), and the cursor to ask with next.
async fn list(
    State(state): State<AppState>,
    MerchantAuth(merchant, _): MerchantAuth,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<JsonResponse<Value>, AppError> {
    let Query(query) =
        query.map_err(|e| AppError::BadRequest(format!("Invalid query: {}", e.body_text())))?;
    let after = feed::cursor("after", query.after.as_deref())?.unwrap_or(0);
    let limit = feed::limit(query.limit.as_deref())?;
    let merchant = merchant.id;
    // The bounds and the page are read in one snapshot.
    let mut events = state
        .db
        .read(move |c| {
            let bounds = c.event_bounds(merchant)?;
            if let Err(refusal) = feed::check(bounds, after) {
                return Ok(Err(refusal));
            }
            Ok::<_, DbError>(Ok(c.events_after(merchant, after, limit + 1)?))
        })
        .await??;
    let has_more = events.len() > limit;
    events.truncate(limit);
    let next_after = events.last().map_or(after, |e| e.seq);
    let events: Vec<FeedEvent<'_>> = events.iter().map(FeedEvent::from).collect();
    Ok(JsonResponse(json!({
        "success": true,
        "events": events,
        "next_after": next_after,
        "has_more": has_more,
    })))
}
