//! Content ids: the SHA-256 of a manifest's canonical encoding.
//!
//! A link carries only the content id. Whoever answers with a manifest cannot lie about it: the joiner hashes the
//! manifest bytes it received and compares. The text form is exactly 64 lowercase hex digits: one id has one text
//! form, so the signaling swarm name and the data-channel label built from it match byte for byte. Uppercase,
//! whitespace, prefixes and any other length are rejected (docs/PROTOCOL.md section 1.3).

use core::fmt;
use core::str::FromStr;

/// The SHA-256 of a manifest's canonical encoding.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentId(pub [u8; 32]);

/// Why a text is not a content id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseIdError {
    /// Only hex digits, but not exactly 64 of them (the number of bytes given).
    Length(usize),
    /// A character that is not a hex digit, at this byte position.
    Character(usize),
}

impl ContentId {
    /// Length of the text form.
    pub const TEXT_LEN: usize = 64;

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads the id in a link a person gave: hex digits of either case, since tools that carry links sometimes
    /// change their case. Everything else is as strict as [`ContentId::from_str`], and the id's text form stays
    /// lowercase (docs/PROTOCOL.md section 1.3). Both peers read links with this, so a link works in both or in
    /// neither.
    pub fn from_link_text(s: &str) -> Result<ContentId, ParseIdError> {
        s.to_ascii_lowercase().parse()
    }
}

impl FromStr for ContentId {
    type Err = ParseIdError;
    /// Accepts exactly 64 lowercase hex digits. A bad character is reported before a bad length, so a link with
    /// a stray character says where it is.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(i) = s.bytes().position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ParseIdError::Character(i));
        }
        if s.len() != Self::TEXT_LEN {
            return Err(ParseIdError::Length(s.len()));
        }
        let mut id = [0u8; 32];
        for (byte, pair) in id.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
        }
        Ok(ContentId(id))
    }
}

/// The value of one lowercase hex digit; only called on digits checked by [`ContentId::from_str`].
/// A hand-written codec rather than a crate: the browser peer downloads every byte of code (docs/ARCHITECTURE.md).
fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        // Unreachable after the check; zero rather than a panic.
        _ => 0,
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; Self::TEXT_LEN];
        for (pair, byte) in text.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
            pair[1] = HEX_DIGITS[usize::from(byte & 0x0f)];
        }
        // Only ASCII hex digits were written, so this is valid UTF-8; mapped anyway so nothing here can panic.
        f.write_str(core::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({self})")
    }
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseIdError::Length(n) => {
                write!(f, "a content id has 64 hex digits, this has {n}")
            }
            ParseIdError::Character(i) => write!(f, "a content id has only hex digits, character {i} is not one"),
        }
    }
}

impl std::error::Error for ParseIdError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let id = ContentId([0xa5; 32]);
        assert_eq!(id.to_string().parse::<ContentId>(), Ok(id));
    }

    #[test]
    fn uppercase_is_rejected() {
        let text = ContentId([0xab; 32]).to_string().to_uppercase();
        assert_eq!(text.parse::<ContentId>(), Err(ParseIdError::Character(0)));
    }

    #[test]
    fn wrong_length_is_rejected() {
        assert_eq!("ab".parse::<ContentId>(), Err(ParseIdError::Length(2)));
        assert_eq!("a".repeat(65).parse::<ContentId>(), Err(ParseIdError::Length(65)));
        assert_eq!("".parse::<ContentId>(), Err(ParseIdError::Length(0)));
    }

    #[test]
    fn text_form_is_lowercase_hex_of_the_bytes_in_order() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(9);
        }
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(ContentId(bytes).to_string(), expected);
        assert_eq!(expected.parse::<ContentId>(), Ok(ContentId(bytes)));
    }

    #[test]
    fn every_byte_value_round_trips() {
        for b in 0..=255u8 {
            let mut bytes = [0u8; 32];
            bytes[b as usize % 32] = b;
            bytes[31 - b as usize % 32] ^= !b;
            let id = ContentId(bytes);
            assert_eq!(id.to_string().parse::<ContentId>(), Ok(id), "byte {b:#04x}");
        }
    }

    #[test]
    fn digits_next_to_the_hex_ranges_are_rejected() {
        for (c, at) in [('/', 0), (':', 5), ('`', 63), ('g', 31), ('G', 2), ('@', 7)] {
            let mut text = "0".repeat(64);
            text.replace_range(at..at + 1, &c.to_string());
            assert_eq!(text.parse::<ContentId>(), Err(ParseIdError::Character(at)), "{c:?} at {at}");
        }
    }

    #[test]
    fn non_ascii_is_rejected_at_its_byte_position() {
        let text = format!("{}é{}", "0".repeat(10), "0".repeat(52));
        assert_eq!(text.parse::<ContentId>(), Err(ParseIdError::Character(10)));
    }

    #[test]
    fn a_link_id_in_upper_or_mixed_case_reads_as_the_lowercase_id() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let id: ContentId = hex.parse().unwrap();
        assert_eq!(ContentId::from_link_text(&hex.to_ascii_uppercase()), Ok(id));
        assert_eq!(
            ContentId::from_link_text("00112233445566778899AABBccddEEFF00112233445566778899aabbccddeeff"),
            Ok(id)
        );
        assert_eq!(ContentId::from_link_text(hex).map(|id| id.to_string()).as_deref(), Ok(hex));
        // Only the case is forgiven.
        assert_eq!(ContentId::from_link_text(&format!(" {hex}")), Err(ParseIdError::Character(0)));
        assert_eq!(ContentId::from_link_text(&hex[1..]), Err(ParseIdError::Length(63)));
    }
}
