//! Which web pages may open a WebSocket: the `Origin` header of an upgrade request, parsed into a typed value
//! and checked against `--allowed-origin`.
//!
//! A browser sends `Origin` on every WebSocket handshake and a page cannot forge it, so without a check any web
//! page could open sessions from its visitors' browsers (each with its own address and rate budget). Clients
//! that are not browsers (`swarm-peer`, test clients) send no `Origin` and are not affected: the check protects
//! browsers' users, not the server from a determined client.
//!
//! By default only the server's own origin is allowed: an `Origin` whose host and port are those of the
//! request's `Host` header, with scheme `http` or `https` (so it holds behind a TLS proxy that keeps `Host`).

use std::fmt;
use std::net::Ipv6Addr;

/// Longest `Origin` or `Host` value read, in bytes: a scheme, a 253-byte DNS name or a bracketed IPv6 literal,
/// and a port fit well within it. Longer is refused unread.
const MAX_LEN: usize = 300;
/// Longest host name, in bytes (DNS's limit).
const MAX_HOST_LEN: usize = 253;

/// An origin's scheme: only those a page that can reach this server is served over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A serialized origin (`scheme://host[:port]`, RFC 6454), the host lowercased and the port made explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
}

/// Why an `Origin` or `Host` value did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginError {
    TooLong,
    /// `null`: an opaque origin (a sandboxed frame, a `file:` or `data:` page).
    Opaque,
    /// A scheme other than `http` or `https`.
    Scheme,
    Host,
    Port,
    /// Anything after the authority (a path, a query).
    Trailing,
}

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OriginError::TooLong => "longer than 300 bytes",
            OriginError::Opaque => "the opaque origin `null`",
            OriginError::Scheme => "the scheme is not http or https",
            OriginError::Host => "not a host name or IP address",
            OriginError::Port => "not a port number",
            OriginError::Trailing => "an origin has no path",
        })
    }
}

impl Origin {
    pub fn parse(text: &str) -> Result<Origin, OriginError> {
        if text.len() > MAX_LEN {
            return Err(OriginError::TooLong);
        }
        if text == "null" {
            return Err(OriginError::Opaque);
        }
        let (scheme, rest) = text.split_once("://").ok_or(OriginError::Scheme)?;
        let scheme = if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else {
            return Err(OriginError::Scheme);
        };
        let (host, port) = parse_authority(rest)?;
        Ok(Origin { scheme, host, port: port.unwrap_or(scheme.default_port()) })
    }

    /// Whether this origin is the one a `Host` header names: same host, and the same port (a `Host` without a
    /// port means the scheme's default).
    fn is_host(&self, host: &str, port: Option<u16>) -> bool {
        self.host == host && self.port == port.unwrap_or(self.scheme.default_port())
    }
}

/// One `--allowed-origin` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigin {
    /// `*`: any origin, `null` included.
    Any,
    Exact(Origin),
}

/// Parses one `--allowed-origin` value: `*` or an origin.
pub fn parse_allowed_origin(text: &str) -> Result<AllowedOrigin, String> {
    if text == "*" {
        return Ok(AllowedOrigin::Any);
    }
    Origin::parse(text).map(AllowedOrigin::Exact).map_err(|e| format!("{text:?} is not an origin: {e}"))
}

/// Whether a WebSocket upgrade with these `Origin` and `Host` header values is allowed by `allowed` (empty: the
/// server's own origin only). No `Origin` at all is allowed: it is not a browser.
pub fn allows(allowed: &[AllowedOrigin], origin: Option<&[u8]>, host: Option<&[u8]>) -> bool {
    let Some(origin) = origin else { return true };
    if allowed.contains(&AllowedOrigin::Any) {
        return true;
    }
    let Some(origin) = std::str::from_utf8(origin).ok().and_then(|o| Origin::parse(o).ok()) else {
        return false;
    };
    if allowed.is_empty() {
        let host = host.and_then(|h| std::str::from_utf8(h).ok()).filter(|h| h.len() <= MAX_LEN);
        return match host.map(parse_authority) {
            Some(Ok((host, port))) => origin.is_host(&host, port),
            _ => false,
        };
    }
    allowed.iter().any(|a| *a == AllowedOrigin::Exact(origin.clone()))
}

