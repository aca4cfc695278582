//! Links: `http://host:port/#<content id>` (what the web app shows) or a bare 64-hex content id.
//!
//! A link is untrusted text, read by the one link parser the page uses too ([`swarm::link::Link::parse`]: length
//! checked, the id after the last `#` in either case of hex). What comes before the `#` is the address of the app
//! that made the link, parsed here with the `url` crate: its origin also names the signaling server
//! (`ws://host:port/ws`), so a link copied from a browser is all `get` needs.

use std::str::FromStr;

use swarm::id::ContentId;
use url::Url;

/// Signaling server when neither a flag nor the link names one: the default local server.
pub const DEFAULT_SIGNALING: &str = "ws://127.0.0.1:8080/ws";

/// A parsed link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub content: ContentId,
    /// The signaling server's WebSocket URL derived from the link's origin; `None` for a bare id.
    pub signaling: Option<String>,
}

impl FromStr for Link {
    type Err = String;
    fn from_str(s: &str) -> Result<Link, String> {
        let link = swarm::link::Link::parse(s).map_err(|e| e.to_string())?;
        let signaling = link.base.map(signaling_url).transpose()?;
        Ok(Link { content: link.content, signaling })
    }
}

/// The signaling server of the app at `base` (`http://host:port/...`): `ws://host:port/ws`.
fn signaling_url(base: &str) -> Result<String, String> {
    let url = Url::parse(base).map_err(|e| format!("not a link: {e}"))?;
    let ws_scheme = match url.scheme() {
        "http" => "ws",
        "https" => "wss",
        other => return Err(format!("a link starts with http:// or https://, not {other}://")),
    };
    let host = url.host_str().ok_or("the link has no host")?;
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
    Ok(match url.port() {
        Some(port) => format!("{ws_scheme}://{host}:{port}/ws"),
        None => format!("{ws_scheme}://{host}/ws"),
    })
}

/// The browser link for `content`, given the signaling server's WebSocket URL (the web app is served by the same
/// server at `/`).
pub fn browser_link(signaling: &str, content: ContentId) -> String {
    let base = match Url::parse(signaling) {
        Ok(mut url) => {
            let scheme = if url.scheme() == "wss" { "https" } else { "http" };
            // Only http(s) and ws(s) are ever here; a failure leaves the URL as it was.
            let _ = url.set_scheme(scheme);
            url.set_path("/");
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => "http://127.0.0.1:8080/".to_owned(),
    };
    format!("{base}#{content}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn browser_link_names_content_and_signaling_server() {
        let link: Link = format!("http://127.0.0.1:9000/#{HEX}").parse().unwrap();
        assert_eq!(link.content.to_string(), HEX);
        assert_eq!(link.signaling.as_deref(), Some("ws://127.0.0.1:9000/ws"));
    }

    #[test]
    fn bare_content_id_is_a_link_without_server() {
        let link: Link = HEX.parse().unwrap();
        assert_eq!(link.content.to_string(), HEX);
        assert_eq!(link.signaling, None);
    }

    #[test]
    fn malformed_links_are_errors() {
        for bad in [
            "",
            "http://host/",
            "http://host/#nothex",
            &format!("ftp://host/#{HEX}"),
            &format!("http://host/#{HEX}00"),
            &"a".repeat(swarm::link::MAX_LINK_LEN + 1),
            &format!("#{HEX}#"),
            &format!("{HEX}#{HEX}"),
        ] {
            assert!(bad.parse::<Link>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn browser_link_round_trips_through_parse() {
        let content: ContentId = HEX.parse().unwrap();
        let text = browser_link("ws://127.0.0.1:9000/ws", content);
        assert_eq!(text, format!("http://127.0.0.1:9000/#{HEX}"));
        assert_eq!(text.parse::<Link>().unwrap().signaling.as_deref(), Some("ws://127.0.0.1:9000/ws"));
    }

    #[test]
    fn upper_case_link_reads_as_the_page_reads_it() {
        let upper = HEX.to_ascii_uppercase();
        for text in [format!("http://127.0.0.1:9000/#{upper}"), upper.clone()] {
            let link: Link = text.parse().unwrap();
            assert_eq!(link.content.to_string(), HEX, "{text}");
        }
    }
}
