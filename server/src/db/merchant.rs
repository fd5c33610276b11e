//! Merchants and credentials: API tokens, callback secrets and operator tokens, looked up by hash.

use webqris_core::{SecretString, Timestamp};

use super::sql::{Row, params};
use super::{AccountId, Conn, DbError, Tx, WebhookSecrets};

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
    /// The dashboard account owning it (`None`: made by the CLI; only the operator sees it).
    pub owner: Option<AccountId>,
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

/// One API or operator token as listed (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenInfo {
    /// Display prefix.
    pub prefix: String,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// A sandbox token (API tokens only; operator tokens are never test tokens).
    pub test: bool,
}

/// The columns [`merchant_from_row`] reads, first in a statement (a macro so statements stay `'static`).
macro_rules! merchant_columns {
    () => {
        "m.id, m.name, m.qris_payload, m.webhook_url"
    };
}

fn merchant_from_row(row: &Row<'_>) -> Result<Merchant, DbError> {
    Ok(Merchant {
        id: row.get(0)?,
        name: row.get(1)?,
        qris_payload: row.get(2)?,
        webhook_url: row.get(3)?,
    })
}

impl Tx<'_> {
    /// Stores a new merchant.
    pub fn insert_merchant(&self, new: &NewMerchantRow) -> Result<MerchantId, DbError> {
        self.query_one(
            "INSERT INTO merchants (name, qris_payload, webhook_url, webhook_secret,
                                    callback_secret_hash, callback_secret_prefix, created_at,
                                    owner_account_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             RETURNING id",
            params![
                new.name,
                new.qris_payload,
                new.webhook_url,
                new.webhook_secret.expose(),
                new.callback_secret_hash,
                new.callback_secret_prefix,
                new.created_at,
                new.owner,
            ],
            |r| r.get(0),
        )
    }

    /// Stores an API token hash for `merchant` (a sandbox token when `test`); `false` when the merchant
    /// does not exist.
    pub fn insert_api_token(
        &self,
        merchant: MerchantId,
        token_hash: &str,
        prefix: &str,
        test: bool,
        now: Timestamp,
    ) -> Result<bool, DbError> {
        if self.merchant(merchant)?.is_none() {
            return Ok(false);
        }
        self.execute(
            "INSERT INTO api_tokens (merchant_id, token_hash, prefix, created_at, test)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![merchant, token_hash, prefix, now, test],
        )?;
        Ok(true)
    }

    /// Revokes `merchant`'s live tokens whose display prefix is `prefix`; returns how many.
    pub fn revoke_api_tokens(
        &self,
        merchant: MerchantId,
        prefix: &str,
        now: Timestamp,
    ) -> Result<usize, DbError> {
        self.execute(
            "UPDATE api_tokens SET revoked_at = ?3
             WHERE merchant_id = ?1 AND prefix = ?2 AND revoked_at IS NULL",
            params![merchant, prefix, now],
        )
    }

    /// Stores an operator token hash.
    pub fn insert_operator_token(
        &self,
        token_hash: &str,
        prefix: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO operator_tokens (token_hash, prefix, created_at) VALUES (?1, ?2, ?3)",
            params![token_hash, prefix, now],
        )?;
        Ok(())
    }
}

impl Conn<'_> {
    /// The merchant with this id.
    pub fn merchant(&self, id: MerchantId) -> Result<Option<Merchant>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                merchant_columns!(),
                " FROM merchants m WHERE m.id = ?1"
            ),
            params![id],
            merchant_from_row,
        )
    }

    /// The merchant owning the live (not revoked) API token with this hash.
    pub fn merchant_by_api_token(&self, token_hash: &str) -> Result<Option<Merchant>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                merchant_columns!(),
                " FROM api_tokens t JOIN merchants m ON m.id = t.merchant_id
                 WHERE t.token_hash = ?1 AND t.revoked_at IS NULL"
            ),
            params![token_hash],
            merchant_from_row,
        )
    }

    /// The merchant whose callback secret has this hash.
    pub fn merchant_by_callback_secret(
        &self,
        secret_hash: &str,
    ) -> Result<Option<Merchant>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                merchant_columns!(),
                " FROM merchants m WHERE m.callback_secret_hash = ?1"
            ),
            params![secret_hash],
            merchant_from_row,
        )
    }

    /// A merchant's API tokens, newest first.
    pub fn api_tokens(&self, merchant: MerchantId) -> Result<Vec<ApiTokenInfo>, DbError> {
        self.query_all(
            "SELECT prefix, created_at, revoked_at, test FROM api_tokens
             WHERE merchant_id = ?1 ORDER BY created_at DESC, id DESC",
            params![merchant],
            |row| {
                Ok(ApiTokenInfo {
                    prefix: row.get(0)?,
                    created_at: row.get(1)?,
                    revoked_at: row.get(2)?,
                    test: row.get(3)?,
                })
            },
        )
    }

    /// The secret that signs `merchant`'s webhooks.
    pub fn webhook_secret(&self, merchant: MerchantId) -> Result<Option<SecretString>, DbError> {
        Ok(self
            .query_opt(
                "SELECT webhook_secret FROM merchants WHERE id = ?1",
                params![merchant],
                |row| row.get::<String>(0),
            )?
            .map(SecretString::new))
    }
}

