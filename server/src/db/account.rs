//! Dashboard accounts and their sessions. Passwords arrive here already hashed (argon2id, off the async
//! executor); session cookies arrive as their SHA-256, so neither secret is ever stored in clear.

use rusqlite::{OptionalExtension, params};
use webqris_core::Timestamp;

use super::{Conn, DbError, Tx};

/// An account's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

/// A dashboard account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Row id.
    pub id: AccountId,
    /// Login name, lowercased.
    pub email: String,
    /// The operator sees every merchant, including those made by the CLI (no owner).
    pub is_operator: bool,
    /// When it was made.
    pub created_at: Timestamp,
}

/// What a login needs: the account and its password hash (PHC string).
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The account.
    pub account: Account,
    /// The argon2id hash to verify against.
    pub password_hash: String,
}

/// A live session with its account.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Row id.
    pub id: i64,
    /// Whose session it is.
    pub account: Account,
    /// The token state-changing requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// What kind of account to store, and what entitles it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewAccountRole {
    /// The operator, made through the one-time setup link: only while no operator exists.
    FirstOperator,
    /// An operator, made on the server's machine (`webqris account create --operator`).
    Operator,
    /// An ordinary account, entitled by the unused, unexpired invite whose token hashes to this.
    Invited {
        /// SHA-256 of the invite token.
        invite_hash: String,
    },
    /// An ordinary account (open registration, or the command line).
    Member,
}

/// Why an account could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum NewAccountError {
    /// The login name is taken.
    #[error("an account with this email already exists")]
    Taken,
    /// The setup link was used already: an operator exists.
    #[error("this server is already set up; log in, or ask its operator for an invite")]
    AlreadySetUp,
    /// The invite does not exist, was used, or has expired.
    #[error(
        "this invite link is not valid (it may have been used or have expired); ask for a new one"
    )]
    BadInvite,
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

const ACCOUNT_COLUMNS: &str = "a.id, a.email, a.is_operator, a.created_at";

fn account_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: AccountId(row.get(0)?),
        email: row.get(1)?,
        is_operator: row.get(2)?,
        created_at: Timestamp::from_millis(row.get(3)?),
    })
}

impl Tx<'_> {
    /// Stores an account as `role` allows. The checks (no account yet for the first operator, the
    /// invite unused and unexpired) and the insert run in one transaction on the single writer, so two
    /// racing requests cannot both use one setup link or one invite.
    pub fn insert_account(
        &self,
        email: &str,
        password_hash: &str,
        role: &NewAccountRole,
        now: Timestamp,
    ) -> Result<Account, NewAccountError> {
        if self.account_by_email(email)?.is_some() {
            return Err(NewAccountError::Taken);
        }
        let invite = match role {
            NewAccountRole::FirstOperator => {
                if self.operator_exists()? {
                    return Err(NewAccountError::AlreadySetUp);
                }
                None
            }
            NewAccountRole::Invited { invite_hash } => Some(
                self.sql()
                    .prepare_cached(
                        "SELECT id FROM invites
                         WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                    )
                    .map_err(DbError::from)?
                    .query_row(params![invite_hash, now.as_millis()], |r| {
                        r.get::<_, i64>(0)
                    })
                    .optional()
                    .map_err(DbError::from)?
                    .ok_or(NewAccountError::BadInvite)?,
            ),
            NewAccountRole::Operator | NewAccountRole::Member => None,
        };
        let operator = matches!(
            role,
            NewAccountRole::FirstOperator | NewAccountRole::Operator
        );
        let account = self
            .sql()
            .prepare_cached(
                "INSERT INTO accounts (email, password_hash, is_operator, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 RETURNING id, email, is_operator, created_at",
            )
            .map_err(DbError::from)?
            .query_row(
                params![email, password_hash, operator, now.as_millis()],
                account_from_row,
            )
            .map_err(DbError::from)?;
        if let Some(invite) = invite {
            self.sql()
                .prepare_cached("UPDATE invites SET used_at = ?2, used_by = ?3 WHERE id = ?1")
                .map_err(DbError::from)?
                .execute(params![invite, now.as_millis(), account.id.0])
                .map_err(DbError::from)?;
        }
        Ok(account)
    }

    /// Stores an invite whose token hashes to `token_hash`, valid until `expires_at`.
    pub fn insert_invite(
        &self,
        token_hash: &str,
        created_by: AccountId,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), DbError> {
        self.sql()
            .prepare_cached(
                "INSERT INTO invites (token_hash, created_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                token_hash,
                created_by.0,
                now.as_millis(),
                expires_at.as_millis()
            ])?;
        Ok(())
    }

    /// Stores a session whose cookie hashes to `token_hash`.
    pub fn insert_session(
        &self,
        account: AccountId,
        token_hash: &str,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), DbError> {
        self.sql()
            .prepare_cached(
                "INSERT INTO sessions (account_id, token_hash, csrf_token, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                account.0,
                token_hash,
                csrf_token,
                now.as_millis(),
                expires_at.as_millis()
            ])?;
        // Expired sessions are useless; dropping them here keeps the table small without a sweeper.
        self.sql()
            .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
            .execute([now.as_millis()])?;
        Ok(())
    }

    /// Ends one session; returns whether it existed.
    pub fn delete_session(&self, id: i64) -> Result<bool, DbError> {
        Ok(self
            .sql()
            .prepare_cached("DELETE FROM sessions WHERE id = ?1")?
            .execute([id])?
            > 0)
    }

    /// Ends every session of `account` ("log out everywhere"); returns how many.
    pub fn delete_sessions_of(&self, account: AccountId) -> Result<usize, DbError> {
        Ok(self
            .sql()
            .prepare_cached("DELETE FROM sessions WHERE account_id = ?1")?
            .execute([account.0])?)
    }
}

impl Conn<'_> {
    /// Whether an operator account exists.
    pub fn operator_exists(&self) -> Result<bool, DbError> {
        Ok(self
            .0
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts WHERE is_operator = 1)")?
            .query_row([], |r| r.get(0))?)
    }

    /// The account with this (lowercased) login name and its password hash.
    pub fn account_by_email(&self, email: &str) -> Result<Option<Credentials>, DbError> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {ACCOUNT_COLUMNS}, a.password_hash FROM accounts a WHERE a.email = ?1"
            ))?
            .query_row([email], |row| {
                Ok(Credentials {
                    account: account_from_row(row)?,
                    password_hash: row.get(4)?,
                })
            })
            .optional()?)
    }

    /// Whether session `id` still exists and has not expired by `now`.
    pub fn session_is_live(&self, id: i64, now: Timestamp) -> Result<bool, DbError> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1 AND expires_at > ?2")?
            .query_row(params![id, now.as_millis()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The session whose cookie hashes to `token_hash`, if it has not expired by `now`.
    pub fn live_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<SessionRow>, DbError> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {ACCOUNT_COLUMNS}, s.id, s.csrf_token, s.expires_at
                 FROM sessions s JOIN accounts a ON a.id = s.account_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2"
            ))?
            .query_row(params![token_hash, now.as_millis()], |row| {
                Ok(SessionRow {
                    account: account_from_row(row)?,
                    id: row.get(4)?,
                    csrf_token: row.get(5)?,
                    expires_at: Timestamp::from_millis(row.get(6)?),
                })
            })
            .optional()?)
    }
}
