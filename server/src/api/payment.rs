//! `POST /api/payments/qris/create` and `GET /api/payments/{invoiceId}/status`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use webqris_core::wire::{CreatePaymentRequest, CreatePaymentResponse, PaymentStatusResponse};

use crate::auth::MerchantAuth;
use crate::error::AppError;
use crate::extract::Json;
use crate::invoice;
use crate::state::AppState;

/// The payment routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/payments/qris/create", post(create))
        .route("/api/payments/{invoice_id}/status", get(status))
}

async fn create(
    State(state): State<AppState>,
    MerchantAuth(merchant, token): MerchantAuth,
    Json(request): Json<CreatePaymentRequest>,
) -> Result<(StatusCode, JsonResponse<CreatePaymentResponse>), AppError> {
    state
        .create_limit
        .take(&token, state.now())
        .map_err(|retry_after_secs| AppError::TooManyRequests {
            message: format!(
                "Too many invoices created with this API token; try again in {retry_after_secs} seconds"
            ),
            retry_after_secs,
        })?;
    let created = invoice::create(&state, &merchant, request).await?;
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
