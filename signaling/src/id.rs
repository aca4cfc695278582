//! The server's peer id: 128 bits, kept as a `u128` (16 bytes per reference, no heap) and shown to peers as 32
//! lowercase hex digits. A single instance draws all 128 at random; an instance of a cluster (`--redis`) puts its
//! 32-bit instance number in the top bits and draws the other 96, so any instance can tell where a peer lives
//! from its id alone.

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

    /// A random id on `instance`: its number in the top 32 bits, 96 random bits below.
    pub fn random_on(instance: u32) -> Id {
        let low: u128 = rand::rng().random::<u128>() & ((1 << 96) - 1);
        Id((u128::from(instance) << 96) | low)
    }

    /// The instance number in the top 32 bits (meaningful for ids made by [`Id::random_on`]).
    pub fn instance(self) -> u32 {
        (self.0 >> 96) as u32
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
    fn an_instance_id_names_its_instance_and_keeps_96_random_bits() {
        let a = Id::random_on(0xdead_beef);
        assert_eq!(a.instance(), 0xdead_beef);
        assert!(a.to_string().starts_with("deadbeef"));
        assert_ne!(a, Id::random_on(0xdead_beef));
        assert_eq!(Id::parse(&a.to_peer_id()), Some(a));
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(Id::random(), Id::random());
    }
}
