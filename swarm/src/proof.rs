//! What keeps a content private from the signaling server (docs/PROTOCOL.md 2.11): the swarm key a peer names a
//! content by to the server and in channel labels (a one-way derivation of the content id), and the handshake
//! proof that both ends of a content channel know the content id and saw the same DTLS certificates.
//!
//! The server relays the SDP, so it could answer each side itself and sit in the middle of the connection. Each
//! side's proof is an HMAC-SHA256, keyed by a key derived from the content id, over the two DTLS fingerprints as
//! that side saw them in the SDP (its own, then the other's) and the two peer ids (its own, then the other's). In
//! the middle, the two sides see different certificates, so neither proof checks, and without the content id the
//! party in the middle cannot make one that does.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::id::ContentId;
use crate::signal::PeerId;

/// Domain separation of the swarm key: `SHA-256(SWARM_KEY_DOMAIN || content id)`.
pub const SWARM_KEY_DOMAIN: &[u8] = b"p2p-share swarm key v1\0";
/// Domain separation of the proof key: `SHA-256(PROOF_KEY_DOMAIN || content id)`.
pub const PROOF_KEY_DOMAIN: &[u8] = b"p2p-share proof key v1\0";
/// The first bytes of every proof's HMAC input.
pub const PROOF_DOMAIN: &[u8] = b"p2p-share proof v1\0";

/// Longest hash function name a fingerprint line may give (`sha-256`, `sha-512`, ...).
pub const MAX_FINGERPRINT_ALGORITHM_LEN: usize = 16;
/// Longest fingerprint digest: 64 bytes (SHA-512).
pub const MAX_FINGERPRINT_LEN: usize = 64;

/// The name a content is known by outside its swarm: the signaling server's swarm name and the label of its data
/// channels, 64 lower-case hex digits. Knowing it does not let anyone fetch the content (PROTOCOL.md 2.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SwarmKey(pub [u8; 32]);

impl SwarmKey {
    /// The swarm key of `content`.
    pub fn of(content: &ContentId) -> SwarmKey {
        SwarmKey(Sha256::new().chain_update(SWARM_KEY_DOMAIN).chain_update(content.as_bytes()).finalize().into())
    }

    /// Reads the text form: exactly 64 lower-case hex digits (the content id's codec, [`ContentId::from_str`]).
    pub fn parse(text: &str) -> Option<SwarmKey> {
        text.parse::<ContentId>().ok().map(|id| SwarmKey(id.0))
    }
}

impl fmt::Display for SwarmKey {
    /// The content id's text form of the same 32 bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ContentId(self.0).fmt(f)
    }
}

/// A DTLS certificate fingerprint as an SDP states it (`a=fingerprint:sha-256 AB:CD:...`, RFC 8122): the hash
/// function's name, lower-cased, and the digest's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub algorithm: String,
    pub digest: Vec<u8>,
}

/// Why an SDP gives no usable fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FingerprintError {
    /// No `a=fingerprint:` line.
    Missing,
    /// Two different fingerprints: which certificate the proof covers would be ambiguous.
    Several,
    /// A line that is not `a=fingerprint:<name> <hex bytes separated by ':'>` within the limits.
    Malformed,
}

impl fmt::Display for FingerprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FingerprintError::Missing => "the session description has no DTLS fingerprint",
            FingerprintError::Several => "the session description has several different DTLS fingerprints",
            FingerprintError::Malformed => "the session description's DTLS fingerprint is malformed",
        })
    }
}

impl Fingerprint {
    /// The one fingerprint of an SDP: every `a=fingerprint:` line (session or media level) must give the same one.
    pub fn from_sdp(sdp: &str) -> Result<Fingerprint, FingerprintError> {
        let mut found: Option<Fingerprint> = None;
        for line in sdp.lines() {
            let Some(value) = line.trim_end_matches('\r').strip_prefix("a=fingerprint:") else { continue };
            let fingerprint = Fingerprint::parse_value(value).ok_or(FingerprintError::Malformed)?;
            match &found {
                Some(first) if *first != fingerprint => return Err(FingerprintError::Several),
                Some(_) => {}
                None => found = Some(fingerprint),
            }
        }
        found.ok_or(FingerprintError::Missing)
    }

