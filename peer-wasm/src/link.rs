//! Share links: `http://host:port/#<content id>`. What a user pastes is untrusted text; it is parsed into a
//! [`ContentId`] here or rejected with a message the user can act on.

use swarm::id::ContentId;

/// Longest text accepted as a link, in bytes: an origin plus `/#` plus 64 hex digits fits easily.
const MAX_LINK_LEN: usize = 2048;

/// Parses a full link, a `#fragment`, or a bare content id. Surrounding white space is ignored.
pub fn parse(text: &str) -> Result<ContentId, String> {
    let text = text.trim();
    if text.len() > MAX_LINK_LEN {
        return Err(format!("This link is {} characters long; a share link is much shorter", text.len()));
    }
    let id = match text.rsplit_once('#') {
        Some((_, fragment)) => fragment,
        None => text,
    };
    if id.is_empty() {
        return Err("This link has no file id after the #".to_owned());
    }
    ContentId::from_link_text(id).map_err(|e| format!("This is not a valid share link: {e}"))
}

/// The share link of `id` on the app served at `origin` (`http://host:port`).
pub fn format(origin: &str, id: &ContentId) -> String {
    format!("{}/#{id}", origin.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn full_link_fragment_and_bare_id_all_parse_to_the_same_id() {
        let a = parse(&format!("http://127.0.0.1:8080/#{HEX}")).unwrap();
        let b = parse(&format!("  #{HEX}\n")).unwrap();
        let c = parse(HEX).unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.to_string(), HEX);
    }

    #[test]
    fn upper_case_hex_is_accepted() {
        assert_eq!(parse(&HEX.to_ascii_uppercase()).unwrap().to_string(), HEX);
    }

    #[test]
    fn short_link_is_rejected_with_a_message() {
        let e = parse("http://127.0.0.1:8080/#abc").unwrap_err();
        assert!(e.contains("not a valid share link"), "{e}");
    }

    #[test]
    fn non_hex_link_is_rejected() {
        assert!(parse(&HEX.replace('a', "g")).is_err());
    }

    #[test]
    fn empty_fragment_is_rejected() {
        assert!(parse("http://127.0.0.1:8080/#").unwrap_err().contains("no file id"));
    }

    #[test]
    fn huge_input_is_rejected_before_parsing() {
        assert!(parse(&"a".repeat(10_000)).unwrap_err().contains("characters long"));
    }

    #[test]
    fn formatted_link_parses_back() {
        let id = parse(HEX).unwrap();
        let link = format("http://h:1/", &id);
        assert_eq!(link, format!("http://h:1/#{HEX}"));
        assert_eq!(parse(&link).unwrap(), id);
    }
}
