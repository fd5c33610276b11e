//! Dashboard accounts as the browser (`/dashboard/api/register`) and the command line
//! (`webqris account create`) make them: login names are normalised, passwords checked and hashed with
//! argon2id on the bounded hashing pool ([`Passwords`]). Who becomes the operator is decided by the
//! caller ([`NewAccountRole`]): the setup link, `--operator` on the command line, never "the first to
//! register".

use webqris_core::{SecretString, Timestamp};

use crate::db::{Account, Db, DbError, NewAccountError, NewAccountRole};
use crate::password::{HashError, Passwords};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (hashing cost grows with length; nobody types more).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest login name accepted (the longest email address).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Why an account could not be made, or a password not hashed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The login name is not an email address.
    #[error("email must look like name@example.com (at most {MAX_EMAIL_CHARS} characters)")]
    InvalidEmail,
    /// The password is too short.
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    /// The password is too long.
    #[error("password must be at most {MAX_PASSWORD_CHARS} characters")]
    PasswordTooLong,
    /// Storage refused it (the name is taken, the setup link or the invite is used up).
    #[error(transparent)]
    Refused(#[from] NewAccountError),
    /// The password could not be hashed (the pool is busy, or argon2 failed).
    #[error(transparent)]
    Hashing(#[from] HashError),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The login name as stored: trimmed, lowercased, and shaped like an email address.
pub fn normalise_email(text: &str) -> Result<String, AccountError> {
    let email = text.trim().to_lowercase();
    let shaped = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if shaped {
        Ok(email)
    } else {
        Err(AccountError::InvalidEmail)
    }
}

/// Checks a new password's length (characters, not bytes).
pub fn check_password(password: &str) -> Result<(), AccountError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(AccountError::PasswordTooShort)
    } else if chars > MAX_PASSWORD_CHARS {
        Err(AccountError::PasswordTooLong)
    } else {
        Ok(())
    }
}

/// Makes an account as `role` allows.
pub async fn create(
    db: &Db,
    passwords: &Passwords,
    email: &str,
    password: SecretString,
    role: NewAccountRole,
    now: Timestamp,
) -> Result<Account, AccountError> {
    let email = normalise_email(email)?;
    check_password(password.expose())?;
    let hash = passwords.hash(password).await?;
    Ok(db
        .write(move |tx| tx.insert_account(&email, &hash, &role, now))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_are_normalised_and_must_look_like_email() {
        assert_eq!(
            normalise_email("  Owner@Example.COM ").expect("valid"),
            "owner@example.com"
        );
        for bad in [
            "",
            "owner",
            "@example.com",
            "owner@localhost",
            "a b@example.com",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad:?} refused");
        }
    }

    #[test]
    fn passwords_are_counted_in_characters() {
        assert!(matches!(
            check_password("1234567"),
            Err(AccountError::PasswordTooShort)
        ));
        check_password("kata sandi").expect("8+ characters");
        check_password(&"é".repeat(MAX_PASSWORD_CHARS)).expect("256 characters");
        assert!(matches!(
            check_password(&"a".repeat(MAX_PASSWORD_CHARS + 1)),
            Err(AccountError::PasswordTooLong)
        ));
    }
}
