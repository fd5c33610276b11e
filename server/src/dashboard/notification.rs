//! The notifications inbox: every notification received with its outcome, trust decision and reasons, the
//! ones needing a person flagged (late, no match, unread amount, untrusted or held with an amount), offers
//! from reading the stored ones again after a parser upgrade, and "assign to invoice" to reconcile one by
//! hand: the invoice is marked paid (manual), the notification linked to it and the webhook sent, in one
//! transaction.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webqris_core::Timestamp;

use super::payment::{MAX_REASON_CHARS, confirm_error, payment_json};
use super::session::Viewer;
use super::{Pagination, query_number};
use webqris_core::notification::trust::{self, Envelope, History, Trust};
use webqris_core::notification::{self, Notification, Verdict};

use crate::db::{
    Conn, DbError, InboxFilter, InboxRow, MerchantId, NotificationId, PaymentWithMerchant,
    TrustOutcome, needs_attention,
};
use crate::error::AppError;
use crate::extract::Json;
use crate::settlement::{self, ASSIGNABLE, ManualConfirmation};
use crate::state::AppState;

/// The routes of this file.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/api/notifications", get(list))
        .route("/dashboard/api/notifications/offers", get(offers))
        .route("/dashboard/api/notifications/{id}/assign", post(assign))
}

/// A notification as the inbox shows it (the contract with `app.js`).
#[derive(Debug, Serialize)]
struct InboxItem<'a> {
    id: i64,
    merchant_id: i64,
    merchant_name: &'a str,
    source: &'static str,
    received_at: Timestamp,
    app: Option<&'a str>,
    title: Option<&'a str>,
    message: Option<&'a str>,
    device_id: Option<&'a str>,
    reference: Option<&'a str>,
    outcome: &'static str,
    /// The parser's reason, or the duplicate key kind.
    reason: Option<&'a str>,
    parsed_amount: Option<i64>,
    sender_name: Option<&'a str>,
    invoice_id: Option<&'a str>,
    assigned_invoice_id: Option<&'a str>,
    category: Option<&'a str>,
    template: Option<&'a str>,
    channel_id: Option<&'a str>,
    /// `trusted`, `untrusted`, `held`, or null where no trust decision was taken.
    trust: Option<&'static str>,
    trust_reason: Option<&'a str>,
    /// Flagged for a person's attention (and not assigned yet).
    unmatched: bool,
    /// A person may assign it to an invoice.
    assignable: bool,
    /// `true` for a synthetic report made by `simulate` (never flagged, never assignable); live ones
    /// leave it out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    test: bool,
}