/// `host[:port]` (a `Host` header, or an origin after its scheme): the host lowercased, and the port if given.
fn parse_authority(text: &str) -> Result<(String, Option<u16>), OriginError> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (literal, after) = rest.split_once(']').ok_or(OriginError::Host)?;
        literal.parse::<Ipv6Addr>().map_err(|_| OriginError::Host)?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(OriginError::Trailing)?),
        };
        (&text[..literal.len() + 2], port)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let valid_name = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_';
    if !host.starts_with('[') {
        if host.bytes().any(|b| b == b'/' || b == b'?' || b == b'#') {
            return Err(OriginError::Trailing);
        }
        if host.is_empty() || host.len() > MAX_HOST_LEN || !host.bytes().all(valid_name) {
            return Err(OriginError::Host);
        }
    }
    let port = match port {
        None => None,
        Some(p) if p.starts_with('/') || p.contains(['/', '?', '#']) => return Err(OriginError::Trailing),
        // At most 5 digits, nothing else (no sign, no spaces), as a URL's port.
        Some(p) if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(OriginError::Port);
        }
        Some(p) => Some(p.parse::<u16>().map_err(|_| OriginError::Port)?),
    };
    Ok((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in ".{0,320}") {
            let _ = Origin::parse(&text);
            let _ = allows(&[], Some(text.as_bytes()), Some(text.as_bytes()));
        }

        #[test]
        fn an_accepted_origin_written_back_in_full_reads_the_same(
            text in "(https?|HTTP|ftp)://(\\[::1\\]|\\[[0-9a-f:]{0,8}\\]|[a-zA-Z0-9._@-]{0,20})(:[0-9+]{0,6})?(/.{0,3})?",
        ) {
            if let Ok(origin) = Origin::parse(&text) {
                let scheme = match origin.scheme { Scheme::Http => "http", Scheme::Https => "https" };
                let full = format!("{scheme}://{}:{}", origin.host, origin.port);
                prop_assert_eq!(Origin::parse(&full), Ok(origin.clone()));
                prop_assert!(!origin.host.is_empty() && origin.host.len() <= MAX_HOST_LEN + 2);
                prop_assert!(!origin.host.contains(['/', '@', ':']) || origin.host.starts_with('['));
            }
        }
    }

    fn origin(s: &str) -> Origin {
        Origin::parse(s).unwrap()
    }

    #[test]
    fn origins_parse_into_scheme_lowercased_host_and_explicit_port() {
        assert_eq!(origin("http://Example.ORG"), Origin { scheme: Scheme::Http, host: "example.org".into(), port: 80 });
        assert_eq!(origin("HTTPS://a.b:8443").port, 8443);
        assert_eq!(origin("https://a.b").port, 443);
        assert_eq!(origin("http://[::1]:8080").host, "[::1]");
        assert_eq!(origin("http://127.0.0.1:1"), Origin { scheme: Scheme::Http, host: "127.0.0.1".into(), port: 1 });
    }

    #[test]
    fn malformed_origins_are_refused_with_a_reason() {
        let cases = [
            ("null", OriginError::Opaque),
            ("file://", OriginError::Scheme),
            ("ws://a.b", OriginError::Scheme),
            ("a.b", OriginError::Scheme),
            ("http://", OriginError::Host),
            ("http://a b", OriginError::Host),
            ("http://a.b:", OriginError::Port),
            ("http://a.b:65536", OriginError::Port),
            ("http://a.b:+80", OriginError::Port),
            ("http://a.b:0080x", OriginError::Port),
            ("http://a.b/", OriginError::Trailing),
            ("http://a.b:80/x", OriginError::Trailing),
            ("http://[::1", OriginError::Host),
            ("http://[nope]", OriginError::Host),
            ("http://[::1]x", OriginError::Trailing),
            ("http://user@a.b", OriginError::Host),
        ];
        for (text, error) in cases {
            assert_eq!(Origin::parse(text), Err(error), "{text}");
        }
        let long = format!("http://{}.org", "a".repeat(MAX_LEN));
        assert_eq!(Origin::parse(&long), Err(OriginError::TooLong));
        let long_host = format!("http://{}", "a".repeat(MAX_HOST_LEN + 1));
        assert_eq!(Origin::parse(&long_host), Err(OriginError::Host));
    }

    #[test]
    fn by_default_only_the_origin_of_the_host_header_is_allowed() {
        let own = |origin: &str, host: &str| allows(&[], Some(origin.as_bytes()), Some(host.as_bytes()));
        assert!(own("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(own("https://share.example.org", "Share.Example.org"));
        assert!(own("http://share.example.org", "share.example.org:80"));
        assert!(own("https://share.example.org:443", "share.example.org"));
        assert!(!own("http://evil.example", "127.0.0.1:8080"));
        assert!(!own("http://127.0.0.1:8081", "127.0.0.1:8080"));
        assert!(!own("https://share.example.org", "share.example.org:80"));
        assert!(!own("null", "127.0.0.1:8080"));
        assert!(!allows(&[], Some(b"http://127.0.0.1:8080"), None));
        assert!(!allows(&[], Some(b"http://\xff"), Some(b"\xff")));
    }

    #[test]
    fn no_origin_header_is_always_allowed() {
        assert!(allows(&[], None, None));
        assert!(allows(&[AllowedOrigin::Exact(origin("https://a.b"))], None, Some(b"x")));
    }

    #[test]
    fn star_allows_any_origin_even_null() {
        for o in ["http://evil.example", "null", "not an origin"] {
            assert!(allows(&[AllowedOrigin::Any], Some(o.as_bytes()), Some(b"127.0.0.1:8080")), "{o}");
        }
    }

    #[test]
    fn an_explicit_list_allows_only_its_origins() {
        let list = [parse_allowed_origin("https://a.example").unwrap(), parse_allowed_origin("http://b:8080").unwrap()];
        let check = |o: &str| allows(&list, Some(o.as_bytes()), Some(b"own:8080"));
        assert!(check("https://a.example"));
        assert!(check("https://A.example:443"));
        assert!(check("http://b:8080"));
        assert!(!check("http://a.example"));
        assert!(!check("http://own:8080"));
        assert!(!check("null"));
        assert!(parse_allowed_origin("null").is_err());
        assert!(parse_allowed_origin("https://a.example/app").is_err());
    }
}
