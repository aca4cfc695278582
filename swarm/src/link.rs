//! Share links: `http://host:port/#<content id>`, as the web app shows them, a `#<content id>` fragment, or a bare
//! content id. The one parser of a link's id, for the page and for `swarm-peer`.
//!
//! What a user pastes is untrusted text: it is length-checked first, then split at its last `#`; what follows must
//! be exactly a content id, in either case of hex ([`ContentId::from_link_text`]). What comes before is the page's
//! address, returned untouched for a shell that needs it (`swarm-peer` derives the signaling server from it; the
//! page already knows its own).

use core::fmt;

use crate::id::{ContentId, ParseIdError};

/// Longest text accepted as a link, in bytes: an origin plus `/#` plus 64 hex digits fits easily.
pub const MAX_LINK_LEN: usize = 2048;

/// A parsed link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link<'a> {
    pub content: ContentId,
    /// What came before the `#`, trimmed, when there was anything: the address of the app that made the link.
    pub base: Option<&'a str>,
}

/// Why a text is not a link, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// Over [`MAX_LINK_LEN`] bytes (the length is given).
    TooLong(usize),
    /// Nothing after the `#`.
    NoId,
    /// The id part is not a content id.
    BadId(ParseIdError),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::TooLong(n) => write!(f, "this link is {n} characters long; a share link is much shorter"),
            LinkError::NoId => f.write_str("this link has no file id after the #"),
            LinkError::BadId(e) => write!(f, "this is not a valid share link: {e}"),
        }
    }
}

impl std::error::Error for LinkError {}

impl<'a> Link<'a> {
    /// Parses a full link, a `#fragment`, or a bare content id. Surrounding white space is ignored.
    pub fn parse(text: &'a str) -> Result<Link<'a>, LinkError> {
        let text = text.trim();
        if text.len() > MAX_LINK_LEN {
            return Err(LinkError::TooLong(text.len()));
        }
        let (base, id) = match text.rsplit_once('#') {
            Some((base, fragment)) => (Some(base.trim()).filter(|b| !b.is_empty()), fragment),
            None => (None, text),
        };
        if id.is_empty() {
            return Err(LinkError::NoId);
        }
        let content = ContentId::from_link_text(id).map_err(LinkError::BadId)?;
        Ok(Link { content, base })
    }
}

/// The share link of `content` on the app served at `origin` (`http://host:port`, with or without a final `/`).
pub fn format(origin: &str, content: &ContentId) -> String {
    format!("{}/#{content}", origin.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn full_link_fragment_and_bare_id_all_parse_to_the_same_id() {
        let full = format!("http://127.0.0.1:8080/#{HEX}");
        let a = Link::parse(&full).unwrap();
        let fragment = format!("  #{HEX}\n");
        let b = Link::parse(&fragment).unwrap();
        let c = Link::parse(HEX).unwrap();
        assert_eq!((a.content, b.content), (c.content, c.content));
        assert_eq!(a.base, Some("http://127.0.0.1:8080/"));
        assert_eq!((b.base, c.base), (None, None));
    }

    #[test]
    fn an_upper_case_link_names_the_same_content() {
        let upper = format!("http://127.0.0.1:8080/#{}", HEX.to_ascii_uppercase());
        assert_eq!(Link::parse(&upper).unwrap().content.to_string(), HEX);
    }

    #[test]
    fn bad_links_get_a_reason() {
        assert_eq!(Link::parse("http://h/#"), Err(LinkError::NoId));
        assert!(matches!(Link::parse("http://h/#abc"), Err(LinkError::BadId(_))));
        assert!(matches!(Link::parse(&HEX.replace('a', "g")), Err(LinkError::BadId(_))));
        assert_eq!(Link::parse(&"a".repeat(10_000)), Err(LinkError::TooLong(10_000)));
        assert!(LinkError::NoId.to_string().contains("no file id"));
    }

    #[test]
    fn formatted_link_parses_back() {
        let id = Link::parse(HEX).unwrap().content;
        let link = format("http://h:1/", &id);
        assert_eq!(link, format!("http://h:1/#{HEX}"));
        assert_eq!(Link::parse(&link).unwrap().content, id);
    }
}
