//! `POST /api/callback/notify`: a simple notifier (not the forwarder app) reports an amount.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json as JsonResponse, Router};
use serde_json::json;
use webqris_core::wire::{
    CallbackNotifyRequest, CallbackNotifyResponse, DUPLICATE_MESSAGE, NO_MATCH_MESSAGE,
    NotificationNoMatch,
};

use crate::auth::CallbackAuth;
use crate::db::{MAX_STORED_FIELD_CHARS, capped};
use crate::error::AppError;
use crate::extract::Json;
use crate::settlement::{self, CallbackResult, Match};
use crate::state::AppState;

/// The callback route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/callback/notify", post(notify))
}

async fn notify(
    State(state): State<AppState>,
    CallbackAuth(merchant): CallbackAuth,
    Json(mut request): Json<CallbackNotifyRequest>,
) -> Result<Response, AppError> {
    // Stored, shown and sent on: bounded here like every client string.
    request.sender_name = capped(request.sender_name.as_deref(), MAX_STORED_FIELD_CHARS);
    request.reference = capped(request.reference.as_deref(), MAX_STORED_FIELD_CHARS);
    let amount = request.amount;
    let reference = request.reference.clone();
    Ok(
        match settlement::callback(&state, &merchant, request).await? {
            CallbackResult::Duplicate => JsonResponse(json!({
                "success": false,
                "message": DUPLICATE_MESSAGE,
                "reference": reference,
            }))
            .into_response(),
            CallbackResult::Settled(matched) => match *matched {
                Match::Paid(paid) => JsonResponse(CallbackNotifyResponse {
                    success: true,
                    invoice_id: paid.payment.invoice_id,
                })
                .into_response(),
                Match::Late(_) | Match::NoMatch(_) => (
                    StatusCode::NOT_FOUND,
                    JsonResponse(NotificationNoMatch {
                        success: false,
                        message: NO_MATCH_MESSAGE.to_owned(),
                        parsed_amount: amount,
                        merchant: merchant.name,
                    }),
                )
                    .into_response(),
            },
        },
    )
}
