//! A merchant's trust settings: the sources it trusts beyond the built-in payment families (an app and
//! the exact titles its payment notifications carry, added only after a plain warning), the channels its
//! apps paid on, and the held `(app, channel)` pairs a person confirms or leaves.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use serde::{Deserialize, Serialize};
use webqris_core::Timestamp;
use webqris_core::notification::trust::never_pays;

use super::VisibleMerchant;
use crate::db::{HeldChannel, KnownChannel, LearnedBy, TrustedTitle};
use crate::error::AppError;
use crate::extract::Json;
use crate::state::AppState;

/// Most trusted titles per merchant.
pub const MAX_TRUSTED_TITLES: i64 = 50;
/// Longest trusted title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest package name or channel id, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// The warning a trusted source is added under (the dashboard shows it in the merchant's language).
pub const TRUST_WARNING: &str = "A notification from this app with exactly this title will mark invoices \
paid. Anyone who can make that app show this title (a chat message, a promotion) could fake a payment: add \
only your own payment app and the title its real payment notifications carry.";

/// The routes of this file.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/api/merchants/{id}/trust", get(overview))
        .route(
            "/dashboard/api/merchants/{id}/trusted-titles",
            post(add_title).delete(remove_title),
        )
        .route(
            "/dashboard/api/merchants/{id}/channels",
            post(confirm_channel).delete(forget_channel),
        )
}

#[derive(Debug, Serialize)]
struct TitleItem {
    package: String,
    title: String,
    created_at: Timestamp,
}

