//! [`SplitMix64`]: the state machines' random number generator, seeded by the shell.
//!
//! What the engines draw is not secret: tie-breaks between equally rare pieces, the order pieces are revealed in,
//! and discovery message ids (which only need to differ). SplitMix64 (Steele, Lea and Flood, "Fast splittable
//! pseudorandom number generators", 2014; the generator that seeds xoshiro) passes BigCrush, never repeats an
//! output within 2^64 draws, and is a few instructions, where a ChaCha generator is kilobytes of the browser's wasm.
//! The simulators (feature `sim`, not shipped) keep `rand_chacha` for the networks and files they generate.

use rand_core::{Infallible, TryRng};

/// The same seed gives the same sequence on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn seed_from_u64(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl TryRng for SplitMix64 {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        // The high half: the better-mixed bits.
        Ok((self.next() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand_core::Rng;

    use super::*;

    #[test]
    fn matches_the_reference_sequence() {
        // The first outputs of the reference implementation (Vigna's splitmix64.c) seeded with 1234567.
        let mut r = SplitMix64::seed_from_u64(1_234_567);
        let expected: [u64; 3] = [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423];
        for e in expected {
            assert_eq!(r.next_u64(), e);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence_and_different_seeds_differ() {
        let draw = |seed| {
            let mut r = SplitMix64::seed_from_u64(seed);
            let mut bytes = [0u8; 13];
            r.fill_bytes(&mut bytes);
            (r.next_u32(), r.next_u64(), bytes)
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }
}
