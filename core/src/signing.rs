//! Outbound webhook signatures: the WebQRIS `X-Webhook-Signature` (lowercase hex HMAC-SHA256 of the raw
//! body, keyed with the whole secret string) and Standard Webhooks v1 (`webhook-signature: v1,<base64>`
//! over `id.timestamp.body`, keyed with the base64-decoded part after `whsec_`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::constant_time_eq;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of every webhook secret.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

/// Why a signature could not be made or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The secret does not have the `whsec_<base64>` form Standard Webhooks keys need.
    #[error("webhook secret must be 'whsec_' followed by base64; {0}")]
    InvalidSecret(String),
    /// The timestamp is further from now than the tolerance allows (replay or clock skew).
    #[error(
        "webhook timestamp {timestamp} is outside the tolerance of {tolerance_secs} s around {now}"
    )]
    TimestampOutOfTolerance {
        /// The `webhook-timestamp` received.
        timestamp: i64,
        /// The verifier's clock, seconds since the epoch.
        now: i64,
        /// The allowed distance in seconds.
        tolerance_secs: i64,
    },
    /// The `webhook-timestamp` header is not an integer number of seconds.
    #[error("webhook-timestamp {0:?} is not an integer number of seconds")]
    InvalidTimestamp(String),
    /// No `v1,` signature in the header matched the body.
    #[error("no matching v1 signature")]
    NoMatchingSignature,
}

/// `X-Webhook-Signature` / `X-Signature`: lowercase hex HMAC-SHA256 of `body`, keyed with the secret's
/// UTF-8 bytes, exactly what PHP's `hash_hmac('sha256', $body, $secret)` computes.
pub fn hex_signature(secret: &str, body: &[u8]) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), body))
}

