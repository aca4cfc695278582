//! The content id's text form: exactly 64 lowercase hex digits, and nothing else parses (docs/PROTOCOL.md 1.3).

use proptest::prelude::*;
use swarm::id::{ContentId, ParseIdError};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn text_form_round_trips(bytes in any::<[u8; 32]>()) {
        let id = ContentId(bytes);
        let text = id.to_string();
        prop_assert_eq!(text.len(), ContentId::TEXT_LEN);
        prop_assert_eq!(text.parse::<ContentId>(), Ok(id));
    }

    /// The parser accepts exactly the strings matching `[0-9a-f]{64}`, whatever else it is given.
    #[test]
    fn only_64_lowercase_hex_digits_parse(text in prop_oneof![
        "[0-9a-f]{64}",
        "[0-9a-fA-F]{60,68}",
        "[0-9a-f ]{64}",
        any::<String>(),
    ]) {
        let well_formed = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let parsed = text.parse::<ContentId>();
        prop_assert_eq!(parsed.is_ok(), well_formed);
        if let Ok(id) = parsed {
            prop_assert_eq!(id.to_string(), text);
        }
    }

    #[test]
    fn one_bad_character_is_reported_where_it_is(bytes in any::<[u8; 32]>(), at in 0usize..64, bad in "[^0-9a-f]") {
        let mut text = ContentId(bytes).to_string();
        text.replace_range(at..at + 1, &bad);
        prop_assert_eq!(text.parse::<ContentId>(), Err(ParseIdError::Character(at)));
    }
}

#[test]
fn uppercase_text_is_rejected() {
    let text = ContentId([0xcd; 32]).to_string().to_uppercase();
    assert_eq!(text.parse::<ContentId>(), Err(ParseIdError::Character(0)));
}

#[test]
fn text_with_surrounding_whitespace_is_rejected() {
    let text = format!(" {}", ContentId([1; 32]));
    assert_eq!(text.parse::<ContentId>(), Err(ParseIdError::Character(0)));
}

#[test]
fn truncated_text_is_rejected_with_its_length() {
    let text = ContentId([1; 32]).to_string();
    assert_eq!(text[..63].parse::<ContentId>(), Err(ParseIdError::Length(63)));
    assert_eq!(format!("{text}0").parse::<ContentId>(), Err(ParseIdError::Length(65)));
}