/// Which merchants a dashboard account may see: the operator sees all, another account its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every merchant (the operator).
    All,
    /// The merchants this account owns.
    Owner(AccountId),
}

impl Scope {
    /// The owner to filter on in SQL (`CAST(?n AS BIGINT) IS NULL OR m.owner_account_id = ?n`).
    pub(super) fn owner(self) -> Option<i64> {
        match self {
            Self::All => None,
            Self::Owner(account) => Some(account.0),
        }
    }
}

/// A merchant as the dashboard lists it.
#[derive(Debug, Clone)]
pub struct MerchantListRow {
    /// The merchant.
    pub merchant: Merchant,
    /// Its owner's login name (`None`: made by the CLI, seen by the operator only).
    pub owner_email: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Payments pending now.
    pub pending: i64,
    /// When one of its forwarder devices was last heard from.
    pub last_device_seen_at: Option<Timestamp>,
}

/// A merchant with everything its settings page shows.
#[derive(Debug, Clone)]
pub struct MerchantDetail {
    /// The merchant.
    pub merchant: Merchant,
    /// Its owner, if an account owns it.
    pub owner: Option<AccountId>,
    /// Its owner's login name.
    pub owner_email: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Signs its webhooks (shown and rotated in the dashboard).
    pub webhook_secret: SecretString,
    /// The secret the last rotation replaced, and until when it keeps signing too.
    pub previous_webhook_secret: Option<(SecretString, Timestamp)>,
    /// Display prefix of the callback secret (the secret itself is only a hash).
    pub callback_secret_prefix: String,
}

impl MerchantDetail {
    /// The secrets that sign its webhooks at `now` (the previous one only while its overlap lasts).
    pub fn webhook_secrets(&self, now: Timestamp) -> WebhookSecrets {
        WebhookSecrets {
            current: self.webhook_secret.clone(),
            previous: self
                .previous_webhook_secret
                .as_ref()
                .filter(|(_, until)| *until > now)
                .map(|(secret, _)| secret.clone()),
        }
    }
}

/// The live API token a request presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiTokenUse {
    /// Row id.
    pub id: i64,
    /// A sandbox token: the invoices it creates are test invoices, and it may simulate payments.
    pub test: bool,
    /// When it was last used (to the minute).
    pub last_used_at: Option<Timestamp>,
}

/// One API token as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    /// Row id (used to revoke it).
    pub id: i64,
    /// Display prefix.
    pub prefix: String,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<Timestamp>,
    /// A sandbox token.
    pub test: bool,
}

/// Why a merchant was not deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteRefusal {
    /// It has payments still pending (not past their deadline).
    PendingPayments(i64),
    /// Webhooks are still being delivered.
    PendingDeliveries(i64),
}

