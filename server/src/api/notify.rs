//! `POST /api/webhook/payment`: notifications forwarded from the merchant's phone.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json as JsonResponse, Router};
use serde::Serialize;
use webqris_core::wire::{
    DUPLICATE_MESSAGE, HELD_MESSAGE, NO_AMOUNT_MESSAGE, NO_MATCH_MESSAGE, NOT_INCOMING_MESSAGE,
    NotificationDuplicate, NotificationNoAmount, NotificationNoMatch, NotificationNotIncoming,
    NotificationPaid, NotificationPaymentOutcome, NotificationRequest, NotificationTest,
    NotificationUntrusted, UNTRUSTED_MESSAGE,
};

use crate::auth::CallbackAuth;
use crate::db::PaymentOutcome;
use crate::error::AppError;
use crate::extract::Json;
use crate::settlement::{self, NotificationResult, SettledPayment};
use crate::state::AppState;

/// The notification route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/webhook/payment", post(receive))
}

/// A contract answer plus, for notifications carrying several payments, the `payments` array.
#[derive(Debug, Serialize)]
struct WithPayments<T> {
    #[serde(flatten)]
    answer: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    payments: Option<Vec<NotificationPaymentOutcome>>,
}

fn to_wire(p: &SettledPayment) -> NotificationPaymentOutcome {
    NotificationPaymentOutcome {
        amount: p.amount,
        sender_name: p.sender_name.clone(),
        reference: p.reference.clone(),
        outcome: p.outcome.as_str().to_owned(),
        invoice_id: p.invoice_id.clone(),
    }
}

/// 422 for a notification that may not pay or waits for a person: stored, final for the forwarder.
fn untrusted(message: &str, reason: &str, raw_message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        JsonResponse(NotificationUntrusted {
            success: false,
            message: message.to_owned(),
            reason: reason.to_owned(),
            raw_message,
        }),
    )
        .into_response()
}

async fn receive(
    State(state): State<AppState>,
    CallbackAuth(merchant): CallbackAuth,
    Json(request): Json<NotificationRequest>,
) -> Result<Response, AppError> {
    let raw_message = request.message.clone();
    let notif_id = request.notif_id.clone();
    let result = settlement::notification(&state, &merchant, request).await?;
    Ok(match result {
        NotificationResult::Test => {
            JsonResponse(NotificationTest::for_merchant(&merchant.name)).into_response()
        }
        NotificationResult::Duplicate => JsonResponse(NotificationDuplicate {
            success: false,
            message: DUPLICATE_MESSAGE.to_owned(),
            notif_id,
        })
        .into_response(),
        NotificationResult::NoAmount => (
            StatusCode::UNPROCESSABLE_ENTITY,
            JsonResponse(NotificationNoAmount {
                success: false,
                message: NO_AMOUNT_MESSAGE.to_owned(),
                raw_message,
            }),
        )
            .into_response(),
        NotificationResult::NotIncoming(reason) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            JsonResponse(NotificationNotIncoming {
                success: false,
                message: NOT_INCOMING_MESSAGE.to_owned(),
                reason: reason.to_owned(),
                raw_message,
            }),
        )
            .into_response(),
        NotificationResult::Untrusted(reason) => untrusted(UNTRUSTED_MESSAGE, reason, raw_message),
        NotificationResult::Held(reason) => untrusted(HELD_MESSAGE, reason, raw_message),
        NotificationResult::Settled { payments, .. } => {
            let list = (payments.len() > 1).then(|| payments.iter().map(to_wire).collect());
            let first = |outcome: PaymentOutcome| payments.iter().find(|p| p.outcome == outcome);
            match first(PaymentOutcome::Paid) {
                Some(paid) => JsonResponse(WithPayments {
                    answer: NotificationPaid {
                        success: true,
                        invoice_id: paid.invoice_id.clone().unwrap_or_default(),
                        parsed_amount: paid.amount,
                        sender_name: paid.sender_name.clone(),
                    },
                    payments: list,
                })
                .into_response(),
                None => {
                    let headline = first(PaymentOutcome::Late)
                        .or_else(|| first(PaymentOutcome::NoMatch))
                        .or_else(|| payments.first());
                    (
                        StatusCode::NOT_FOUND,
                        JsonResponse(WithPayments {
                            answer: NotificationNoMatch {
                                success: false,
                                message: NO_MATCH_MESSAGE.to_owned(),
                                parsed_amount: headline.map_or(0, |h| h.amount),
                                merchant: merchant.name.clone(),
                            },
                            payments: list,
                        }),
                    )
                        .into_response()
                }
            }
        }
    })
}
