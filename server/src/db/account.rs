//! Dashboard accounts and their sessions. Passwords arrive here already hashed (argon2id, off the async
//! executor); session cookies arrive as their SHA-256, so neither secret is ever stored in clear.

use webqris_core::Timestamp;

use super::sql::{Row, Serial, params};
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

/// The columns [`account_from_row`] reads, first in a statement (a macro so statements stay `'static`).
macro_rules! account_columns {
    () => {
        "a.id, a.email, a.is_operator, a.created_at"
    };
}

fn account_from_row(row: &Row<'_>) -> Result<Account, DbError> {
    Ok(Account {
        id: row.get(0)?,
        email: row.get(1)?,
        is_operator: row.get(2)?,
        created_at: row.get(3)?,
    })
}

impl Tx<'_> {
    /// Stores an account as `role` allows. The checks (no operator yet for the first operator, the
    /// invite unused and unexpired) and the insert run in one transaction, serialised with every other account creation (SQLite's single writer, a
    /// PostgreSQL advisory lock), so two
    /// racing requests cannot both use one setup link or one invite.
    pub fn insert_account(
        &self,
        email: &str,
        password_hash: &str,
        role: &NewAccountRole,
        now: Timestamp,
    ) -> Result<Account, NewAccountError> {
        self.serialise(Serial::Accounts)?;
        if self.account_by_email(email)?.is_some() {
            return Err(NewAccountError::Taken);
        }
        let invite: Option<i64> = match role {
            NewAccountRole::FirstOperator => {
                if self.operator_exists()? {
                    return Err(NewAccountError::AlreadySetUp);
                }
                None
            }
            NewAccountRole::Invited { invite_hash } => Some(
                self.query_opt(
                    "SELECT id FROM invites
                     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                    params![invite_hash, now],
                    |r| r.get(0),
                )?
                .ok_or(NewAccountError::BadInvite)?,
            ),
            NewAccountRole::Operator | NewAccountRole::Member => None,
        };
        let operator = matches!(
            role,
            NewAccountRole::FirstOperator | NewAccountRole::Operator
        );
        let account = self.query_one(
            "INSERT INTO accounts (email, password_hash, is_operator, created_at)
             VALUES (?1, ?2, ?3, ?4)
             RETURNING id, email, is_operator, created_at",
            params![email, password_hash, operator, now],
            account_from_row,
        )?;
        if let Some(invite) = invite {
            self.execute(
                "UPDATE invites SET used_at = ?2, used_by = ?3 WHERE id = ?1",
                params![invite, now, account.id],
            )?;
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
        self.execute(
            "INSERT INTO invites (token_hash, created_by, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, created_by, now, expires_at],
        )?;
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
        self.execute(
            "INSERT INTO sessions (account_id, token_hash, csrf_token, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![account, token_hash, csrf_token, now, expires_at],
        )?;
        // Expired sessions are useless; dropping them here keeps the table small without a sweeper.
        self.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?;
        Ok(())
    }

    /// Ends one session; returns whether it existed.
    pub fn delete_session(&self, id: i64) -> Result<bool, DbError> {
        Ok(self.execute("DELETE FROM sessions WHERE id = ?1", params![id])? > 0)
    }

    /// Ends every session of `account` ("log out everywhere"); returns how many.
    pub fn delete_sessions_of(&self, account: AccountId) -> Result<usize, DbError> {
        self.execute(
            "DELETE FROM sessions WHERE account_id = ?1",
            params![account],
        )
    }
}

impl Conn<'_> {
    /// Whether an operator account exists.
    pub fn operator_exists(&self) -> Result<bool, DbError> {
        self.exists("SELECT 1 FROM accounts WHERE is_operator = 1", params![])
    }

    /// The account with this (lowercased) login name and its password hash.
    pub fn account_by_email(&self, email: &str) -> Result<Option<Credentials>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                account_columns!(),
                ", a.password_hash FROM accounts a WHERE a.email = ?1"
            ),
            params![email],
            |row| {
                Ok(Credentials {
                    account: account_from_row(row)?,
                    password_hash: row.get(4)?,
                })
            },
        )
    }

    /// Whether session `id` still exists and has not expired by `now`.
    pub fn session_is_live(&self, id: i64, now: Timestamp) -> Result<bool, DbError> {
        self.exists(
            "SELECT 1 FROM sessions WHERE id = ?1 AND expires_at > ?2",
            params![id, now],
        )
    }

    /// The session whose cookie hashes to `token_hash`, if it has not expired by `now`.
    pub fn live_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<SessionRow>, DbError> {
        self.query_opt(
            concat!(
                "SELECT ",
                account_columns!(),
                ", s.id, s.csrf_token, s.expires_at
                 FROM sessions s JOIN accounts a ON a.id = s.account_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2"
            ),
            params![token_hash, now],
            |row| {
                Ok(SessionRow {
                    account: account_from_row(row)?,
                    id: row.get(4)?,
                    csrf_token: row.get(5)?,
                    expires_at: row.get(6)?,
                })
            },
        )
    }
}
