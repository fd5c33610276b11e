//! Merchants and credentials: API tokens, callback secrets and operator tokens, looked up by hash.

use rusqlite::{OptionalExtension, params};
use webqris_core::{SecretString, Timestamp};

use super::{Conn, DbError, Tx};

/// A merchant's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MerchantId(pub i64);

/// What is stored for a new merchant (secrets already hashed where they are bearer secrets).
#[derive(Debug, Clone)]
pub struct NewMerchantRow {
    /// Display name (`Toko ABC`).
    pub name: String,
    /// The static QRIS payload, already checked.
    pub qris_payload: Option<String>,
    /// Where `payment.paid` is POSTed, already checked against the target policy.
    pub webhook_url: Option<String>,
    /// The webhook secret (kept usable: it signs every webhook).
    pub webhook_secret: SecretString,
    /// SHA-256 of the callback secret.
    pub callback_secret_hash: String,
    /// Display prefix of the callback secret.
    pub callback_secret_prefix: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A merchant as the request paths need it.
#[derive(Debug, Clone)]
pub struct Merchant {
    /// Row id.
    pub id: MerchantId,
    /// Display name.
    pub name: String,
    /// The static QRIS payload, when configured.
    pub qris_payload: Option<String>,
    /// The webhook target, when configured.
    pub webhook_url: Option<String>,
}

/// One API token as listed (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenInfo {
    /// Display prefix.
    pub prefix: String,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

const MERCHANT_COLUMNS: &str = "m.id, m.name, m.qris_payload, m.webhook_url";

fn merchant_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Merchant> {
    Ok(Merchant {
        id: MerchantId(row.get(0)?),
        name: row.get(1)?,
        qris_payload: row.get(2)?,
        webhook_url: row.get(3)?,
    })
}

impl Tx<'_> {
    /// Stores a new merchant.
    pub fn insert_merchant(&self, new: &NewMerchantRow) -> Result<MerchantId, DbError> {
        self.sql()
            .prepare_cached(
                "INSERT INTO merchants (name, qris_payload, webhook_url, webhook_secret,
                                        callback_secret_hash, callback_secret_prefix, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                new.name,
                new.qris_payload,
                new.webhook_url,
                new.webhook_secret.expose(),
                new.callback_secret_hash,
                new.callback_secret_prefix,
                new.created_at.as_millis(),
            ])?;
        Ok(MerchantId(self.sql().last_insert_rowid()))
    }

    /// Stores an API token hash for `merchant`; `false` when the merchant does not exist.
    pub fn insert_api_token(
        &self,
        merchant: MerchantId,
        token_hash: &str,
        prefix: &str,
        now: Timestamp,
    ) -> Result<bool, DbError> {
        if self.merchant(merchant)?.is_none() {
            return Ok(false);
        }
        self.sql()
            .prepare_cached(
                "INSERT INTO api_tokens (merchant_id, token_hash, prefix, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![merchant.0, token_hash, prefix, now.as_millis()])?;
        Ok(true)
    }

    /// Revokes `merchant`'s live tokens whose display prefix is `prefix`; returns how many.
    pub fn revoke_api_tokens(
        &self,
        merchant: MerchantId,
        prefix: &str,
        now: Timestamp,
    ) -> Result<usize, DbError> {
        Ok(self
            .sql()
            .prepare_cached(
                "UPDATE api_tokens SET revoked_at = ?3
                 WHERE merchant_id = ?1 AND prefix = ?2 AND revoked_at IS NULL",
            )?
            .execute(params![merchant.0, prefix, now.as_millis()])?)
    }

    /// Stores an operator token hash.
    pub fn insert_operator_token(
        &self,
        token_hash: &str,
        prefix: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.sql()
            .prepare_cached(
                "INSERT INTO operator_tokens (token_hash, prefix, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![token_hash, prefix, now.as_millis()])?;
        Ok(())
    }
}

impl Conn<'_> {
    /// The merchant with this id.
    pub fn merchant(&self, id: MerchantId) -> Result<Option<Merchant>, DbError> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {MERCHANT_COLUMNS} FROM merchants m WHERE m.id = ?1"
            ))?
            .query_row([id.0], merchant_from_row)
            .optional()?)
    }

    /// The merchant owning the live (not revoked) API token with this hash.
    pub fn merchant_by_api_token(&self, token_hash: &str) -> Result<Option<Merchant>, DbError> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {MERCHANT_COLUMNS} FROM api_tokens t JOIN merchants m ON m.id = t.merchant_id
                 WHERE t.token_hash = ?1 AND t.revoked_at IS NULL"
            ))?
            .query_row([token_hash], merchant_from_row)
            .optional()?)
    }

    /// The merchant whose callback secret has this hash.
    pub fn merchant_by_callback_secret(
        &self,
        secret_hash: &str,
    ) -> Result<Option<Merchant>, DbError> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {MERCHANT_COLUMNS} FROM merchants m WHERE m.callback_secret_hash = ?1"
            ))?
            .query_row([secret_hash], merchant_from_row)
            .optional()?)
    }

    /// Whether a live operator token has this hash.
    pub fn operator_token_exists(&self, token_hash: &str) -> Result<bool, DbError> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT 1 FROM operator_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([token_hash], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// A merchant's API tokens, newest first.
    pub fn api_tokens(&self, merchant: MerchantId) -> Result<Vec<ApiTokenInfo>, DbError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT prefix, created_at, revoked_at FROM api_tokens
             WHERE merchant_id = ?1 ORDER BY created_at DESC, id DESC",
        )?;
        let rows = stmt.query_map([merchant.0], |row| {
            Ok(ApiTokenInfo {
                prefix: row.get(0)?,
                created_at: Timestamp::from_millis(row.get(1)?),
                revoked_at: row.get::<_, Option<i64>>(2)?.map(Timestamp::from_millis),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The secret that signs `merchant`'s webhooks.
    pub fn webhook_secret(&self, merchant: MerchantId) -> Result<Option<SecretString>, DbError> {
        Ok(self
            .0
            .prepare_cached("SELECT webhook_secret FROM merchants WHERE id = ?1")?
            .query_row([merchant.0], |row| row.get::<_, String>(0))
            .optional()?
            .map(SecretString::new))
    }
}
