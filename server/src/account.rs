//! Dashboard accounts as the browser (`/dashboard/api/register`) and the command line
//! (`webqris account create`) make them: login names are normalised, passwords checked and hashed with
//! argon2id off the async executor, and the first account ever made is the operator.

use std::sync::LazyLock;

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher as _, PasswordVerifier as _};
use webqris_core::{SecretString, Timestamp};

use crate::db::{Account, Db, DbError, NewAccountError};
use crate::secret;

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
    /// The login name is taken.
    #[error("an account with this email already exists")]
    Taken,
    /// argon2 refused (a bug: the parameters are constants).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<NewAccountError> for AccountError {
    fn from(e: NewAccountError) -> Self {
        match e {
            NewAccountError::Taken => Self::Taken,
            NewAccountError::Db(e) => Self::Db(e),
        }
    }
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

/// argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: the OWASP recommendation).
fn hasher() -> Argon2<'static> {
    Argon2::default()
}

fn hash_blocking(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::encode_b64(&secret::salt())
        .map_err(|e| AccountError::Hashing(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AccountError::Hashing(e.to_string()))
}

/// A hash nobody's password matches, verified when the login name is unknown so that a wrong name
/// takes as long as a wrong password.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking(&secret::random_token()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot compute the decoy password hash");
        String::new()
    })
});

/// Hashes `password` (PHC string) on a blocking thread.
pub async fn hash_password(password: SecretString) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || hash_blocking(password.expose()))
        .await
        .map_err(|e| AccountError::Hashing(format!("hashing task failed: {e}")))?
}

/// Whether `password` matches `stored` (verified on a blocking thread). `None` (unknown login name)
/// verifies against a decoy and is always `false`.
pub async fn verify_password(password: SecretString, stored: Option<String>) -> bool {
    let verified = tokio::task::spawn_blocking(move || {
        let (hash, real) = match &stored {
            Some(hash) => (hash.as_str(), true),
            None => (DECOY_HASH.as_str(), false),
        };
        let matches = PasswordHash::new(hash).is_ok_and(|parsed| {
            hasher()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        });
        real && matches
    })
    .await;
    verified.unwrap_or_else(|e| {
        tracing::error!(error = %e, "password verification task failed");
        false
    })
}

/// Makes an account (the operator when it is the first one).
pub async fn create(
    db: &Db,
    email: &str,
    password: SecretString,
    now: Timestamp,
) -> Result<Account, AccountError> {
    let email = normalise_email(email)?;
    check_password(password.expose())?;
    let hash = hash_password(password).await?;
    Ok(db
        .write(move |tx| tx.insert_account(&email, &hash, now))
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

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_is_argon2id() {
        let hash = hash_password(SecretString::new("correct horse"))
            .await
            .expect("hashes");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(SecretString::new("correct horse"), Some(hash.clone())).await);
        assert!(!verify_password(SecretString::new("correct horsE"), Some(hash)).await);
        assert!(!verify_password(SecretString::new("correct horse"), None).await);
        assert!(!verify_password(SecretString::new("x"), Some("not a hash".into())).await);
    }
}
