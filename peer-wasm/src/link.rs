//! Share links as the page reads and shows them. The rules (length limit, the last `#`, either case of hex) are
//! `swarm::link`'s, the same for `swarm-peer`; this only turns its reasons into sentences for the page.

use swarm::id::ContentId;
use swarm::link::Link;

/// Parses a full link, a `#fragment`, or a bare content id, or says why not in a sentence for the user.
pub fn parse(text: &str) -> Result<ContentId, String> {
    Link::parse(text).map(|link| link.content).map_err(|e| sentence(&e.to_string()))
}

/// The share link of `id` on the app served at `origin` (`http://host:port`).
pub fn format(origin: &str, id: &ContentId) -> String {
    swarm::link::format(origin, id)
}

/// `text` with its first letter capitalised, as the page shows messages. ASCII only: `char::to_uppercase` would
/// bring 13 KB of Unicode tables into the wasm for the first letter of an English sentence.
fn sentence(text: &str) -> String {
    let mut sentence = text.to_owned();
    if let Some(first) = sentence.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    sentence
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn an_upper_case_link_names_the_same_content() {
        let upper = format!("http://127.0.0.1:8080/#{}", HEX.to_ascii_uppercase());
        assert_eq!(parse(&upper).unwrap().to_string(), HEX);
    }

    #[test]
    fn a_bad_link_gets_a_sentence_for_the_user() {
        let e = parse("http://127.0.0.1:8080/#abc").unwrap_err();
        assert!(e.starts_with("This is not a valid share link"), "{e}");
        assert!(parse("http://127.0.0.1:8080/#").unwrap_err().starts_with("This link has no file id"));
        assert!(parse(&"a".repeat(10_000)).unwrap_err().contains("characters long"));
    }
}
