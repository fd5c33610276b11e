//! Credentials as the WebSocket registry and the operator's command line need them: which of a set of
//! credentials is still live, and the operator tokens (listed by prefix, revoked by prefix).

use std::collections::HashSet;

use webqris_core::Timestamp;

use super::sql::params;
use super::{ApiTokenInfo, Conn, DbError, Tx};
use crate::sockets::Credential;

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
                Credential::ApiToken(id) => self.exists(
                    "SELECT 1 FROM api_tokens WHERE id = ?1 AND revoked_at IS NULL",
                    params![id],
                )?,
                Credential::OperatorToken(id) => self.exists(
                    "SELECT 1 FROM operator_tokens WHERE id = ?1 AND revoked_at IS NULL",
                    params![id],
                )?,
                Credential::Session(id) => self.exists(
                    "SELECT 1 FROM sessions WHERE id = ?1 AND expires_at > ?2",
                    params![id, now],
                )?,
            };
            if found {
                live.insert(*credential);
            }
        }
        Ok(live)
    }

    /// The row id of the live operator token with this hash.
    pub fn operator_token_id(&self, token_hash: &str) -> Result<Option<i64>, DbError> {
        self.query_opt(
            "SELECT id FROM operator_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
            params![token_hash],
            |r| r.get(0),
        )
    }

    /// Every operator token, newest first (listed like API tokens).
    pub fn operator_tokens(&self) -> Result<Vec<ApiTokenInfo>, DbError> {
        self.query_all(
            "SELECT prefix, created_at, revoked_at FROM operator_tokens
             ORDER BY created_at DESC, id DESC",
            params![],
            |r| {
                Ok(ApiTokenInfo {
                    prefix: r.get(0)?,
                    created_at: r.get(1)?,
                    revoked_at: r.get(2)?,
                    test: false,
                })
            },
        )
    }
}

impl Tx<'_> {
    /// Revokes the live operator tokens whose display prefix is `prefix`; returns how many.
    pub fn revoke_operator_tokens(&self, prefix: &str, now: Timestamp) -> Result<usize, DbError> {
        self.execute(
            "UPDATE operator_tokens SET revoked_at = ?2 WHERE prefix = ?1 AND revoked_at IS NULL",
            params![prefix, now],
        )
    }
}
