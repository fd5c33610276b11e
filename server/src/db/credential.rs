//! Credentials as the WebSocket registry and the operator's command line need them: which of a set of
//! credentials is still live, and the operator tokens (listed by prefix, revoked by prefix).

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};
use webqris_core::Timestamp;

use super::{Conn, DbError, Tx};
use crate::sockets::Credential;

/// One operator token as listed (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorTokenInfo {
    /// Display prefix.
    pub prefix: String,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl Conn<'_> {
    /// Which of `credentials` are still live at `now`: API tokens not revoked (and so of a merchant that
    /// still exists), operator tokens not revoked, sessions that exist and have not expired.
    pub fn live_credentials(
        &self,
        credentials: &[Credential],
        now: Timestamp,
    ) -> Result<HashSet<Credential>, DbError> {
        let mut live = HashSet::new();
        for credential in credentials {
            let found = match *credential {
                Credential::ApiToken(id) => self
                    .0
                    .prepare_cached(
                        "SELECT 1 FROM api_tokens WHERE id = ?1 AND revoked_at IS NULL",
                    )?
                    .query_row([id], |_| Ok(()))
                    .optional()?,
                Credential::OperatorToken(id) => self
                    .0
                    .prepare_cached(
                        "SELECT 1 FROM operator_tokens WHERE id = ?1 AND revoked_at IS NULL",
                    )?
                    .query_row([id], |_| Ok(()))
                    .optional()?,
                Credential::Session(id) => self
                    .0
                    .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1 AND expires_at > ?2")?
                    .query_row(params![id, now.as_millis()], |_| Ok(()))
                    .optional()?,
            };
            if found.is_some() {
                live.insert(*credential);
            }
        }
        Ok(live)
    }

    /// The row id of the live operator token with this hash.
    pub fn operator_token_id(&self, token_hash: &str) -> Result<Option<i64>, DbError> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT id FROM operator_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([token_hash], |row| row.get(0))
            .optional()?)
    }

    /// Every operator token, newest first.
    pub fn operator_tokens(&self) -> Result<Vec<OperatorTokenInfo>, DbError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT prefix, created_at, revoked_at FROM operator_tokens
             ORDER BY created_at DESC, id DESC",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(OperatorTokenInfo {
                prefix: row.get(0)?,
                created_at: Timestamp::from_millis(row.get(1)?),
                revoked_at: row.get::<_, Option<i64>>(2)?.map(Timestamp::from_millis),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Tx<'_> {
    /// Revokes the live operator tokens whose display prefix is `prefix`; returns how many.
    pub fn revoke_operator_tokens(&self, prefix: &str, now: Timestamp) -> Result<usize, DbError> {
        Ok(self
            .sql()
            .prepare_cached(
                "UPDATE operator_tokens SET revoked_at = ?2 WHERE prefix = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![prefix, now.as_millis()])?)
    }
}
