//! Merchants and their credentials as an operator creates them (the command line and the dashboard):
//! validation, secret generation, storage. Secrets are returned once and never stored in clear,
//! except the webhook secret, which must stay usable for signing.

use webqris_core::qris::{self, QrisError};
use webqris_core::{SecretString, Timestamp};

use crate::db::{AccountId, ApiTokenInfo, Db, DbError, MerchantId, NewMerchantRow};
use crate::delivery::target::{self, TargetError};
use crate::secret::{self, BearerKind};

/// Longest merchant name accepted.
pub const MAX_NAME_CHARS: usize = 100;

/// What an operator gives to create a merchant.
#[derive(Debug, Clone, Default)]
pub struct NewMerchant {
    /// Display name, also shown in the forwarder's connection test.
    pub name: String,
    /// The merchant's static QRIS payload.
    pub qris: Option<String>,
    /// Where `payment.paid` webhooks go.
    pub webhook_url: Option<String>,
}

/// A created merchant with its secrets, shown once.
#[derive(Debug, Clone)]
pub struct CreatedMerchant {
    /// Row id (`--merchant` of `webqris token create`).
    pub merchant_id: MerchantId,
    /// Display name.
    pub name: String,
    /// For the forwarder app / notifier (`Authorization: Bearer`, `X-Callback-Key`).
    pub callback_secret: SecretString,
    /// Signs the outbound webhooks.
    pub webhook_secret: SecretString,
}

/// A newly issued bearer token, shown once.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The token.
    pub token: SecretString,
    /// Its display prefix, used to list and revoke it.
    pub prefix: String,
}