impl From<TrustedTitle> for TitleItem {
    fn from(t: TrustedTitle) -> Self {
        Self {
            package: t.package,
            title: t.title,
            created_at: t.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
struct ChannelItem {
    app: String,
    channel_id: String,
    /// `payment` (it paid) or `person` (confirmed in the dashboard).
    learned_by: &'static str,
    created_at: Timestamp,
}

impl From<KnownChannel> for ChannelItem {
    fn from(c: KnownChannel) -> Self {
        Self {
            app: c.app,
            channel_id: c.channel_id,
            learned_by: c.learned_by.as_str(),
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
struct HeldItem {
    app: String,
    channel_id: Option<String>,
    held: i64,
    last_received_at: Timestamp,
}

impl From<HeldChannel> for HeldItem {
    fn from(h: HeldChannel) -> Self {
        Self {
            app: h.app,
            channel_id: h.channel_id,
            held: h.held,
            last_received_at: h.last_received_at,
        }
    }
}

/// The answer of `GET …/trust` (the contract with `app.js`).
#[derive(Debug, Serialize)]
struct Overview {
    success: bool,
    trusted_titles: Vec<TitleItem>,
    channels: Vec<ChannelItem>,
    /// `(app, channel)` pairs with held notifications awaiting a person.
    held_channels: Vec<HeldItem>,
    warning: &'static str,
}

/// `GET /dashboard/api/merchants/{id}/trust`.
async fn overview(State(state): State<AppState>, m: VisibleMerchant) -> Result<Response, AppError> {
    let merchant = m.id();
    let (titles, channels, held) = state
        .db
        .read(move |c| {
            Ok::<_, crate::db::DbError>((
                c.trusted_titles(merchant)?,
                c.channels(merchant)?,
                c.held_channels(merchant)?,
            ))
        })
        .await?;
    Ok(JsonResponse(Overview {
        success: true,
        trusted_titles: titles.into_iter().map(Into::into).collect(),
        channels: channels.into_iter().map(Into::into).collect(),
        held_channels: held.into_iter().map(Into::into).collect(),
        warning: TRUST_WARNING,
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct TitleBody {
    package: String,
    title: String,
    /// The person read [`TRUST_WARNING`].
    #[serde(default)]
    acknowledged: bool,
}

#[derive(Debug, Serialize)]
struct Changed {
    success: bool,
    /// `false` when nothing changed (already there, or not there to remove).
    changed: bool,
}

/// An Android package name: dot-separated segments of letters, digits and `_`, each starting with a
/// letter, at least two of them.
fn package(raw: &str) -> Result<String, AppError> {
    let package = raw.trim();
    let segments_ok = package.split('.').count() >= 2
        && package.split('.').all(|s| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if !segments_ok || package.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::BadRequest(
            "package must be an Android package name such as id.bmri.livinmerchant".to_owned(),
        ));
    }
    Ok(package.to_lowercase())
}

/// `POST /dashboard/api/merchants/{id}/trusted-titles` `{"package", "title", "acknowledged": true}`.
async fn add_title(
    State(state): State<AppState>,
    m: VisibleMerchant,
    Json(body): Json<TitleBody>,
) -> Result<Response, AppError> {
    let package = package(&body.package)?;
    if never_pays(&package) {
        return Err(AppError::BadRequest(format!(
            "{package} can never pay: anyone can write the text of its notifications"
        )));
    }
    let title = super::required_text("title", &body.title, MAX_TITLE_CHARS)?;
    if !body.acknowledged {
        return Err(AppError::BadRequest(format!(
            "Read the warning and confirm it (acknowledged: true): {TRUST_WARNING}"
        )));
    }
    let (merchant, now) = (m.id(), state.now());
    let changed = state
        .db
        .write(move |tx| {
            if tx.trusted_title_count(merchant)? >= MAX_TRUSTED_TITLES {
                return Ok(None);
            }
            tx.add_trusted_title(merchant, &package, &title, now)
                .map(Some)
        })
        .await?
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "at most {MAX_TRUSTED_TITLES} trusted titles per merchant"
            ))
        })?;
    tracing::info!(
        merchant = merchant.0,
        account = m.viewer.account.id.0,
        changed,
        "trusted title added"
    );
    let status = if changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        JsonResponse(Changed {
            success: true,
            changed,
        }),
    )
        .into_response())
}

/// `DELETE /dashboard/api/merchants/{id}/trusted-titles` `{"package", "title"}`.
async fn remove_title(
    State(state): State<AppState>,
    m: VisibleMerchant,
    Json(body): Json<TitleBody>,
) -> Result<Response, AppError> {
    let package = package(&body.package)?;
    let merchant = m.id();
    let title = body.title;
    let changed = state
        .db
        .write(move |tx| tx.remove_trusted_title(merchant, &package, &title))
        .await?;
    if !changed {
        return Err(AppError::NotFound("Trusted title not found".to_owned()));
    }
    Ok(JsonResponse(Changed {
        success: true,
        changed,
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct ChannelBody {
    app: String,
    channel_id: String,
}

/// The channel of a request body: trimmed, 1 to [`MAX_NAME_CHARS`] characters.
fn channel(body: &ChannelBody) -> Result<(String, String), AppError> {
    Ok((
        package(&body.app)?,
        super::required_text("channel_id", &body.channel_id, MAX_NAME_CHARS)?,
    ))
}

/// `POST /dashboard/api/merchants/{id}/channels` `{"app", "channel_id"}`: a person confirms that the
/// app's payments come on that channel; its next notifications there may pay (the held ones stay held:
/// assign them to their invoices, or let the inbox's offers find them).
async fn confirm_channel(
    State(state): State<AppState>,
    m: VisibleMerchant,
    Json(body): Json<ChannelBody>,
) -> Result<Response, AppError> {
    let (app, channel_id) = channel(&body)?;
    let (merchant, now) = (m.id(), state.now());
    state
        .db
        .write(move |tx| tx.learn_channel(merchant, &app, &channel_id, LearnedBy::Person, now))
        .await?;
    tracing::info!(
        merchant = merchant.0,
        account = m.viewer.account.id.0,
        "channel confirmed"
    );
    Ok((
        StatusCode::CREATED,
        JsonResponse(Changed {
            success: true,
            changed: true,
        }),
    )
        .into_response())
}

/// `DELETE /dashboard/api/merchants/{id}/channels` `{"app", "channel_id"}`: forgets a known channel.
async fn forget_channel(
    State(state): State<AppState>,
    m: VisibleMerchant,
    Json(body): Json<ChannelBody>,
) -> Result<Response, AppError> {
    let (app, channel_id) = channel(&body)?;
    let merchant = m.id();
    let changed = state
        .db
        .write(move |tx| tx.forget_channel(merchant, &app, &channel_id))
        .await?;
    if !changed {
        return Err(AppError::NotFound("Channel not found".to_owned()));
    }
    Ok(JsonResponse(Changed {
        success: true,
        changed,
    })
    .into_response())
}
