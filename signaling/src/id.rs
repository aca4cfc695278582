//! The server's peer id: 128 random bits, kept as a `u128` (16 bytes per reference, no heap) and shown to peers
//! as 32 lowercase hex digits.

use std::fmt;

use rand::RngExt;
use swarm::signal::PeerId;

/// A peer id as the server keeps it. Chosen by the server from the thread-local CSPRNG (seeded by the OS), so
/// a client can neither choose nor guess another peer's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(u128);

impl Id {
    pub fn random() -> Id {
        Id(rand::rng().random())
    }

    /// The id a peer names in `signal.to`; anything but 32 lowercase hex digits is no id.
    pub fn parse(peer: &PeerId) -> Option<Id> {
        let s = peer.0.as_bytes();
        if s.len() != 32 || !s.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)) {
            return None;
        }
        u128::from_str_radix(&peer.0, 16).ok().map(Id)
    }

    pub fn to_peer_id(self) -> PeerId {
        PeerId(self.to_string())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let id = Id::random();
        let text = id.to_peer_id();
        assert_eq!(text.0.len(), 32);
        assert_eq!(Id::parse(&text), Some(id));
    }

    #[test]
    fn text_other_than_32_lowercase_hex_digits_is_no_id() {
        for bad in ["", "0", "+0000000000000000000000000000000", "0000000000000000000000000000000A", &"0".repeat(33)] {
            assert_eq!(Id::parse(&PeerId(bad.to_owned())), None, "{bad:?}");
        }
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(Id::random(), Id::random());
    }
}