/// Why a merchant or token could not be created.
#[derive(Debug, thiserror::Error)]
pub enum MerchantError {
    /// The name is empty or blank.
    #[error("merchant name must not be empty")]
    EmptyName,
    /// The name is too long.
    #[error("merchant name is longer than {MAX_NAME_CHARS} characters")]
    NameTooLong,
    /// The QRIS payload cannot be used as a static QRIS.
    #[error("QRIS payload is not a usable static QRIS: {0}")]
    Qris(#[from] QrisError),
    /// The webhook URL is malformed or points at an internal address.
    #[error(transparent)]
    WebhookUrl(#[from] TargetError),
    /// No merchant has this id.
    #[error("no merchant with id {0}")]
    UnknownMerchant(i64),
    /// The owning account has as many merchants as it may.
    #[error("this account already has {0} merchants, the most it may have; delete one first")]
    TooMany(usize),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Validates and stores a merchant without an owner (only the operator sees it); returns its secrets
/// (shown once).
pub async fn create(
    db: &Db,
    new: NewMerchant,
    allow_private_targets: bool,
    now: Timestamp,
) -> Result<CreatedMerchant, MerchantError> {
    create_owned(db, new, None, allow_private_targets, now).await
}

/// An owner, and how many merchants it may have at most.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    /// The account.
    pub account: AccountId,
    /// Its merchant limit (`dashboard.max_merchants_per_account`).
    pub max_merchants: usize,
}

/// A merchant name as stored: trimmed, not empty, at most [`MAX_NAME_CHARS`] characters.
pub fn check_name(name: &str) -> Result<String, MerchantError> {
    let name = name.trim().to_owned();
    if name.is_empty() {
        return Err(MerchantError::EmptyName);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(MerchantError::NameTooLong);
    }
    Ok(name)
}

/// Checks a webhook URL against the target policy, including where its host resolves to now (the
/// delivery worker checks again at every attempt).
pub async fn check_webhook_url(
    text: &str,
    allow_private_targets: bool,
) -> Result<String, MerchantError> {
    let url = target::check_url(text, allow_private_targets)?;
    if let Some(host) = url.host_str() {
        target::check_resolved(host, allow_private_targets).await?;
    }
    Ok(url.to_string())
}

/// A new callback secret for a merchant: the plaintext (shown once), its hash and display prefix.
pub fn new_callback_secret() -> secret::IssuedSecret {
    secret::issue(BearerKind::CallbackSecret)
}

/// Like [`create`], owned by a dashboard account when `owner` is given.
pub async fn create_owned(
    db: &Db,
    new: NewMerchant,
    owner: Option<Owner>,
    allow_private_targets: bool,
    now: Timestamp,
) -> Result<CreatedMerchant, MerchantError> {
    let name = check_name(&new.name)?;
    let qris_payload = match new.qris.as_deref().map(str::trim) {
        Some(payload) => {
            qris::check_static(payload)?;
            Some(payload.to_owned())
        }
        None => None,
    };
    let webhook_url = match new.webhook_url.as_deref() {
        Some(text) => Some(check_webhook_url(text, allow_private_targets).await?),
        None => None,
    };
    let callback = new_callback_secret();
    let webhook_secret = secret::webhook_secret();
    let row = NewMerchantRow {
        name: name.clone(),
        qris_payload,
        webhook_url,
        webhook_secret: webhook_secret.clone(),
        callback_secret_hash: callback.hash,
        callback_secret_prefix: callback.display_prefix,
        created_at: now,
        owner: owner.map(|o| o.account),
    };
    // Counted and inserted in one transaction on the single writer: parallel creates cannot overshoot.
    let merchant_id = db
        .write(move |tx| {
            if let Some(owner) = owner {
                let owned = tx.merchants_owned_by(owner.account)?;
                if owned >= owner.max_merchants {
                    return Err(MerchantError::TooMany(owner.max_merchants));
                }
            }
            Ok(tx.insert_merchant(&row)?)
        })
        .await?;
    Ok(CreatedMerchant {
        merchant_id,
        name,
        callback_secret: callback.plaintext,
        webhook_secret,
    })
}

/// Issues a new API token for `merchant`; a sandbox token when `test` (its invoices are test invoices,
/// which only `simulate` pays).
pub async fn issue_api_token(
    db: &Db,
    merchant: MerchantId,
    test: bool,
    now: Timestamp,
) -> Result<IssuedToken, MerchantError> {
    let issued = secret::issue(BearerKind::ApiToken);
    let (hash, prefix) = (issued.hash, issued.display_prefix.clone());
    let stored = db
        .write(move |tx| tx.insert_api_token(merchant, &hash, &prefix, test, now))
        .await?;
    if !stored {
        return Err(MerchantError::UnknownMerchant(merchant.0));
    }
    Ok(IssuedToken {
        token: issued.plaintext,
        prefix: issued.display_prefix,
    })
}

/// Lists `merchant`'s API tokens (prefixes only).
pub async fn api_tokens(db: &Db, merchant: MerchantId) -> Result<Vec<ApiTokenInfo>, MerchantError> {
    if db.read(move |c| c.merchant(merchant)).await?.is_none() {
        return Err(MerchantError::UnknownMerchant(merchant.0));
    }
    Ok(db.read(move |c| c.api_tokens(merchant)).await?)
}

/// Revokes `merchant`'s tokens with display prefix `prefix`; returns how many were live.
pub async fn revoke_api_token(
    db: &Db,
    merchant: MerchantId,
    prefix: String,
    now: Timestamp,
) -> Result<usize, MerchantError> {
    Ok(db
        .write(move |tx| tx.revoke_api_tokens(merchant, &prefix, now))
        .await?)
}

/// Issues an operator token (accepted by `/ws?token=`).
pub async fn issue_operator_token(db: &Db, now: Timestamp) -> Result<IssuedToken, MerchantError> {
    let issued = secret::issue(BearerKind::OperatorToken);
    let (hash, prefix) = (issued.hash, issued.display_prefix.clone());
    db.write(move |tx| tx.insert_operator_token(&hash, &prefix, now))
        .await?;
    Ok(IssuedToken {
        token: issued.plaintext,
        prefix: issued.display_prefix,
    })
}
