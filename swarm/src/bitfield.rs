//! The set of pieces a peer has, one bit a piece, most significant bit of byte 0 is piece 0 (as in BitTorrent).

/// A fixed-length set of piece indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitfield {
    bits: Vec<u8>,
    len: u32,
    count: u32,
}

impl Bitfield {
    /// An empty set for `len` pieces.
    pub fn new(len: u32) -> Self {
        Bitfield { bits: vec![0; len.div_ceil(8) as usize], len, count: 0 }
    }

    /// A full set for `len` pieces.
    pub fn full(len: u32) -> Self {
        let mut bits = vec![0xff; len.div_ceil(8) as usize];
        // Spare bits past `len` stay clear: the wire form requires it.
        let spare = bits.len() as u32 * 8 - len;
        if let Some(last) = bits.last_mut() {
            *last &= 0xffu8 << spare;
        }
        Bitfield { bits, len, count: len }
    }

    /// Parses the wire or stored form for a content of `len` pieces. `None` if the byte length is wrong or a
    /// spare bit past `len` is set.
    pub fn from_bytes(bytes: &[u8], len: u32) -> Option<Self> {
        if bytes.len() != len.div_ceil(8) as usize {
            return None;
        }
        let mut b = Bitfield { bits: bytes.to_vec(), len, count: 0 };
        let spare = b.bits.len() as u32 * 8 - len;
        if spare > 0 {
            let last = *b.bits.last()?;
            if last & ((1u8 << spare) - 1) != 0 {
                return None;
            }
        }
        b.count = b.bits.iter().map(|x| x.count_ones()).sum();
        Some(b)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }

    /// Number of pieces the set is for.
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of pieces in the set.
    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn is_full(&self) -> bool {
        self.count == self.len
    }

    /// Whether piece `i` is in the set; false for `i` out of range.
    pub fn get(&self, i: u32) -> bool {
        i < self.len && self.bits[(i / 8) as usize] & (0x80 >> (i % 8)) != 0
    }

    /// Adds piece `i`; returns whether it was newly added. Out of range is ignored (returns false).
    pub fn set(&mut self, i: u32) -> bool {
        if i >= self.len || self.get(i) {
            return false;
        }
        self.bits[(i / 8) as usize] |= 0x80 >> (i % 8);
        self.count += 1;
        true
    }

    /// Iterates the pieces in the set, in increasing order.
    pub fn iter_set(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len).filter(|&i| self.get(i))
    }

    /// Iterates the pieces not in the set, in increasing order.
    pub fn iter_missing(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len).filter(|&i| !self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_set_has_spare_bits_clear() {
        for len in 0..20 {
            let full = Bitfield::full(len);
            assert_eq!(full.count(), len);
            assert!(full.is_full());
            assert_eq!(Bitfield::from_bytes(full.as_bytes(), len), Some(full));
        }
    }
}
