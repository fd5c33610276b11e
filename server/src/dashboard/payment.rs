//! Payments in the dashboard: the list with its filters (status, creation date, invoice or order id),
//! one payment with its QR, its manual confirmation, the notifications about it and every webhook
//! delivery with each attempt; manual confirmation with a reason; redelivery of a webhook.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use webqris_core::Timestamp;
use webqris_core::wire::PaymentStatus;

use super::notification::inbox_json;
use super::session::Viewer;
use super::{Pagination, query_number, required_text};
use crate::db::{
    DeliveryId, InboxFilter, MerchantId, PaymentFilter, PaymentId, PaymentWithMerchant, Redelivery,
};
use crate::error::AppError;
use crate::extract::Json;
use crate::invoice;
use crate::qr;
use crate::settlement::{self, ConfirmError, ManualConfirmation};
use crate::state::AppState;

/// Longest reason accepted for a manual confirmation.
pub const MAX_REASON_CHARS: usize = 500;

/// The routes of this file.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/api/payments", get(list))
        .route("/dashboard/api/payments/{invoice_id}", get(detail))
        .route("/dashboard/api/payments/{invoice_id}/qr.svg", get(qr_svg))
        .route(
            "/dashboard/api/payments/{invoice_id}/confirm",
            post(confirm),
        )
        .route(
            "/dashboard/api/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
}

fn payment_not_found() -> AppError {
    AppError::NotFound("Payment not found".to_owned())
}

/// A payment as the dashboard shows it (status as of now).
pub fn payment_json(state: &AppState, p: &PaymentWithMerchant) -> Value {
    let payment = &p.payment;
    let mut shown = json!({
        "id": payment.id.0,
        "invoice_id": payment.invoice_id,
        "merchant_id": payment.merchant_id.0,
        "merchant_name": p.merchant_name,
        "merchant_order_id": payment.merchant_order_id,
        "customer_name": payment.customer_name,
        "amount": payment.amount,
        "unique_code": payment.unique_code,
        "total_amount": payment.total_amount,
        "status": payment.status_at(state.now()),
        "payment_method": payment.payment_method,
        "sender_name": payment.sender_name,
        "created_at": payment.created_at,
        "expired_at": payment.expired_at,
        "paid_at": payment.paid_at,
        "return_url": payment.return_url,
        "payment_url": invoice::payment_url(state, p.page_token.as_deref()),
    });
    if payment.test {
        shown["test"] = json!(true);
    }
    shown
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
    merchant: Option<String>,
    from: Option<String>,
    to: Option<String>,
    q: Option<String>,
}

fn present(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn instant(field: &str, value: Option<&String>) -> Result<Option<Timestamp>, AppError> {
    present(value)
        .map(|v| {
            Timestamp::parse(v).map_err(|_| {
                AppError::BadRequest(format!(
                    "{field} must be an ISO-8601 instant such as 2026-03-09T00:00:00.000Z"
                ))
            })
        })
        .transpose()
}

/// `GET /dashboard/api/payments?status=&merchant=&from=&to=&q=&before=&limit=`.
async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    page: Pagination,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(query) =
        query.map_err(|e| AppError::BadRequest(format!("Invalid query: {}", e.body_text())))?;
    let status = present(query.status.as_ref())
        .map(|s| {
            s.parse::<PaymentStatus>().map_err(|_| {
                AppError::BadRequest("status must be pending, paid or expired".to_owned())
            })
        })
        .transpose()?;
    let filter = PaymentFilter {
        scope: viewer.scope(),
        merchant: query_number::<i64>("merchant", query.merchant.as_deref())?.map(MerchantId),
        status,
        from: instant("from", query.from.as_ref())?,
        to: instant("to", query.to.as_ref())?,
        search: present(query.q.as_ref()).map(|q| q.chars().take(100).collect()),
        before: page.before.map(PaymentId),
        limit: page.limit,
        now: state.now(),
    };
    let rows = state.db.read(move |c| c.payments_matching(&filter)).await?;
    let next_before = page.next_before(rows.iter().map(|r| r.payment.id.0));
    let payments: Vec<Value> = rows.iter().map(|p| payment_json(&state, p)).collect();
    Ok(JsonResponse(json!({
        "success": true,
        "payments": payments,
        "next_before": next_before,
    }))
    .into_response())
}

/// The payment with this invoice id if the viewer may see it (else 404, as for a missing one).
async fn visible_payment(
    state: &AppState,
    viewer: &Viewer,
    invoice_id: Result<Path<String>, PathRejection>,
) -> Result<PaymentWithMerchant, AppError> {
    let Ok(Path(invoice_id)) = invoice_id else {
        return Err(payment_not_found());
    };
    let scope = viewer.scope();
    state
        .db
        .read(move |c| c.payment_in_scope(&invoice_id, scope))
        .await?
        .ok_or_else(payment_not_found)
}

