//! `POST /api/payments/qris/create`, `GET /api/payments/{invoiceId}/status` and the sandbox's
//! `POST /api/payments/{invoiceId}/simulate`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use serde::Deserialize;
use serde_json::json;
use webqris_core::wire::{
    CreatePaymentRequest, CreatePaymentResponse, DUPLICATE_MESSAGE, NO_MATCH_MESSAGE,
    PaymentStatusResponse,
};

use crate::auth::MerchantAuth;
use crate::db::{MAX_STORED_FIELD_CHARS, capped};
use crate::error::AppError;
use crate::extract::{Json, OptionalJson};
use crate::invoice;
use crate::settlement::{self, CallbackResult, Match, SimulateError, Simulation};
use crate::state::AppState;

/// The payment routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/payments/qris/create", post(create))
        .route("/api/payments/{invoice_id}/status", get(status))
        .route("/api/payments/{invoice_id}/simulate", post(simulate))
}

async fn create(
    State(state): State<AppState>,
    MerchantAuth(merchant, token): MerchantAuth,
    Json(request): Json<CreatePaymentRequest>,
) -> Result<(StatusCode, JsonResponse<CreatePaymentResponse>), AppError> {
    state
        .create_limit
        .take(&token.id, state.now())
        .map_err(|retry_after_secs| AppError::TooManyRequests {
            message: format!(
                "Too many invoices created with this API token; try again in {retry_after_secs} seconds"
            ),
            retry_after_secs,
        })?;
    let created = invoice::create(&state, &merchant, token.test, request).await?;
    Ok((StatusCode::CREATED, JsonResponse(created)))
}

async fn status(
    State(state): State<AppState>,
    MerchantAuth(merchant, _): MerchantAuth,
    invoice_id: Result<Path<String>, PathRejection>,
) -> Result<JsonResponse<PaymentStatusResponse>, AppError> {
    let Path(invoice_id) = invoice_id
        .map_err(|e| AppError::BadRequest(format!("Invalid invoice id: {}", e.body_text())))?;
    Ok(JsonResponse(
        invoice::status(&state, &merchant, invoice_id).await?,
    ))
}

/// Body of `POST /api/payments/{invoiceId}/simulate`; every field is optional, unknown ones are refused
/// (a misspelt `amuont` would otherwise simulate the right amount silently).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulateRequest {
    /// The amount paid (default: the invoice's `total_amount`).
    amount: Option<i64>,
    /// The payment arrives after the invoice's deadline.
    #[serde(default)]
    late: bool,
    /// Who paid (default `SANDBOX`).
    sender_name: Option<String>,
}

/// `POST /api/payments/{invoiceId}/simulate`: pays (or fails to pay) a sandbox invoice with a synthetic
/// report settled by the real path. Only a test token of the invoice's merchant may; any other token,
/// and any live invoice, gets the 404 of an unknown invoice. The answers are the real path's, marked
/// `"test": true` and with the `outcome`: 200 paid, 200 duplicate (`success` false: paid once only),
/// 404 no matching pending payment (a wrong amount, or a late payment).
async fn simulate(
    State(state): State<AppState>,
    MerchantAuth(merchant, token): MerchantAuth,
    invoice_id: Result<Path<String>, PathRejection>,
    OptionalJson(request): OptionalJson<SimulateRequest>,
) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound("Payment not found".to_owned());
    let Path(invoice_id) = invoice_id
        .map_err(|e| AppError::BadRequest(format!("Invalid invoice id: {}", e.body_text())))?;
    if !token.test {
        return Err(not_found());
    }
    if request.amount.is_some_and(|amount| amount <= 0) {
        return Err(AppError::BadRequest(
            "amount must be a positive integer".to_owned(),
        ));
    }
    let simulation = Simulation {
        amount: request.amount,
        late: request.late,
        sender_name: capped(
            request.sender_name.as_deref().map(str::trim),
            MAX_STORED_FIELD_CHARS,
        )
        .filter(|name| !name.is_empty()),
    };
    let (amount, result) = settlement::simulate(&state, merchant.id, invoice_id, simulation)
        .await
        .map_err(|e| match e {
            SimulateError::NotFound(_) => not_found(),
            SimulateError::Db(e) => AppError::from(e),
        })?;
    Ok(match result {
        CallbackResult::Duplicate => JsonResponse(json!({
            "success": false,
            "message": DUPLICATE_MESSAGE,
            "outcome": "duplicate",
            "parsed_amount": amount,
            "test": true,
        }))
        .into_response(),
        CallbackResult::Settled(matched) => match *matched {
            Match::Paid(paid) => JsonResponse(json!({
                "success": true,
                "invoice_id": paid.payment.invoice_id,
                "parsed_amount": amount,
                "sender_name": paid.payment.sender_name,
                "outcome": "paid",
                "test": true,
            }))
            .into_response(),
            other => (
                StatusCode::NOT_FOUND,
                JsonResponse(json!({
                    "success": false,
                    "message": NO_MATCH_MESSAGE,
                    "parsed_amount": amount,
                    "merchant": merchant.name,
                    "outcome": if matches!(other, Match::Late(_)) { "late" } else { "no_match" },
                    "test": true,
                })),
            )
                .into_response(),
        },
    })
}
