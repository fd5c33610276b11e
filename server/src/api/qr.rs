//! `GET /api/payments/{invoiceId}/qr.png` and `/qr.svg`: an invoice's `qris_payload` as a QR image for
//! the merchant's own checkout page (API token; only the token's merchant's invoices, like status).

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::MerchantAuth;
use crate::db::PaymentRow;
use crate::error::AppError;
use crate::qr;
use crate::state::AppState;

/// The QR image routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/payments/{invoice_id}/qr.png", get(png))
        .route("/api/payments/{invoice_id}/qr.svg", get(svg))
}

async fn own_payment(
    state: &AppState,
    auth: &MerchantAuth,
    invoice_id: Result<Path<String>, PathRejection>,
) -> Result<PaymentRow, AppError> {
    let Path(invoice_id) = invoice_id
        .map_err(|e| AppError::BadRequest(format!("Invalid invoice id: {}", e.body_text())))?;
    let merchant = auth.0.id;
    state
        .db
        .read(move |c| c.payment_by_invoice(merchant, &invoice_id))
        .await?
        .ok_or_else(|| AppError::NotFound("Payment not found".to_owned()))
}

/// The payload never changes, so the image may be cached by the merchant's own pages (privately).
const CACHE: &str = "private, max-age=86400, immutable";

async fn png(
    State(state): State<AppState>,
    auth: MerchantAuth,
    invoice_id: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let payment = own_payment(&state, &auth, invoice_id).await?;
    let png = qr::png(&payment.qris_payload).map_err(AppError::internal)?;
    Ok(([(CONTENT_TYPE, "image/png"), (CACHE_CONTROL, CACHE)], png).into_response())
}

async fn svg(
    State(state): State<AppState>,
    auth: MerchantAuth,
    invoice_id: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let payment = own_payment(&state, &auth, invoice_id).await?;
    let svg = qr::svg(&payment.qris_payload).map_err(AppError::internal)?;
    Ok((
        [(CONTENT_TYPE, "image/svg+xml"), (CACHE_CONTROL, CACHE)],
        svg,
    )
        .into_response())
}