    /// `<hash name> <hex byte>:<hex byte>:...` (RFC 8122 section 5), hex in either case.
    fn parse_value(value: &str) -> Option<Fingerprint> {
        let (algorithm, hex) = value.split_once(' ')?;
        let ok_name = |c: char| c.is_ascii_alphanumeric() || c == '-';
        if algorithm.is_empty() || algorithm.len() > MAX_FINGERPRINT_ALGORITHM_LEN || !algorithm.chars().all(ok_name) {
            return None;
        }
        // Two hex digits each (`from_str_radix` alone would take a sign, `+F`).
        let byte = |pair: &str| {
            (pair.len() == 2 && pair.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u8::from_str_radix(pair, 16).ok())
                .flatten()
        };
        let digest = hex.split(':').map(byte).collect::<Option<Vec<u8>>>()?;
        if digest.is_empty() || digest.len() > MAX_FINGERPRINT_LEN {
            return None;
        }
        Some(Fingerprint { algorithm: algorithm.to_ascii_lowercase(), digest })
    }
}

/// The 32-byte proof one side of a content channel sends in its Handshake (PROTOCOL.md 2.11):
/// `HMAC-SHA256(proof key, PROOF_DOMAIN || field(sender's fingerprint name) || field(sender's digest) ||
/// field(receiver's fingerprint name) || field(receiver's digest) || field(sender's peer id) || field(receiver's
/// peer id))`, each field a 2-byte big-endian length and the bytes; the fingerprints as the sender saw them.
pub fn handshake_proof(
    content: &ContentId,
    sender: (&Fingerprint, &PeerId),
    receiver: (&Fingerprint, &PeerId),
) -> [u8; 32] {
    let key: [u8; 32] = Sha256::new().chain_update(PROOF_KEY_DOMAIN).chain_update(content.as_bytes()).finalize().into();
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key) else {
        unreachable!("HMAC takes a key of any length")
    };
    mac.update(PROOF_DOMAIN);
    let mut field = |bytes: &[u8]| {
        // Every field is bounded far below 65,536 bytes (fingerprints above, peer ids by the signaling parser).
        mac.update(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
        mac.update(bytes);
    };
    field(sender.0.algorithm.as_bytes());
    field(&sender.0.digest);
    field(receiver.0.algorithm.as_bytes());
    field(&receiver.0.digest);
    field(sender.1.0.as_bytes());
    field(receiver.1.0.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The proofs of one content channel: the one to send and the one the other side must send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    pub send: [u8; 32],
    pub expect: [u8; 32],
}

impl Proof {
    /// Both proofs of `content`'s channel between `me` (whose certificate is `mine`) and `them` (`theirs`), each
    /// fingerprint as this side's SDPs state it.
    pub fn new(content: &ContentId, me: (&Fingerprint, &PeerId), them: (&Fingerprint, &PeerId)) -> Proof {
        Proof { send: handshake_proof(content, me, them), expect: handshake_proof(content, them, me) }
    }

    /// Whether `received` is the expected proof, compared in constant time.
    pub fn accepts(&self, received: &[u8; 32]) -> bool {
        Proof::matches(&self.expect, received)
    }

    /// Whether two proofs are equal, compared in constant time.
    pub fn matches(expected: &[u8; 32], received: &[u8; 32]) -> bool {
        expected.iter().zip(received).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
    }
}

/// The two proofs of an honest connection between simulated peers `a` and `b` (each with a fingerprint and a
/// peer id of its own), for the engine-level simulator and tests: `(a's, b's)`.
#[cfg(feature = "sim")]
pub fn simulated_pair(content: &ContentId, a: u64, b: u64) -> (Proof, Proof) {
    let fingerprint = |n: u64| Fingerprint { algorithm: "sha-256".into(), digest: n.to_be_bytes().repeat(4) };
    let (fa, fb) = (fingerprint(a), fingerprint(b));
    let (ia, ib) = (PeerId(format!("sim{a}")), PeerId(format!("sim{b}")));
    (Proof::new(content, (&fa, &ia), (&fb, &ib)), Proof::new(content, (&fb, &ib), (&fa, &ia)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str =
        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

    #[test]
    fn the_one_fingerprint_of_an_sdp_is_read_and_bad_ones_refused() {
        let sdp =
            format!("v=0\r\na=fingerprint:SHA-256 {DIGEST}\r\nm=application 9\r\na=fingerprint:sha-256 {DIGEST}\r\n");
        let fp = Fingerprint::from_sdp(&sdp).unwrap();
        assert_eq!(fp.algorithm, "sha-256");
        assert_eq!(fp.digest.len(), 32);
        assert_eq!(fp.digest[..3], [0xab, 0xcd, 0xef]);
        assert_eq!(Fingerprint::from_sdp("v=0\r\nm=application 9\r\n"), Err(FingerprintError::Missing));
        let two = format!("a=fingerprint:sha-256 {DIGEST}\na=fingerprint:sha-256 {}", DIGEST.replace("AB", "AA"));
        assert_eq!(Fingerprint::from_sdp(&two), Err(FingerprintError::Several));
        for bad in [
            "a=fingerprint:sha-256",
            "a=fingerprint:sha-256 ",
            "a=fingerprint:sha-256 ABCD",
            "a=fingerprint:sha-256 AB:C",
            "a=fingerprint:sha-256 AB::CD",
            "a=fingerprint:sha 256 AB",
            "a=fingerprint: AB:CD",
            "a=fingerprint:sha-256 GG:00",
            "a=fingerprint:sha-256 +F:00",
            "a=fingerprint:sha-256 -0:00",
        ] {
            assert_eq!(Fingerprint::from_sdp(bad), Err(FingerprintError::Malformed), "{bad}");
        }
        let long = format!("a=fingerprint:sha-256 {}", vec!["00"; 65].join(":"));
        assert_eq!(Fingerprint::from_sdp(&long), Err(FingerprintError::Malformed));
    }

    #[test]
    fn the_two_sides_proofs_match_crosswise_and_differ_from_each_other() {
        let content = ContentId([7; 32]);
        let fa = Fingerprint { algorithm: "sha-256".into(), digest: vec![1; 32] };
        let fb = Fingerprint { algorithm: "sha-256".into(), digest: vec![2; 32] };
        let (a, b) = (PeerId("aaaa".into()), PeerId("bbbb".into()));
        let pa = Proof::new(&content, (&fa, &a), (&fb, &b));
        let pb = Proof::new(&content, (&fb, &b), (&fa, &a));
        assert!(pb.accepts(&pa.send) && pa.accepts(&pb.send));
        // Reflecting a side's own proof back to it does not pass.
        assert!(!pa.accepts(&pa.send));
        // Another certificate seen on one side (someone in the middle), or another content: no match.
        let fx = Fingerprint { algorithm: "sha-256".into(), digest: vec![9; 32] };
        assert!(!pb.accepts(&Proof::new(&content, (&fa, &a), (&fx, &b)).send));
        assert!(!pb.accepts(&Proof::new(&ContentId([8; 32]), (&fa, &a), (&fb, &b)).send));
    }

    #[test]
    fn swarm_keys_read_back_and_nothing_else_parses() {
        let key = SwarmKey::of(&ContentId([7; 32]));
        assert_eq!(SwarmKey::parse(&key.to_string()), Some(key));
        assert_ne!(key.0, [7; 32]);
        for bad in ["", &"A".repeat(64), &"0".repeat(63), &"0".repeat(65), &"g".repeat(64)] {
            assert_eq!(SwarmKey::parse(bad), None, "{bad}");
        }
    }
}
