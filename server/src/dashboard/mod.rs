//! The web dashboard, served by the same binary: a JSON API under `/dashboard/api/` for the embedded
//! single-page UI (`/dashboard`, plain HTML/CSS/JS compiled into the binary), with accounts, sessions and
//! CSRF protection. Every API route takes a [`session::Viewer`]; an account sees only the merchants it
//! owns (the operator, the first account, sees all), and anything of another account answers exactly like
//! something that does not exist.

pub mod assets;
pub mod limiter;
pub mod login;
pub mod merchant;
pub mod notification;
pub mod payment;
pub mod session;

use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;

use crate::db::MerchantDetail;
use crate::error::AppError;
use crate::state::AppState;

use self::session::Viewer;

/// Every dashboard route (pages, assets and the JSON API).
pub fn router(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .merge(login::router())
        .merge(merchant::router(max_upload_bytes))
        .merge(payment::router())
        .merge(notification::router())
        .merge(assets::router())
}

/// The 404 of a merchant that does not exist or belongs to another account (the same answer).
pub fn merchant_not_found() -> AppError {
    AppError::NotFound("Merchant not found".to_owned())
}

/// A merchant id from the path; anything that is not one is simply not found.
pub fn merchant_id(path: Result<Path<i64>, PathRejection>) -> Result<i64, AppError> {
    path.map(|Path(id)| id).map_err(|_| merchant_not_found())
}

/// The merchant `id` if `viewer` may see it; otherwise 404, exactly as for a merchant that does not
/// exist.
pub async fn visible_merchant(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
) -> Result<MerchantDetail, AppError> {
    let scope = viewer.scope();
    state
        .db
        .read(move |c| c.merchant_in_scope(crate::db::MerchantId(id), scope))
        .await?
        .ok_or_else(merchant_not_found)
}

/// Trims free text from a form and bounds its length (`field` names it in the error).
pub fn required_text(field: &str, text: &str, max_chars: usize) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::BadRequest(format!("{field} must not be empty")));
    }
    if text.chars().count() > max_chars {
        return Err(AppError::BadRequest(format!(
            "{field} must be at most {max_chars} characters"
        )));
    }
    Ok(text.to_owned())
}
