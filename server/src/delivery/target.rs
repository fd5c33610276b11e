//! Which webhook targets the server may call (the SSRF guard). Loopback, private, link-local, CGNAT,
//! unspecified, multicast, reserved, IPv6 unique-local/link-local and cloud metadata addresses are refused,
//! in every IPv6 form that maps, translates or tunnels to them (IPv4-mapped, IPv4-translated,
//! IPv4-compatible, NAT64 well-known and local-use, 6to4, Teredo, ISATAP), unless the operator allows
//! private targets (`webhook.allow_private_targets`). The check that counts is made on the *resolved* address at
//! delivery time by [`GuardedResolver`], so a name that later resolves elsewhere (DNS rebinding) cannot
//! reach an internal service; IP-literal hosts, which reqwest does not resolve, are checked by
//! [`check_url`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a webhook URL or target address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a URL at all.
    #[error("webhook URL {url:?} is not a valid URL: {reason}")]
    Invalid {
        /// The text given.
        url: String,
        /// What the URL parser said.
        reason: String,
    },
    /// A scheme other than http/https.
    #[error("webhook URL must use http or https, not {scheme:?}")]
    Scheme {
        /// The scheme given.
        scheme: String,
    },
    /// `http:///path` and the like.
    #[error("webhook URL {url:?} has no host")]
    NoHost {
        /// The URL.
        url: String,
    },
    /// `https://user:pass@host/`: credentials in URLs end up in logs.
    #[error("webhook URL must not contain a user name or password")]
    Credentials,
    /// The target is an internal address and private targets are not allowed.
    #[error(
        "webhook target {} is a {class} address; refused (set webhook.allow_private_targets = true or WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow internal targets)",
        target_label(host, *ip)
    )]
    Forbidden {
        /// The host as written in the URL.
        host: String,
        /// The address it is or resolves to.
        ip: IpAddr,
        /// What kind of address it is.
        class: &'static str,
    },
    /// The name does not resolve to any address.
    #[error("webhook host {host} does not resolve to any address")]
    Unresolvable {
        /// The host.
        host: String,
    },
}

/// `10.0.0.5`, or `intranet.local (10.0.0.5)` for a name.
fn target_label(host: &str, ip: IpAddr) -> String {
    if literal_ip(host) == Some(ip) {
        ip.to_string()
    } else {
        format!("{host} ({ip})")
    }
}

/// The class of an address the guard refuses, or `None` for a public address.
pub fn forbidden_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => v6_class(v6),
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata",
        (0, _, _) => "unspecified",
        (127, _, _) => "loopback",
        (10, _, _) | (192, 168, _) => "private",
        (172, b, _) if b & 0xf0 == 16 => "private",
        (169, 254, _) => "link-local",
        (100, b, _) if b & 0xc0 == 64 => "CGNAT (shared address space)",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved",
        (192, 0, 0) => "reserved (IETF protocol assignments)",
        (198, 18 | 19, _) => "reserved (benchmarking)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "reserved (documentation)",
        _ => return None,
    })
}

/// The IPv4 address in two 16-bit segments.
fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// IPv4 addresses an IPv6 address carries and could be translated or tunnelled to: IPv4-mapped
/// (`::ffff:0:0/96`), IPv4-translated (`::ffff:0:0:0/96`, RFC 2765), IPv4-compatible (`::/96`), NAT64
/// (`64:ff9b::/96`), 6to4 (`2002::/16`), ISATAP interface ids (`…:0:5efe:a.b.c.d`, `…:200:5efe:…`).
/// Teredo and local-use NAT64 are refused whole by [`v6_class`], so they are not listed here.
fn embedded_v4s(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let seg = ip.segments();
    let mut found = Vec::new();
    if let Some(v4) = ip.to_ipv4_mapped() {
        found.push(v4);
    }
    let tail = embedded_v4(seg[6], seg[7]);
    if seg[..4] == [0; 4] && matches!(seg[4..6], [0, 0] | [0xffff, 0]) {
        found.push(tail);
    }
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        found.push(tail);
    }
    if seg[0] == 0x2002 {
        found.push(embedded_v4(seg[1], seg[2]));
    }
    if seg[5] == 0x5efe && seg[4] & 0xfdff == 0 {
        found.push(tail);
    }
    found
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    const METADATA: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);
    let seg = ip.segments();
    if ip == METADATA {
        return Some("cloud metadata");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(class) = embedded_v4s(ip).into_iter().find_map(v4_class) {
        return Some(class);
    }
    Some(match seg {
        [s, ..] if s & 0xfe00 == 0xfc00 => "unique local (private)",
        [s, ..] if s & 0xffc0 == 0xfe80 => "link-local",
        [s, ..] if s & 0xffc0 == 0xfec0 => "site-local (private)",
        [s, ..] if s & 0xff00 == 0xff00 => "multicast",
        // Local-use NAT64 (RFC 8215): translated by the site's own gateway, into its own IPv4 space.
        [0x64, 0xff9b, 1, ..] => "NAT64 local-use (translated to internal IPv4)",
        // Teredo tunnels to an IPv4 address that the guard cannot see the class of reliably (the
        // client's is obfuscated and behind a NAT): refused whole; nobody serves webhooks over it.
        [0x2001, 0, ..] => "Teredo tunnel",
        // Discard-only (RFC 6666) and documentation (RFC 3849) prefixes are never real targets.
        [0x100, 0, 0, 0, ..] => "reserved (discard)",
        [0x2001, 0xdb8, ..] => "reserved (documentation)",
        _ => return None,
    })
}

