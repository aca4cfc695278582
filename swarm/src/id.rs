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
        // Cannot fail: 64 lowercase hex digits were checked above; mapped anyway so no input can panic.
        data_encoding::HEXLOWER
            .decode_mut(s.as_bytes(), &mut id)
            .map_err(|e| ParseIdError::Character(e.error.position))?;
        Ok(ContentId(id))
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&data_encoding::HEXLOWER.encode(&self.0))
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
    fn non_ascii_is_rejected_at_its_byte_position() {
        let text = format!("{}é{}", "0".repeat(10), "0".repeat(52));
        assert_eq!(text.parse::<ContentId>(), Err(ParseIdError::Character(10)));
    }
}