/// `GET /dashboard/api/payments/{invoice_id}`: the payment, how it was confirmed, the notifications
/// about it and every delivery with its attempts.
async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    invoice_id: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let p = visible_payment(&state, &viewer, invoice_id).await?;
    let payment = p.payment.id;
    let manual = state
        .db
        .read(move |c| c.manual_confirmation(payment))
        .await?;
    let deliveries = state
        .db
        .read(move |c| {
            c.deliveries_for_payment(payment)?
                .into_iter()
                .map(|d| {
                    let attempts = c.delivery_attempts(d.id)?;
                    Ok((d, attempts))
                })
                .collect::<Result<Vec<_>, crate::db::DbError>>()
        })
        .await?;
    let filter = InboxFilter {
        scope: viewer.scope(),
        merchant: Some(p.payment.merchant_id),
        unmatched_only: false,
        rereadable_only: false,
        payment: Some(payment),
        before: None,
        limit: 100,
    };
    let notifications = state.db.read(move |c| c.inbox(&filter)).await?;
    let mut answer = payment_json(&state, &p);
    answer["qris_payload"] = json!(p.payment.qris_payload);
    answer["manual_confirmation"] = match manual {
        Some(m) => json!({
            "account_email": m.account_email,
            "reason": m.reason,
            "notification_id": m.notification_id.map(|n| n.0),
            "confirmed_at": m.confirmed_at,
        }),
        None => Value::Null,
    };
    answer["deliveries"] = deliveries
        .iter()
        .map(|(d, attempts)| {
            json!({
                "id": d.id.0,
                "webhook_id": d.message_id,
                "status": d.status.as_str(),
                "attempts_made": d.attempts,
                "created_at": d.created_at,
                "next_attempt_at": d.next_attempt_at,
                "finished_at": d.finished_at,
                "last_error": d.last_error,
                "body": String::from_utf8_lossy(&d.body),
                "attempts": attempts.iter().map(|a| json!({
                    "attempt": a.attempt,
                    "url": a.url,
                    "started_at": a.started_at,
                    "duration_ms": a.duration_ms,
                    "status_code": a.status_code,
                    "error": a.error,
                    "response_body": a.response_body,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    answer["notifications"] = notifications.iter().map(inbox_json).collect();
    Ok(JsonResponse(json!({"success": true, "payment": answer})).into_response())
}

/// `GET /dashboard/api/payments/{invoice_id}/qr.svg`: the invoice's QR for the detail page.
async fn qr_svg(
    State(state): State<AppState>,
    viewer: Viewer,
    invoice_id: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let p = visible_payment(&state, &viewer, invoice_id).await?;
    let svg = qr::svg(&p.payment.qris_payload).map_err(AppError::internal)?;
    Ok((
        [
            (CONTENT_TYPE, "image/svg+xml"),
            (CACHE_CONTROL, "private, max-age=3600"),
        ],
        svg,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct ConfirmBody {
    reason: String,
}

/// How the dashboard answers a refused manual confirmation.
pub fn confirm_error(e: ConfirmError) -> AppError {
    match e {
        ConfirmError::NotFound(_) => payment_not_found(),
        ConfirmError::NotificationNotFound(_) => {
            AppError::NotFound("Notification not found".to_owned())
        }
        ConfirmError::Db(e) => AppError::from(e),
        other => AppError::Conflict(other.to_string()),
    }
}

/// `POST /dashboard/api/payments/{invoice_id}/confirm` `{"reason": …}`: marks it paid by hand
/// (`payment_method` `manual`); the webhook and live events follow as for any payment.
async fn confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    invoice_id: Result<Path<String>, PathRejection>,
    Json(body): Json<ConfirmBody>,
) -> Result<Response, AppError> {
    let p = visible_payment(&state, &viewer, invoice_id).await?;
    let reason = required_text("reason", &body.reason, MAX_REASON_CHARS)?;
    let paid = settlement::confirm_manually(
        &state,
        p.payment.merchant_id,
        p.payment.invoice_id.clone(),
        ManualConfirmation {
            reason,
            account: Some(viewer.account.id),
            notification: None,
        },
    )
    .await
    .map_err(confirm_error)?;
    tracing::info!(invoice = %paid.payment.invoice_id, account = viewer.account.id.0, "payment confirmed by hand");
    let shown = PaymentWithMerchant {
        payment: paid.payment,
        merchant_name: paid.merchant_name,
        page_token: p.page_token,
    };
    Ok(
        JsonResponse(json!({"success": true, "payment": payment_json(&state, &shown)}))
            .into_response(),
    )
}

/// `POST /dashboard/api/deliveries/{delivery_id}/redeliver`: sends the webhook again now.
async fn redeliver(
    State(state): State<AppState>,
    viewer: Viewer,
    delivery_id: Result<Path<i64>, PathRejection>,
) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound("Delivery not found".to_owned());
    let Ok(Path(id)) = delivery_id else {
        return Err(not_found());
    };
    let (delivery, scope) = (DeliveryId(id), viewer.scope());
    if state
        .db
        .read(move |c| c.delivery_in_scope(delivery, scope))
        .await?
        .is_none()
    {
        return Err(not_found());
    }
    let now = state.now();
    match state
        .db
        .write(move |tx| tx.redeliver(delivery, now))
        .await?
    {
        Redelivery::Queued => {
            state.delivery_bell.notify_one();
            Ok(JsonResponse(json!({"success": true})).into_response())
        }
        Redelivery::InFlight => Err(AppError::Conflict(
            "An attempt of this webhook is in flight; wait for its result".to_owned(),
        )),
        Redelivery::NotFound => Err(not_found()),
    }
}
