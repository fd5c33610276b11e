//! Generating and hashing the server's secrets and random identifiers. Bearer secrets (API tokens,
//! callback secrets, operator tokens) are shown once and stored only as a SHA-256 hash: they carry 256 bits
//! of randomness, so a fast hash is the right lookup key (argon2id is for low-entropy passwords).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use rand::Rng as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use webqris_core::SecretString;
use webqris_core::signing::WEBHOOK_SECRET_PREFIX;

/// The kinds of bearer secret, each with a short recognisable prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerKind {
    /// A merchant backend's API token (`Authorization: Bearer` on create/status, `?token=` on
    /// `/ws/merchant`).
    ApiToken,
    /// A merchant's callback secret (notifications coming in).
    CallbackSecret,
    /// An operator credential (`/ws`).
    OperatorToken,
    /// A dashboard session cookie.
    Session,
}

impl BearerKind {
    /// The prefix every secret of this kind starts with.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::ApiToken => "wqk_",
            Self::CallbackSecret => "wqcb_",
            Self::OperatorToken => "wqadm_",
            Self::Session => "wqs_",
        }
    }
}

/// Characters of the random part kept in the display prefix (enough to tell tokens apart in a list).
const DISPLAY_CHARS: usize = 6;

/// A freshly generated bearer secret: the plaintext (shown once) and what is stored.
#[derive(Debug, Clone)]
pub struct IssuedSecret {
    /// The secret itself; never stored.
    pub plaintext: SecretString,
    /// [`hash`] of the plaintext, the lookup key.
    pub hash: String,
    /// The kind prefix plus the first few random characters, shown in lists (`wqk_Ab3dE9`).
    pub display_prefix: String,
}

/// A new bearer secret: the kind's prefix + 43 URL-safe characters (32 random bytes).
pub fn issue(kind: BearerKind) -> IssuedSecret {
    let random = BASE64URL.encode(random_bytes::<32>());
    let plaintext = format!("{}{random}", kind.prefix());
    let display_prefix = format!("{}{}", kind.prefix(), &random[..DISPLAY_CHARS]);
    IssuedSecret {
        hash: hash(&plaintext),
        plaintext: SecretString::new(plaintext),
        display_prefix,
    }
}

/// A new webhook secret: `whsec_` + base64 of 32 random bytes (usable by the Standard Webhooks libraries).
pub fn webhook_secret() -> SecretString {
    SecretString::new(format!(
        "{WEBHOOK_SECRET_PREFIX}{}",
        BASE64.encode(random_bytes::<32>())
    ))
}

/// 43 URL-safe characters carrying 256 random bits: CSRF tokens and payment page URLs.
pub fn random_token() -> String {
    BASE64URL.encode(random_bytes::<32>())
}

/// A payment page's token: 43 URL-safe characters, the instant `now_ms` (epoch milliseconds) as 11
/// hexadecimal digits, then 192 random bits. The prefix makes new tokens sort after older ones, so the
/// unique index on them grows at its end instead of writing a random page for every invoice; it tells
/// nothing the page does not show (the invoice id carries the second it was made). Eleven digits last
/// until the year 2527; the instant is clamped to them, so the token is always 43 characters.
pub fn page_token(now_ms: i64) -> String {
    format!(
        "{:011x}{}",
        now_ms.clamp(0, 0xfff_ffff_ffff),
        BASE64URL.encode(random_bytes::<24>())
    )
}

/// 16 random bytes: a password salt.
pub fn salt() -> [u8; 16] {
    random_bytes::<16>()
}

/// The stored form of a bearer secret: lowercase hex SHA-256 of its UTF-8 bytes.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `len` random characters from `a-z0-9` (invoice id suffixes).
pub fn lowercase_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// A Standard Webhooks message id, `msg_` + 24 random alphanumerics; stable across retries of one event.
pub fn message_id() -> String {
    let mut rng = rand::rng();
    let id: String = (0..24)
        .map(|_| char::from(rng.sample(rand::distr::Alphanumeric)))
        .collect();
    format!("msg_{id}")
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // ThreadRng is a cryptographically secure generator seeded from the OS.
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use webqris_core::signing::StandardWebhooks;

    use super::*;

    #[test]
    fn page_tokens_sort_by_their_instant_and_keep_192_random_bits() {
        let (early, late) = (page_token(1_765_000_000_000), page_token(1_765_000_000_001));
        assert_eq!((early.len(), late.len()), (43, 43));
        assert!(early < late, "{early} sorts before {late}");
        assert_eq!(&early[..11], "19af232b200", "the instant in hex");
        let again = page_token(1_765_000_000_000);
        assert_eq!(early[..11], again[..11]);
        assert_ne!(early[11..], again[11..], "the random part differs");
        assert_eq!(page_token(i64::MAX).len(), 43, "clamped far in the future");
        assert_eq!(page_token(-1).len(), 43, "and before 1970");
    }

    #[test]
    fn bearer_secrets_have_their_prefix_and_at_least_32_url_safe_characters() {
        for kind in [
            BearerKind::ApiToken,
            BearerKind::CallbackSecret,
            BearerKind::OperatorToken,
            BearerKind::Session,
        ] {
            let issued = issue(kind);
            let text = issued.plaintext.expose();
            let random = text.strip_prefix(kind.prefix()).expect("prefix");
            assert!(random.len() >= 32, "{text}");
            assert!(
                random
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{text}"
            );
            assert!(text.starts_with(&issued.display_prefix));
            assert_eq!(issued.hash, hash(text));
            assert_ne!(issued.hash, text);
        }
    }

    #[test]
    fn secrets_do_not_repeat() {
        let seen: HashSet<String> = (0..200)
            .map(|_| issue(BearerKind::ApiToken).plaintext.expose().to_owned())
            .collect();
        assert_eq!(seen.len(), 200);
    }

    #[test]
    fn webhook_secrets_work_with_both_signature_schemes() {
        let secret = webhook_secret();
        assert!(secret.expose().starts_with("whsec_"));
        let sw = StandardWebhooks::from_secret(secret.expose()).expect("base64 after whsec_");
        let sig = sw.sign("msg_1", 1000, b"{}");
        assert_eq!(sw.verify("msg_1", "1000", &sig, b"{}", 1000, 5), Ok(()));
    }

    #[test]
    fn identifiers_have_their_documented_shapes() {
        let suffix = lowercase_alphanumeric(6);
        assert_eq!(suffix.len(), 6);
        assert!(
            suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        let id = message_id();
        assert!(id.starts_with("msg_") && id.len() == 28, "{id}");
    }
}
