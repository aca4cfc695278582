//! The have-set: its wire form (most significant bit of byte 0 is piece 0, spare bits clear) and its counting.

use proptest::prelude::*;
use swarm::bitfield::Bitfield;

proptest! {
    #[test]
    fn set_pieces_survive_the_wire_form(len in 0u32..2000, picks in prop::collection::vec(any::<prop::sample::Index>(), 0..50)) {
        let mut b = Bitfield::new(len);
        let mut expected = std::collections::BTreeSet::new();
        if len > 0 {
            for p in picks {
                let i = p.index(len as usize) as u32;
                prop_assert_eq!(b.set(i), expected.insert(i));
            }
        }
        prop_assert_eq!(b.count() as usize, expected.len());
        prop_assert_eq!(b.iter_set().collect::<Vec<_>>(), expected.iter().copied().collect::<Vec<_>>());
        prop_assert_eq!(b.iter_missing().count() as u32, len - b.count());
        prop_assert_eq!(Bitfield::from_bytes(b.as_bytes(), len), Some(b));
    }

    #[test]
    fn from_bytes_never_panics_and_counts_what_it_accepts(bytes in prop::collection::vec(any::<u8>(), 0..40), len in 0u32..320) {
        if let Some(b) = Bitfield::from_bytes(&bytes, len) {
            prop_assert_eq!(b.count(), b.iter_set().count() as u32);
            prop_assert_eq!(b.as_bytes(), &bytes[..]);
        }
    }
}

#[test]
fn piece_zero_is_the_high_bit_of_byte_zero() {
    let mut b = Bitfield::new(10);
    b.set(0);
    b.set(9);
    assert_eq!(b.as_bytes(), &[0b1000_0000, 0b0100_0000]);
}

#[test]
fn wrong_byte_length_is_rejected() {
    assert_eq!(Bitfield::from_bytes(&[0, 0], 8), None);
    assert_eq!(Bitfield::from_bytes(&[0], 9), None);
}

#[test]
fn spare_bit_set_is_rejected() {
    assert_eq!(Bitfield::from_bytes(&[0b0000_0001], 7), None);
    assert!(Bitfield::from_bytes(&[0b1111_1110], 7).is_some());
}

#[test]
fn out_of_range_piece_is_neither_set_nor_present() {
    let mut b = Bitfield::new(3);
    assert!(!b.set(3));
    assert!(!b.get(3));
    assert!(b.is_empty());
}
