//! The notifications inbox: every notification received with its outcome, the unmatched ones (late, no
//! match, unread amount) flagged, and "assign to invoice" to reconcile one by hand: the invoice is marked
//! paid (manual), the notification linked to it and the webhook sent, in one transaction.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::payment::{MAX_REASON_CHARS, confirm_error, payment_json};
use super::session::Viewer;
use super::{Pagination, query_number};
use crate::db::{InboxFilter, InboxRow, MerchantId, NotificationId, PaymentWithMerchant};
use crate::error::AppError;
use crate::extract::Json;
use crate::settlement::{self, ASSIGNABLE, ManualConfirmation};
use crate::state::AppState;

/// The routes of this file.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/api/notifications", get(list))
        .route("/dashboard/api/notifications/{id}/assign", post(assign))
}

/// A notification as the inbox shows it.
pub fn inbox_json(n: &InboxRow) -> Value {
    let unmatched = ASSIGNABLE.contains(&n.outcome) && n.assigned_invoice_id.is_none();
    json!({
        "id": n.id.0,
        "merchant_id": n.merchant_id.0,
        "merchant_name": n.merchant_name,
        "source": n.source.as_str(),
        "received_at": n.received_at,
        "app": n.app,
        "title": n.title,
        "message": n.message,
        "device_id": n.device_id,
        "reference": n.reference,
        "outcome": n.outcome.as_str(),
        "reason": n.reason,
        "parsed_amount": n.parsed_amount,
        "sender_name": n.sender_name,
        "invoice_id": n.invoice_id,
        "assigned_invoice_id": n.assigned_invoice_id,
        "unmatched": unmatched,
    })
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    merchant: Option<String>,
    unmatched: Option<String>,
}

/// `GET /dashboard/api/notifications?merchant=&unmatched=1&before=&limit=`.
async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    page: Pagination,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(query) =
        query.map_err(|e| AppError::BadRequest(format!("Invalid query: {}", e.body_text())))?;
    let filter = InboxFilter {
        scope: viewer.scope(),
        merchant: query_number::<i64>("merchant", query.merchant.as_deref())?.map(MerchantId),
        unmatched_only: matches!(query.unmatched.as_deref(), Some("1" | "true" | "yes")),
        rereadable_only: false,
        payment: None,
        before: page.before.map(NotificationId),
        limit: page.limit,
    };
    let rows = state.db.read(move |c| c.inbox(&filter)).await?;
    let next_before = page.next_before(rows.iter().map(|r| r.id.0));
    Ok(JsonResponse(json!({
        "success": true,
        "notifications": rows.iter().map(inbox_json).collect::<Vec<_>>(),
        "next_before": next_before,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct AssignBody {
    invoice_id: String,
    reason: Option<String>,
}

/// `POST /dashboard/api/notifications/{id}/assign` `{"invoice_id", "reason"?}`: reconciles an unmatched
/// notification with one of its merchant's invoices (pending or expired), which becomes paid (manual).
async fn assign(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    Json(body): Json<AssignBody>,
) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound("Notification not found".to_owned());
    let Ok(Path(id)) = id else {
        return Err(not_found());
    };
    let (notification, scope) = (NotificationId(id), viewer.scope());
    let (merchant, _) = state
        .db
        .read(move |c| c.inbox_row_in_scope(notification, scope))
        .await?
        .ok_or_else(not_found)?;
    let invoice_id = body.invoice_id.trim().to_owned();
    if invoice_id.is_empty() {
        return Err(AppError::BadRequest(
            "invoice_id must not be empty".to_owned(),
        ));
    }
    let note = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(MAX_REASON_CHARS).collect::<String>());
    let reason = match note {
        Some(note) => format!("Notification #{id} assigned by hand: {note}"),
        None => format!("Notification #{id} assigned by hand"),
    };
    let paid = settlement::confirm_manually(
        &state,
        merchant,
        invoice_id,
        ManualConfirmation {
            reason,
            account: Some(viewer.account.id),
            notification: Some(notification),
        },
    )
    .await
    .map_err(confirm_error)?;
    tracing::info!(notification = id, invoice = %paid.payment.invoice_id, account = viewer.account.id.0, "notification assigned by hand");
    let shown = PaymentWithMerchant {
        payment: paid.payment,
        merchant_name: paid.merchant_name,
        page_token: None,
    };
    Ok(
        JsonResponse(json!({"success": true, "payment": payment_json(&state, &shown)}))
            .into_response(),
    )
}
