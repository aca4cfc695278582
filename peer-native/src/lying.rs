//! Test-only lying mode (cargo feature `lying`, never in a default build): every block this peer serves is
//! corrupted, so tests can show that downloaders detect it, ban this peer and still finish with a correct file.

/// Flips the first payload byte of a block read from storage (the payload starts after `headroom` bytes).
pub fn corrupt(buf: &mut [u8], headroom: usize) {
    if let Some(b) = buf.get_mut(headroom) {
        *b ^= 0xff;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_changes_the_payload_not_the_headroom() {
        let mut buf = vec![0u8, 0, 7, 8];
        corrupt(&mut buf, 2);
        assert_eq!(buf, vec![0, 0, 7 ^ 0xff, 8]);
    }
}