impl Tx<'_> {
    /// Records `owner` as the owner of `merchant`.
    pub fn set_merchant_owner(
        &self,
        merchant: MerchantId,
        owner: Option<AccountId>,
    ) -> Result<(), DbError> {
        self.execute(
            "UPDATE merchants SET owner_account_id = ?2 WHERE id = ?1",
            params![merchant, owner],
        )?;
        Ok(())
    }

    /// Renames a merchant.
    pub fn rename_merchant(&self, merchant: MerchantId, name: &str) -> Result<(), DbError> {
        self.execute(
            "UPDATE merchants SET name = ?2 WHERE id = ?1",
            params![merchant, name],
        )?;
        Ok(())
    }

    /// Stores a merchant's static QRIS (already checked).
    pub fn set_merchant_qris(&self, merchant: MerchantId, payload: &str) -> Result<(), DbError> {
        self.execute(
            "UPDATE merchants SET qris_payload = ?2 WHERE id = ?1",
            params![merchant, payload],
        )?;
        Ok(())
    }

    /// Stores (or clears) a merchant's webhook URL (already checked against the target policy).
    pub fn set_webhook_url(&self, merchant: MerchantId, url: Option<&str>) -> Result<(), DbError> {
        self.execute(
            "UPDATE merchants SET webhook_url = ?2 WHERE id = ?1",
            params![merchant, url],
        )?;
        Ok(())
    }

    /// Replaces a merchant's webhook secret; the next attempt of every delivery is signed with it, and
    /// with the secret it replaces until `previous_until` (`None`: the old secret stops at once). A
    /// secret still in its overlap from an earlier rotation is dropped.
    pub fn set_webhook_secret(
        &self,
        merchant: MerchantId,
        secret: &SecretString,
        previous_until: Option<Timestamp>,
    ) -> Result<(), DbError> {
        self.execute(
            "UPDATE merchants
             SET previous_webhook_secret = CASE WHEN CAST(?3 AS BIGINT) IS NULL THEN NULL
                                                ELSE webhook_secret END,
                 previous_webhook_secret_until = ?3,
                 webhook_secret = ?2
             WHERE id = ?1",
            params![merchant, secret.expose(), previous_until],
        )?;
        Ok(())
    }

    /// Replaces a merchant's callback secret; the old one stops working at once.
    pub fn set_callback_secret(
        &self,
        merchant: MerchantId,
        hash: &str,
        prefix: &str,
    ) -> Result<(), DbError> {
        self.execute(
            "UPDATE merchants SET callback_secret_hash = ?2, callback_secret_prefix = ?3
             WHERE id = ?1",
            params![merchant, hash, prefix],
        )?;
        Ok(())
    }

    /// Revokes one of `merchant`'s API tokens by row id; `false` when it is not that merchant's live
    /// token.
    pub fn revoke_api_token_by_id(
        &self,
        merchant: MerchantId,
        token: i64,
        now: Timestamp,
    ) -> Result<bool, DbError> {
        Ok(self.execute(
            "UPDATE api_tokens SET revoked_at = ?3
             WHERE id = ?2 AND merchant_id = ?1 AND revoked_at IS NULL",
            params![merchant, token, now],
        )? > 0)
    }

    /// Records that the API token with this hash was used at `now`.
    pub fn note_api_token_use(&self, token_hash: &str, now: Timestamp) -> Result<(), DbError> {
        self.execute(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE token_hash = ?1",
            params![token_hash, now],
        )?;
        Ok(())
    }

    /// Deletes a merchant and everything recorded for it, unless a payment is still pending (not past
    /// its deadline at `now`) or a webhook is still being delivered.
    pub fn delete_merchant(
        &self,
        merchant: MerchantId,
        now: Timestamp,
    ) -> Result<Result<(), DeleteRefusal>, DbError> {
        let pending: i64 = self.query_one(
            "SELECT COUNT(*) FROM payments
             WHERE merchant_id = ?1 AND status = 'pending' AND expired_at > ?2",
            params![merchant, now],
            |r| r.get(0),
        )?;
        if pending > 0 {
            return Ok(Err(DeleteRefusal::PendingPayments(pending)));
        }
        let deliveries: i64 = self.query_one(
            "SELECT COUNT(*) FROM deliveries WHERE merchant_id = ?1 AND status = 'pending'",
            params![merchant],
            |r| r.get(0),
        )?;
        if deliveries > 0 {
            return Ok(Err(DeleteRefusal::PendingDeliveries(deliveries)));
        }
        // Children first: foreign keys are enforced.
        for statement in [
            "DELETE FROM delivery_attempts WHERE delivery_id IN
                 (SELECT id FROM deliveries WHERE merchant_id = ?1)",
            "DELETE FROM deliveries WHERE merchant_id = ?1",
            "DELETE FROM manual_confirmations WHERE payment_id IN
                 (SELECT id FROM payments WHERE merchant_id = ?1)",
            "DELETE FROM notification_payments WHERE notification_id IN
                 (SELECT id FROM notifications WHERE merchant_id = ?1)",
            "DELETE FROM seen WHERE merchant_id = ?1",
            "DELETE FROM trusted_titles WHERE merchant_id = ?1",
            "DELETE FROM merchant_channels WHERE merchant_id = ?1",
            "DELETE FROM notifications WHERE merchant_id = ?1",
            "DELETE FROM payments WHERE merchant_id = ?1",
            "DELETE FROM api_tokens WHERE merchant_id = ?1",
            "DELETE FROM devices WHERE merchant_id = ?1",
            "DELETE FROM events WHERE merchant_id = ?1",
            "DELETE FROM event_cursors WHERE merchant_id = ?1",
            "DELETE FROM merchants WHERE id = ?1",
        ] {
            self.execute(statement, params![merchant])?;
        }
        Ok(Ok(()))
    }
}

