//! Content ids: the SHA-256 of a manifest's canonical encoding.
//!
//! A link carries only the content id. Whoever answers with a manifest cannot lie about it: the joiner hashes the
//! manifest bytes it received and compares. The text form is 64 lowercase hex digits.

use core::fmt;
use core::str::FromStr;

/// The SHA-256 of a manifest's canonical encoding.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentId(pub [u8; 32]);

/// Why a text is not a content id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseIdError {
    /// Not exactly 64 characters.
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
    fn from_str(_s: &str) -> Result<Self, Self::Err> {
        unimplemented!("swarm-wire helper")
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
                write!(f, "a content id has 64 hex digits, this has {n} characters")
            }
            ParseIdError::Character(i) => write!(f, "a content id has only hex digits, character {i} is not one"),
        }
    }
}

impl std::error::Error for ParseIdError {}