/// Parses and checks a webhook URL: http/https, a host, no credentials, and (unless private targets are
/// allowed) no internal IP literal and no `localhost` name. Names are checked again after resolution at
/// delivery time.
pub fn check_url(text: &str, allow_private: bool) -> Result<Url, TargetError> {
    let url = Url::parse(text.trim()).map_err(|e| TargetError::Invalid {
        url: text.chars().take(200).collect(),
        reason: e.to_string(),
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(TargetError::Scheme {
            scheme: url.scheme().to_owned(),
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Credentials);
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| TargetError::NoHost {
            url: url.to_string(),
        })?
        .to_owned();
    if !allow_private {
        if let Some(ip) = literal_ip(&host) {
            if let Some(class) = forbidden_class(ip) {
                return Err(TargetError::Forbidden { host, ip, class });
            }
        } else {
            let lower = host.trim_end_matches('.').to_ascii_lowercase();
            if lower == "localhost" || lower.ends_with(".localhost") {
                return Err(TargetError::Forbidden {
                    host,
                    ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                    class: "loopback",
                });
            }
        }
    }
    Ok(url)
}

/// The address of an IP-literal host (`127.0.0.1`, `[::1]`), `None` for a name.
pub fn literal_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Resolves `host` and refuses it when any address it resolves to is internal (used by the command line
/// to give early feedback; an unresolvable name is accepted there and checked again at delivery).
pub async fn check_resolved(host: &str, allow_private: bool) -> Result<(), TargetError> {
    if allow_private || literal_ip(host).is_some() {
        return Ok(());
    }
    let Ok(addrs) = tokio::net::lookup_host((host, 0)).await else {
        return Ok(());
    };
    for addr in addrs {
        if let Some(class) = forbidden_class(addr.ip()) {
            return Err(TargetError::Forbidden {
                host: host.to_owned(),
                ip: addr.ip(),
                class,
            });
        }
    }
    Ok(())
}

/// A reqwest DNS resolver that drops internal addresses from every answer, and fails with a
/// [`TargetError::Forbidden`] when nothing public is left. Installed unless private targets are allowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (public, internal): (Vec<SocketAddr>, Vec<SocketAddr>) = resolved
                .into_iter()
                .partition(|addr| forbidden_class(addr.ip()).is_none());
            if public.is_empty() {
                let error = match internal.first() {
                    Some(addr) => TargetError::Forbidden {
                        host,
                        ip: addr.ip(),
                        class: forbidden_class(addr.ip()).unwrap_or("internal"),
                    },
                    None => TargetError::Unresolvable { host },
                };
                return Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ip: &str) -> Option<&'static str> {
        forbidden_class(ip.parse().expect("ip"))
    }

    #[test]
    fn internal_ipv4_ranges_are_refused() {
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(class(ip).is_some(), "{ip} refused");
        }
        assert_eq!(class("169.254.169.254"), Some("cloud metadata"));
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "1.1.1.1",
            "2606:4700:4700::1111",
        ] {
            assert_eq!(class(ip), None, "{ip} allowed");
        }
    }

    #[test]
    fn internal_ipv6_and_every_ipv4_embedding_are_refused() {
        for ip in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
        ] {
            assert!(class(ip).is_some(), "{ip} refused");
        }
        assert_eq!(class("fd00:ec2::254"), Some("cloud metadata"));
        assert_eq!(class("::ffff:8.8.8.8"), None);
    }

    #[test]
    fn every_ipv6_form_that_maps_or_translates_to_internal_ipv4_is_refused() {
        let cases = [
            // IPv4-mapped (::ffff:0:0/96), in every spelling.
            ("::ffff:7f00:1", "loopback"),
            ("0:0:0:0:0:ffff:192.168.0.1", "private"),
            ("::ffff:a9fe:a9fe", "cloud metadata"),
            // IPv4-translated (::ffff:0:0:0/96, RFC 2765 / SIIT).
            ("::ffff:0:127.0.0.1", "loopback"),
            ("::ffff:0:a00:1", "private"),
            ("::ffff:0:a9fe:a9fe", "cloud metadata"),
            // IPv4-compatible (::/96, deprecated).
            ("::10.0.0.1", "private"),
            ("::a9fe:a9fe", "cloud metadata"),
            // NAT64 well-known prefix 64:ff9b::/96.
            ("64:ff9b::127.0.0.1", "loopback"),
            ("64:ff9b::c0a8:101", "private"),
            ("64:ff9b::6440:1", "CGNAT (shared address space)"),
            // NAT64 local-use 64:ff9b:1::/48 (RFC 8215): any address in it, whatever it embeds.
            (
                "64:ff9b:1::a00:1",
                "NAT64 local-use (translated to internal IPv4)",
            ),
            (
                "64:ff9b:1:ffff::808:808",
                "NAT64 local-use (translated to internal IPv4)",
            ),
            // 6to4 2002::/16 with an internal IPv4 in bits 16–48.
            ("2002:a00:1::1", "private"),
            ("2002:a9fe:a9fe::", "cloud metadata"),
            ("2002:c0a8:101:5::9", "private"),
            // Teredo 2001::/32.
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo tunnel"),
            ("2001::7f00:1", "Teredo tunnel"),
            // ISATAP interface ids carrying an internal IPv4.
            ("2607:f8b0:1::5efe:10.0.0.1", "private"),
            ("2607:f8b0:1::200:5efe:192.168.1.1", "private"),
            // Reserved IPv6 that is never a real target.
            ("100::1", "reserved (discard)"),
            ("2001:db8::1", "reserved (documentation)"),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
        for public in [
            "::ffff:0:808:808",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2607:f8b0:1::5efe:8.8.8.8",
            "2a00:1450:4001:82a::200e",
        ] {
            assert_eq!(class(public), None, "{public} is public");
        }
    }

    #[test]
    fn urls_spelling_internal_addresses_oddly_are_refused() {
        for internal in [
            "http://[::ffff:7f00:1]/hook",
            "http://[::ffff:0:127.0.0.1]/hook",
            "http://[64:ff9b:1::a00:1]/hook",
            "http://[2002:a9fe:a9fe::]/latest/meta-data",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://2130706433/hook",
            "http://0x7f.1/hook",
            "http://0177.0.0.1/hook",
            "http://10.1/hook",
        ] {
            let err = check_url(internal, false).expect_err(internal);
            assert!(
                matches!(err, TargetError::Forbidden { .. }),
                "{internal}: {err}"
            );
        }
    }

    #[test]
    fn urls_are_checked_for_scheme_host_credentials_and_literals() {
        assert!(check_url("https://shop.example.com/webhook", false).is_ok());
        assert!(matches!(
            check_url("ftp://shop.example.com/", false),
            Err(TargetError::Scheme { .. })
        ));
        assert!(matches!(
            check_url("not a url", false),
            Err(TargetError::Invalid { .. })
        ));
        assert!(matches!(
            check_url("https://user:pw@shop.example.com/", false),
            Err(TargetError::Credentials)
        ));
        for internal in [
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://localhost/hook",
            "http://api.localhost/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            let err = check_url(internal, false).expect_err(internal);
            assert!(
                matches!(err, TargetError::Forbidden { .. }),
                "{internal}: {err}"
            );
            assert!(err.to_string().contains("allow_private_targets"), "{err}");
            assert!(
                check_url(internal, true).is_ok(),
                "{internal} allowed by the switch"
            );
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_loopback() {
        let name: Name = "localhost".parse().expect("name");
        let err = match GuardedResolver.resolve(name).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("loopback"), "{err}");
    }
}