/// Checks a hex signature in constant time; hex case is ignored.
pub fn verify_hex_signature(secret: &str, body: &[u8], signature: &str) -> bool {
    let expected = hex_signature(secret, body);
    constant_time_eq(
        expected.as_bytes(),
        signature.trim().to_ascii_lowercase().as_bytes(),
    )
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` only fails for fixed-size MACs.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC-SHA256 takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A Standard Webhooks v1 signer/verifier (<https://www.standardwebhooks.com/>).
#[derive(Clone)]
pub struct StandardWebhooks {
    key: Vec<u8>,
}

impl std::fmt::Debug for StandardWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StandardWebhooks(<redacted>)")
    }
}

impl StandardWebhooks {
    /// Builds the key from a `whsec_<base64>` secret (the prefix is optional, as in the official libraries).
    pub fn from_secret(secret: &str) -> Result<Self, SigningError> {
        let encoded = secret.strip_prefix(WEBHOOK_SECRET_PREFIX).unwrap_or(secret);
        let key = BASE64
            .decode(encoded)
            .map_err(|e| SigningError::InvalidSecret(e.to_string()))?;
        if key.is_empty() {
            return Err(SigningError::InvalidSecret("the key is empty".into()));
        }
        Ok(Self { key })
    }

    /// The `webhook-signature` header value for one attempt: `v1,<base64 HMAC of id.timestamp.body>`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        format!(
            "v1,{}",
            BASE64.encode(self.raw_signature(msg_id, timestamp, body))
        )
    }

    fn raw_signature(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut message = Vec::with_capacity(msg_id.len() + body.len() + 24);
        message.extend_from_slice(msg_id.as_bytes());
        message.push(b'.');
        message.extend_from_slice(timestamp.to_string().as_bytes());
        message.push(b'.');
        message.extend_from_slice(body);
        hmac_sha256(&self.key, &message)
    }

    /// Verifies the three headers against `body`. `signatures` is the `webhook-signature` header: one or
    /// more space-separated `v1,<base64>` entries (several during a key rotation). `now` is in seconds.
    pub fn verify(
        &self,
        msg_id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
        tolerance_secs: i64,
    ) -> Result<(), SigningError> {
        let ts: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| SigningError::InvalidTimestamp(timestamp.chars().take(32).collect()))?;
        if (now - ts).abs() > tolerance_secs {
            return Err(SigningError::TimestampOutOfTolerance {
                timestamp: ts,
                now,
                tolerance_secs,
            });
        }
        let expected = BASE64.encode(self.raw_signature(msg_id, ts, body));
        let matched = signatures
            .split_whitespace()
            .filter_map(|entry| entry.strip_prefix("v1,"))
            // Every entry is compared; no early exit reveals which one matched.
            .fold(false, |found, candidate| {
                found | constant_time_eq(expected.as_bytes(), candidate.as_bytes())
            });
        if matched {
            Ok(())
        } else {
            Err(SigningError::NoMatchingSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vector {
        scheme: String,
        secret: String,
        msg_id: String,
        timestamp: String,
        body: String,
        expected: String,
    }

    fn vectors() -> Vec<Vector> {
        include_str!("../../tests/corpus/webhook-vectors.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                assert_eq!(f.len(), 6, "row has six columns: {l}");
                Vector {
                    scheme: f[0].into(),
                    secret: f[1].into(),
                    msg_id: f[2].into(),
                    timestamp: f[3].into(),
                    body: f[4].into(),
                    expected: f[5].into(),
                }
            })
            .collect()
    }

    #[test]
    fn every_corpus_vector_signs_and_verifies() {
        let all = vectors();
        assert!(all.len() >= 2);
        for v in all {
            match v.scheme.as_str() {
                "webqris-hex" => {
                    assert_eq!(hex_signature(&v.secret, v.body.as_bytes()), v.expected);
                    assert!(verify_hex_signature(
                        &v.secret,
                        v.body.as_bytes(),
                        &v.expected
                    ));
                    assert!(verify_hex_signature(
                        &v.secret,
                        v.body.as_bytes(),
                        &v.expected.to_uppercase()
                    ));
                }
                "standard-webhooks-v1" => {
                    let sw = StandardWebhooks::from_secret(&v.secret).expect("valid secret");
                    let ts: i64 = v.timestamp.parse().expect("integer timestamp");
                    assert_eq!(sw.sign(&v.msg_id, ts, v.body.as_bytes()), v.expected);
                    sw.verify(
                        &v.msg_id,
                        &v.timestamp,
                        &v.expected,
                        v.body.as_bytes(),
                        ts,
                        300,
                    )
                    .expect("vector verifies");
                }
                other => panic!("unknown scheme {other}"),
            }
        }
    }

    #[test]
    fn hex_signature_rejects_a_changed_body_or_secret() {
        let sig = hex_signature("whsec_a", b"{\"a\":1}");
        assert!(!verify_hex_signature("whsec_a", b"{\"a\":2}", &sig));
        assert!(!verify_hex_signature("whsec_b", b"{\"a\":1}", &sig));
        assert!(!verify_hex_signature("whsec_a", b"{\"a\":1}", ""));
    }

    #[test]
    fn standard_webhooks_enforces_tolerance_and_accepts_rotation_lists() {
        let sw =
            StandardWebhooks::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("ok");
        let sig = sw.sign("msg_1", 1000, b"body");
        assert_eq!(sw.verify("msg_1", "1000", &sig, b"body", 1200, 300), Ok(()));
        assert!(matches!(
            sw.verify("msg_1", "1000", &sig, b"body", 1301, 300),
            Err(SigningError::TimestampOutOfTolerance { .. })
        ));
        let list = format!("v1,AAAA {sig}");
        assert_eq!(
            sw.verify("msg_1", "1000", &list, b"body", 1000, 300),
            Ok(())
        );
        assert_eq!(
            sw.verify("msg_2", "1000", &sig, b"body", 1000, 300),
            Err(SigningError::NoMatchingSignature)
        );
        assert!(matches!(
            sw.verify("msg_1", "soon", &sig, b"body", 1000, 300),
            Err(SigningError::InvalidTimestamp(_))
        ));
    }

    #[test]
    fn secrets_that_are_not_base64_are_refused_for_standard_webhooks() {
        assert!(StandardWebhooks::from_secret("whsec_test_secret_for_vectors").is_err());
        assert!(StandardWebhooks::from_secret("whsec_").is_err());
    }
}
