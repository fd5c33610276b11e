//! The setup link the dashboard shows as a QR code, so that a merchant configures the phone by scanning:
//! `webqris://setup?server=<url-encoded base URL>&secret=<callback secret>&merchant=<url-encoded name>`.
//! `merchant` is optional (shown only); `server` and `secret` are required.

use url::Url;

use webqris_forwarder::delivery::base_url;

/// The scheme of setup links.
pub const SCHEME: &str = "webqris";

/// What a setup link carries.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SetupLink {
    /// The server's base URL (http or https).
    pub server_url: String,
    /// The merchant's callback secret.
    pub callback_secret: String,
    /// The merchant's name, for display.
    pub merchant_name: Option<String>,
}

/// Why a text is not a usable setup link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SetupLinkError {
    /// Not a `webqris://setup?…` link at all.
    #[error("not a webqris setup link: {detail}")]
    NotASetupLink {
        /// What was wrong.
        detail: String,
    },
    /// A required parameter is absent or empty.
    #[error("setup link has no {parameter}")]
    Missing {
        /// `server` or `secret`.
        parameter: String,
    },
    /// The `server` parameter is not an http(s) base URL.
    #[error("setup link's server is not usable: {detail}")]
    BadServer {
        /// What was wrong.
        detail: String,
    },
}

/// Reads a setup link (surrounding whitespace is ignored, as pasted text often carries some).
#[uniffi::export]
pub fn parse_setup_link(link: String) -> Result<SetupLink, SetupLinkError> {
    let not_a_link = |detail: String| SetupLinkError::NotASetupLink { detail };
    let url = Url::parse(link.trim()).map_err(|e| not_a_link(e.to_string()))?;
    if url.scheme() != SCHEME || url.host_str() != Some("setup") {
        return Err(not_a_link(format!(
            "expected {SCHEME}://setup?…, got scheme {:?} and host {:?}",
            url.scheme(),
            url.host_str().unwrap_or("")
        )));
    }
    let (mut server, mut secret, mut merchant) = (None, None, None);
    for (name, value) in url.query_pairs() {
        let value = value.trim().to_owned();
        match name.as_ref() {
            "server" => server = Some(value),
            "secret" => secret = Some(value),
            "merchant" => merchant = Some(value),
            _ => {}
        }
    }
    let required = |value: Option<String>, parameter: &str| {
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SetupLinkError::Missing {
                parameter: parameter.to_owned(),
            })
    };
    let server = required(server, "server")?;
    let secret = required(secret, "secret")?;
    let server_url = base_url(&server).map_err(|detail| SetupLinkError::BadServer { detail })?;
    Ok(SetupLink {
        server_url: server_url.as_str().trim_end_matches('/').to_owned(),
        callback_secret: secret,
        merchant_name: merchant.filter(|m| !m.is_empty()),
    })
}

/// Writes a setup link (what the dashboard's QR code holds).
#[uniffi::export]
pub fn format_setup_link(setup: SetupLink) -> String {
    let mut url = Url::parse("webqris://setup").expect("a constant, valid URL");
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("server", &setup.server_url);
        query.append_pair("secret", &setup.callback_secret);
        if let Some(name) = &setup.merchant_name {
            query.append_pair("merchant", name);
        }
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_link_parses() {
        let link = parse_setup_link(
            "webqris://setup?server=https%3A%2F%2Fpay.example.com%2Fwebqris&secret=cbs_abc123&merchant=Toko%20ABC"
                .into(),
        )
        .expect("valid link");
        assert_eq!(
            link,
            SetupLink {
                server_url: "https://pay.example.com/webqris".into(),
                callback_secret: "cbs_abc123".into(),
                merchant_name: Some("Toko ABC".into()),
            }
        );
    }

    #[test]
    fn formatting_and_parsing_round_trip() {
        let setup = SetupLink {
            server_url: "http://192.168.1.10:8080".into(),
            callback_secret: "cbs_x+y/z=".into(),
            merchant_name: Some("Warung Bu Sri & Anak".into()),
        };
        assert_eq!(
            parse_setup_link(format_setup_link(setup.clone())).expect("round trip"),
            setup
        );
    }

    #[test]
    fn incomplete_or_foreign_links_are_refused_with_a_reason() {
        assert!(matches!(
            parse_setup_link("https://example.com/?server=x".into()),
            Err(SetupLinkError::NotASetupLink { .. })
        ));
        assert_eq!(
            parse_setup_link("webqris://setup?server=https%3A%2F%2Fa.example".into()),
            Err(SetupLinkError::Missing {
                parameter: "secret".into()
            })
        );
        assert!(matches!(
            parse_setup_link("webqris://setup?server=ftp%3A%2F%2Fa&secret=s".into()),
            Err(SetupLinkError::BadServer { .. })
        ));
        assert!(matches!(
            parse_setup_link("not a link at all".into()),
            Err(SetupLinkError::NotASetupLink { .. })
        ));
    }
}