impl Conn<'_> {
    /// The merchant owning the live API token with this hash, and that token.
    pub fn merchant_by_api_token_with_use(
        &self,
        token_hash: &str,
    ) -> Result<Option<(Merchant, ApiTokenUse)>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                merchant_columns!(),
                ", t.last_used_at, t.id, t.test
                 FROM api_tokens t JOIN merchants m ON m.id = t.merchant_id
                 WHERE t.token_hash = ?1 AND t.revoked_at IS NULL"
            ),
            params![token_hash],
            |row| {
                Ok((
                    merchant_from_row(row)?,
                    ApiTokenUse {
                        id: row.get(5)?,
                        test: row.get(6)?,
                        last_used_at: row.get(4)?,
                    },
                ))
            },
        )
    }

    /// How many merchants `account` owns.
    pub fn merchants_owned_by(&self, account: AccountId) -> Result<usize, DbError> {
        let n: i64 = self.query_one(
            "SELECT COUNT(*) FROM merchants WHERE owner_account_id = ?1",
            params![account],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Every merchant's owner (merchants without one are left out).
    pub fn merchant_owners(&self) -> Result<Vec<(MerchantId, AccountId)>, DbError> {
        self.query_all(
            "SELECT id, owner_account_id FROM merchants WHERE owner_account_id IS NOT NULL",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// The merchants `scope` may see, by name, with what the list shows.
    pub fn merchants_in_scope(
        &self,
        scope: Scope,
        now: Timestamp,
    ) -> Result<Vec<MerchantListRow>, DbError> {
        // lower(): SQLite's NOCASE and PostgreSQL's collations differ; lower() sorts alike on both.
        self.query_all(
            concat!(
                "SELECT ",
                merchant_columns!(),
                ", a.email, m.created_at,
                    (SELECT COUNT(*) FROM payments p
                     WHERE p.merchant_id = m.id AND p.status = 'pending' AND p.expired_at > ?2),
                    (SELECT MAX(d.last_seen_at) FROM devices d WHERE d.merchant_id = m.id)
                 FROM merchants m LEFT JOIN accounts a ON a.id = m.owner_account_id
                 WHERE CAST(?1 AS BIGINT) IS NULL OR m.owner_account_id = ?1
                 ORDER BY lower(m.name), m.id"
            ),
            params![scope.owner(), now],
            |row| {
                Ok(MerchantListRow {
                    merchant: merchant_from_row(row)?,
                    owner_email: row.get(4)?,
                    created_at: row.get(5)?,
                    pending: row.get(6)?,
                    last_device_seen_at: row.get(7)?,
                })
            },
        )
    }

    /// The merchant with this id if `scope` may see it (another account's merchant is not found).
    pub fn merchant_in_scope(
        &self,
        id: MerchantId,
        scope: Scope,
    ) -> Result<Option<MerchantDetail>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                merchant_columns!(),
                ", m.owner_account_id, a.email, m.created_at,
                        m.webhook_secret, m.callback_secret_prefix, m.previous_webhook_secret,
                        m.previous_webhook_secret_until
                 FROM merchants m LEFT JOIN accounts a ON a.id = m.owner_account_id
                 WHERE m.id = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR m.owner_account_id = ?2)"
            ),
            params![id, scope.owner()],
            |row| {
                Ok(MerchantDetail {
                    merchant: merchant_from_row(row)?,
                    owner: row.get(4)?,
                    owner_email: row.get(5)?,
                    created_at: row.get(6)?,
                    webhook_secret: SecretString::new(row.get::<String>(7)?),
                    callback_secret_prefix: row.get(8)?,
                    previous_webhook_secret: row
                        .get::<Option<String>>(9)?
                        .map(SecretString::new)
                        .zip(row.get::<Option<Timestamp>>(10)?),
                })
            },
        )
    }

    /// A merchant's API tokens with their last use, newest first.
    pub fn api_token_rows(&self, merchant: MerchantId) -> Result<Vec<ApiTokenRow>, DbError> {
        self.query_all(
            "SELECT id, prefix, created_at, revoked_at, last_used_at, test FROM api_tokens
             WHERE merchant_id = ?1 ORDER BY created_at DESC, id DESC",
            params![merchant],
            |row| {
                Ok(ApiTokenRow {
                    id: row.get(0)?,
                    prefix: row.get(1)?,
                    created_at: row.get(2)?,
                    revoked_at: row.get(3)?,
                    last_used_at: row.get(4)?,
                    test: row.get(5)?,
                })
            },
        )
    }
}
