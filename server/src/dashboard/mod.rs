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
pub mod trust;

use axum::Router;
use axum::extract::{FromRequestParts, Query, RawPathParams};
use axum::http::request::Parts;
use serde::Deserialize;

use crate::db::{MerchantDetail, MerchantId};
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
        .merge(trust::router())
        .merge(assets::router())
}

/// The 404 of a merchant that does not exist or belongs to another account (the same answer).
pub fn merchant_not_found() -> AppError {
    AppError::NotFound("Merchant not found".to_owned())
}

/// The merchant of the route's `{id}`, seen by a viewer allowed to see it: the preamble of every
/// `/dashboard/api/merchants/{id}/…` handler. A merchant that does not exist, belongs to another account
/// or whose id is not a number answers the same 404.
#[derive(Debug, Clone)]
pub struct VisibleMerchant {
    /// Who is looking (CSRF-checked like any [`Viewer`]).
    pub viewer: Viewer,
    /// The merchant, with what the dashboard shows of it.
    pub detail: MerchantDetail,
}

impl VisibleMerchant {
    /// The merchant's id.
    pub fn id(&self) -> MerchantId {
        self.detail.merchant.id
    }
}

impl FromRequestParts<AppState> for VisibleMerchant {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let id = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == "id")
                    .and_then(|(_, value)| value.parse::<i64>().ok())
            })
            .ok_or_else(merchant_not_found)?;
        let detail = visible_merchant(state, &viewer, MerchantId(id)).await?;
        Ok(Self { viewer, detail })
    }
}

/// The merchant `id` if `viewer` may see it; otherwise 404, exactly as for a merchant that does not
/// exist.
pub async fn visible_merchant(
    state: &AppState,
    viewer: &Viewer,
    id: MerchantId,
) -> Result<MerchantDetail, AppError> {
    let scope = viewer.scope();
    state
        .db
        .read(move |c| c.merchant_in_scope(id, scope))
        .await?
        .ok_or_else(merchant_not_found)
}

/// Rows per page by default, and at most.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 200;

/// Keyset paging of the dashboard's lists (`?before=<id>&limit=`): newest first, `before` the last id of
/// the previous page. One type for every list, so bounds and the `next_before` rule live in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    /// Only rows with a smaller id.
    pub before: Option<i64>,
    /// Rows in this page (1 to 200, default 50).
    pub limit: usize,
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    before: Option<String>,
    limit: Option<String>,
}

impl Pagination {
    /// The `before` of the page after `ids` (the page's row ids in order), or `None` when this page was
    /// the last one.
    pub fn next_before(
        &self,
        ids: impl DoubleEndedIterator<Item = i64> + ExactSizeIterator,
    ) -> Option<i64> {
        let mut ids = ids;
        if ids.len() == self.limit {
            ids.next_back()
        } else {
            None
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let Query(query) = Query::<PageQuery>::try_from_uri(&parts.uri)
            .map_err(|e| AppError::BadRequest(format!("Invalid query: {}", e.body_text())))?;
        Ok(Self {
            before: query_number("before", query.before.as_deref())?,
            limit: query_number::<usize>("limit", query.limit.as_deref())?
                .unwrap_or(DEFAULT_PAGE)
                .clamp(1, MAX_PAGE),
        })
    }
}

/// A query parameter that must be a number when present (blank counts as absent).
pub fn query_number<T: std::str::FromStr>(
    field: &str,
    value: Option<&str>,
) -> Result<Option<T>, AppError> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse()
                .map_err(|_| AppError::BadRequest(format!("{field} must be a number")))
        })
        .transpose()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_are_bounded_and_only_a_full_page_has_a_next_one() {
        async fn page(uri: &str) -> Result<Pagination, AppError> {
            let (mut parts, ()) = axum::http::Request::get(uri)
                .body(())
                .expect("request")
                .into_parts();
            Pagination::from_request_parts(&mut parts, &()).await
        }
        let default = page("/x").await.expect("no query");
        assert_eq!(
            default,
            Pagination {
                before: None,
                limit: DEFAULT_PAGE
            }
        );
        assert_eq!(
            page("/x?limit=100000").await.expect("clamped").limit,
            MAX_PAGE
        );
        assert_eq!(page("/x?limit=0&before=9").await.expect("clamped").limit, 1);
        assert!(page("/x?before=abc").await.is_err(), "not a number");
        let two = Pagination {
            before: None,
            limit: 2,
        };
        assert_eq!(two.next_before([9, 7].into_iter()), Some(7));
        assert_eq!(two.next_before([9].into_iter()), None, "the last page");
    }
}
