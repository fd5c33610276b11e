//! Operator bootstrap: a server with no account never hands the operator role to whoever comes first.
//! When `webqris serve` starts on a database without an operator account, it makes a one-time setup token and
//! logs a link (`<public_url>/dashboard/login#setup=<token>`) that creates the operator account; the
//! token lives only in this process's memory (a restart prints a new one) and stops working once an
//! operator exists. `webqris account create --operator` does the same from the command line.

use std::sync::{Arc, Mutex, PoisonError};

use webqris_core::SecretString;
use webqris_core::secret::constant_time_eq;

use crate::secret;

/// The pending setup token, if the server still needs its operator. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap(Arc<Mutex<Option<String>>>);

impl Bootstrap {
    /// No setup pending (an operator exists).
    pub fn done() -> Self {
        Self::default()
    }

    /// A setup pending with `token` (random unless a test pins it); returns the link to print.
    pub fn pending(public_url: &str, token: Option<SecretString>) -> (Self, String) {
        let token = token.unwrap_or_else(|| SecretString::new(secret::random_token()));
        let link = setup_link(public_url, token.expose());
        (
            Self(Arc::new(Mutex::new(Some(secret::hash(token.expose()))))),
            link,
        )
    }

    /// Whether `token` is the pending setup token.
    pub fn accepts(&self, token: &str) -> bool {
        let expected = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        expected.as_deref().is_some_and(|hash| {
            constant_time_eq(secret::hash(token.trim()).as_bytes(), hash.as_bytes())
        })
    }

    /// The operator exists: the token stops working.
    pub fn finish(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The page that creates the operator account. The token is in the fragment, which browsers never send
/// to a server, so it stays out of access logs and `Referer` headers.
pub fn setup_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/dashboard/login#setup={token}")
}

/// The page that accepts an invite (same fragment rule as [`setup_link`]).
pub fn invite_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/dashboard/login#invite={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_token_works_until_the_operator_exists() {
        let (bootstrap, link) = Bootstrap::pending("http://127.0.0.1:8080", None);
        let token = link
            .split_once("#setup=")
            .map(|(_, t)| t.to_owned())
            .expect("the link carries the token");
        assert!(link.starts_with("http://127.0.0.1:8080/dashboard/login#setup="));
        assert!(bootstrap.accepts(&token));
        assert!(!bootstrap.accepts("guess"));
        bootstrap.finish();
        assert!(!bootstrap.accepts(&token), "one time only");
        assert!(!Bootstrap::done().accepts(&token));
    }
}