/// A notification as the inbox shows it.
pub fn inbox_json(n: &InboxRow) -> Value {
    let open = n.assigned_invoice_id.is_none();
    let item = InboxItem {
        id: n.id.0,
        merchant_id: n.merchant_id.0,
        merchant_name: &n.merchant_name,
        source: n.source.as_str(),
        received_at: n.received_at,
        app: n.app.as_deref(),
        title: n.title.as_deref(),
        message: n.message.as_deref(),
        device_id: n.device_id.as_deref(),
        reference: n.reference.as_deref(),
        outcome: n.outcome.as_str(),
        reason: n.reason.as_deref(),
        parsed_amount: n.parsed_amount,
        sender_name: n.sender_name.as_deref(),
        invoice_id: n.invoice_id.as_deref(),
        assigned_invoice_id: n.assigned_invoice_id.as_deref(),
        category: n.category.as_deref(),
        template: n.template.as_deref(),
        channel_id: n.channel_id.as_deref(),
        trust: n.trust.map(TrustOutcome::as_str),
        trust_reason: n.trust_reason.as_deref(),
        unmatched: open && !n.test && needs_attention(n.outcome, n.parsed_amount),
        assignable: open && !n.test && ASSIGNABLE.contains(&n.outcome),
        test: n.test,
    };
    serde_json::to_value(item).expect("an inbox item always serialises")
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

/// Most stored notifications read again by one request for offers.
const MAX_REREAD: usize = 200;

#[derive(Debug, Deserialize)]
struct OffersQuery {
    merchant: Option<String>,
}

/// A stored notification that, read again today, offers a match (the contract with `app.js`).
#[derive(Debug, Serialize)]
struct Offer {
    /// The stored notification, as the inbox shows it.
    notification: Value,
    /// What today's parser reads in it.
    verdict: Verdict,
    /// Today's trust decision: `trusted`, `untrusted` or `held`.
    trust: &'static str,
    /// Its reason, when not trusted.
    trust_reason: Option<&'static str>,
    /// The payments read that meet a pending invoice of their total.
    matches: Vec<OfferedMatch>,
}

/// One payment of an offer and the pending invoice of its total.
#[derive(Debug, Serialize)]
struct OfferedMatch {
    amount: i64,
    sender_name: Option<String>,
    invoice_id: String,
    /// The invoice's deadline (it may have passed while the invoice waits for the sweep).
    expired_at: Timestamp,
}

#[derive(Debug, Serialize)]
struct OffersResponse {
    success: bool,
    /// How many stored notifications were read again.
    reread: usize,
    offers: Vec<Offer>,
}

/// `GET /dashboard/api/notifications/offers?merchant=`: after a parser upgrade, reads again with today's
/// parser and trust rules the newest stored notifications that paid nothing (not assigned yet, at most
/// 200), and offers each payment that now meets a pending invoice of its total. Nothing is written and
/// nothing is paid: a person confirms an offer with "assign".
async fn offers(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<OffersQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(query) =
        query.map_err(|e| AppError::BadRequest(format!("Invalid query: {}", e.body_text())))?;
    let filter = InboxFilter {
        scope: viewer.scope(),
        merchant: query_number::<i64>("merchant", query.merchant.as_deref())?.map(MerchantId),
        unmatched_only: false,
        rereadable_only: true,
        payment: None,
        before: None,
        limit: MAX_REREAD,
    };
    let (reread, offers) = state
        .db
        .read(move |c| {
            let rows = c.inbox(&filter)?;
            let mut offers = Vec::new();
            for row in &rows {
                if let Some(offer) = offer(c, row)? {
                    offers.push(offer);
                }
            }
            Ok::<_, DbError>((rows.len(), offers))
        })
        .await?;
    Ok(JsonResponse(OffersResponse {
        success: true,
        reread,
        offers,
    })
    .into_response())
}

/// Reads one stored notification again; an offer when a payment in it meets a pending invoice.
fn offer(c: &Conn<'_>, row: &InboxRow) -> Result<Option<Offer>, DbError> {
    let app = row.app.as_deref().unwrap_or_default();
    let title = row.title.as_deref().unwrap_or_default();
    let reading = notification::read(&Notification {
        app,
        title,
        text: row.message.as_deref().unwrap_or_default(),
        big_text: None,
    });
    let Verdict::Incoming { payments, .. } = &reading.verdict else {
        return Ok(None);
    };
    let trusted = c.trusted_sources(row.merchant_id)?;
    let channels = c.known_channels(row.merchant_id, app)?;
    let envelope = Envelope {
        app,
        title,
        category: row.category.as_deref(),
        template: row.template.as_deref(),
        channel_id: row.channel_id.as_deref(),
    };
    let decision = trust::decide(
        &envelope,
        &reading,
        &History {
            trusted: &trusted,
            channels: &channels,
        },
    );
    let mut matches = Vec::new();
    for p in payments {
        let amount = i64::try_from(p.amount).unwrap_or(i64::MAX);
        // Live invoices only: a real notification never meets a sandbox invoice.
        if let Some(pending) = c.pending_by_total(row.merchant_id, false, amount)? {
            matches.push(OfferedMatch {
                amount,
                sender_name: p.sender.clone(),
                invoice_id: pending.invoice_id,
                expired_at: pending.expired_at,
            });
        }
    }
    if matches.is_empty() {
        return Ok(None);
    }
    Ok(Some(Offer {
        notification: inbox_json(row),
        verdict: reading.verdict.clone(),
        trust: match decision {
            Trust::Trusted => "trusted",
            Trust::Untrusted(_) => "untrusted",
            Trust::Held(_) => "held",
        },
        trust_reason: decision.reason(),
        matches,
    }))
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
