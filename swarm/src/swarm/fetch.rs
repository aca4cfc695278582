//! Fetching the manifest from a peer, for a swarm joined by content id only.
//!
//! The manifest's canonical encoding is asked for in chunks (`ManifestRequest { offset }`, answered by
//! `ManifestData` of at most `wire::MAX_BLOCK_LEN` bytes), from one peer at a time, in order. The whole encoding
//! is then hashed and compared with the content id before it is decoded, so a peer cannot make this peer accept
//! a manifest other than the one the link names.

use sha2::{Digest, Sha256};

use crate::id::ContentId;
use crate::manifest::{MAX_MANIFEST_LEN, Manifest};
use crate::swarm::ConnId;
use crate::time::Instant;

/// One fetch in progress.
#[derive(Debug)]
pub(crate) struct Fetch {
    pub conn: ConnId,
    pub asked_at: Instant,
    buf: Vec<u8>,
    total: Option<u32>,
}

/// What a `ManifestData` chunk did.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// Ask for more, from this offset.
    More(u32),
    /// The manifest, checked against the content id, with its encoding.
    Done(Box<Manifest>, Vec<u8>),
    /// The sender broke the rules (named): drop it and fetch from someone else.
    Bad(&'static str),
    /// The encoding matches the content id but does not decode: every honest peer would send these same bytes, so
    /// the link itself names something invalid.
    Invalid(crate::manifest::ManifestError),
}

impl Fetch {
    pub(crate) fn new(conn: ConnId, now: Instant) -> Self {
        Fetch { conn, asked_at: now, buf: Vec::new(), total: None }
    }

    /// Takes the next chunk from the peer being asked.
    pub(crate) fn chunk(&mut self, content: &ContentId, total: u32, offset: u32, data: &[u8], now: Instant) -> Chunk {
        if total == 0 || total as usize > MAX_MANIFEST_LEN {
            return Chunk::Bad("manifest length out of range");
        }
        if self.total.is_some_and(|t| t != total) {
            return Chunk::Bad("manifest length changed between chunks");
        }
        if offset as usize != self.buf.len() || data.is_empty() {
            return Chunk::Bad("manifest chunk at an offset that was not asked for");
        }
        if self.buf.len() + data.len() > total as usize {
            return Chunk::Bad("manifest chunk past the announced length");
        }
        self.total = Some(total);
        self.buf.extend_from_slice(data);
        self.asked_at = now;
        if self.buf.len() < total as usize {
            return Chunk::More(self.buf.len() as u32);
        }
        let bytes = core::mem::take(&mut self.buf);
        if Sha256::digest(&bytes).as_slice() != content.as_bytes().as_slice() {
            return Chunk::Bad("manifest does not match the content id");
        }
        match Manifest::decode(&bytes) {
            Ok(m) => Chunk::Done(Box::new(m), bytes),
            // Matches the id yet does not decode: the link names something no peer can serve.
            Err(e) => Chunk::Invalid(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ManifestBuilder;

    fn manifest() -> Manifest {
        let mut b = ManifestBuilder::new("a.bin", 1000, "application/octet-stream").unwrap();
        b.update(&[1u8; 1000]);
        b.finish().unwrap()
    }

    #[test]
    fn a_manifest_fetched_in_chunks_is_accepted_when_it_matches_the_id() {
        let m = manifest();
        let enc = m.encode();
        let mut f = Fetch::new(ConnId(1), Instant::ZERO);
        let half = enc.len() / 2;
        let total = enc.len() as u32;
        assert!(
            matches!(f.chunk(&m.content_id(), total, 0, &enc[..half], Instant::ZERO), Chunk::More(o) if o as usize == half)
        );
        match f.chunk(&m.content_id(), total, half as u32, &enc[half..], Instant::ZERO) {
            Chunk::Done(got, bytes) => {
                assert_eq!(*got, m);
                assert_eq!(bytes, enc);
            }
            other => panic!("expected the manifest, got {other:?}"),
        }
    }

    #[test]
    fn a_manifest_that_does_not_match_the_id_is_refused() {
        let m = manifest();
        let enc = m.encode();
        let mut f = Fetch::new(ConnId(1), Instant::ZERO);
        let wrong = ContentId([0; 32]);
        assert!(matches!(f.chunk(&wrong, enc.len() as u32, 0, &enc, Instant::ZERO), Chunk::Bad(_)));
    }

    #[test]
    fn a_chunk_at_an_unasked_offset_is_refused() {
        let m = manifest();
        let enc = m.encode();
        let mut f = Fetch::new(ConnId(1), Instant::ZERO);
        assert!(matches!(f.chunk(&m.content_id(), enc.len() as u32, 1, &enc[1..], Instant::ZERO), Chunk::Bad(_)));
    }
}
