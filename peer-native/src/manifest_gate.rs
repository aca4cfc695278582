//! Manifest requests from one remote peer, rate-limited before the swarm sees them.
//!
//! A 5-byte ManifestRequest is answered with up to 128 KiB of the manifest (PROTOCOL.md 2.3), so a peer that sends
//! them without limit makes this one copy, queue and send 26,000 times what it sends. An honest requester asks one
//! peer at a time for the chunks of one manifest, in order, each after the previous one arrived (PROTOCOL.md 2.9):
//! at most [`MANIFEST_CHUNKS`] requests per manifest. The gate is a token bucket per remote peer: [`BURST`]
//! requests at once (the largest manifest twice over), then one per [`REFILL_EVERY`]. A request over the rate is
//! dropped unanswered, which the protocol already provides for: the requester's `request_timeout` moves its fetch
//! to another peer. Nothing here is a rule the other side must know: an honest peer never meets the limit.

use std::time::Duration;

use swarm::manifest::MAX_MANIFEST_LEN;
use swarm::time::Instant;
use swarm::wire::{self, Message};

/// Requests that fetch the largest manifest: 1,052,672 bytes in chunks of 131,072 is 9.
pub const MANIFEST_CHUNKS: u32 = MAX_MANIFEST_LEN.div_ceil(wire::MAX_BLOCK_LEN as usize) as u32;
/// Requests a peer may send at once: the largest manifest twice (a fetch that failed half-way and started over).
pub const BURST: u32 = 2 * MANIFEST_CHUNKS;
/// One more request is allowed each time this passes: 128 KiB a second at most, after the burst.
pub const REFILL_EVERY: Duration = Duration::from_secs(1);

/// What the gate says about one received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not a manifest request: the gate does not apply.
    Other,
    /// A manifest request within the rate: the swarm answers it.
    Admitted,
    /// A manifest request over the rate: dropped unanswered.
    Refused,
}

/// One remote peer's token bucket.
#[derive(Debug, Clone)]
pub struct ManifestGate {
    tokens: u32,
    /// When the last token was added (or the bucket was created).
    refilled_at: Instant,
}

impl ManifestGate {
    /// A full bucket.
    pub fn new(now: Instant) -> Self {
        ManifestGate { tokens: BURST, refilled_at: now }
    }

    /// Judges one message received from this peer (any message of a content channel; only ManifestRequest counts).
    pub fn check(&mut self, now: Instant, bytes: &[u8]) -> Verdict {
        if !is_manifest_request(bytes) {
            return Verdict::Other;
        }
        self.refill(now);
        if self.tokens == 0 {
            return Verdict::Refused;
        }
        self.tokens -= 1;
        Verdict::Admitted
    }

    fn refill(&mut self, now: Instant) {
        let periods = now.saturating_since(self.refilled_at).as_millis() / REFILL_EVERY.as_millis();
        if periods == 0 {
            return;
        }
        let added = u32::try_from(periods).unwrap_or(u32::MAX);
        self.tokens = self.tokens.saturating_add(added).min(BURST);
        // Whole periods only, so time between checks is not lost to rounding.
        self.refilled_at = if self.tokens == BURST { now } else { self.refilled_at + REFILL_EVERY * added };
    }
}

/// Whether `bytes` decode as a ManifestRequest (anything undecodable is the swarm's to judge).
pub fn is_manifest_request(bytes: &[u8]) -> bool {
    matches!(wire::decode(bytes), Ok(Message::ManifestRequest { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_request(offset: u32) -> Vec<u8> {
        wire::encode(&Message::ManifestRequest { offset })
    }

    /// Takes every token (bounded: a gate that never refuses fails the test instead of looping forever).
    fn empty(gate: &mut ManifestGate, now: Instant) {
        let refused = (0..=BURST).any(|_| gate.check(now, &manifest_request(0)) == Verdict::Refused);
        assert!(refused, "the gate admitted more than a burst");
    }

    #[test]
    fn manifest_requests_beyond_the_burst_are_refused_until_time_passes() {
        let t0 = Instant::from_millis(5_000);
        let mut gate = ManifestGate::new(t0);
        let verdicts: Vec<Verdict> = (0..1000).map(|_| gate.check(t0, &manifest_request(0))).collect();
        let admitted = verdicts.iter().filter(|v| **v == Verdict::Admitted).count();
        assert_eq!(admitted, BURST as usize);
        assert!(verdicts[BURST as usize..].iter().all(|v| *v == Verdict::Refused));
        // Just under one period: still nothing.
        let almost = t0 + (REFILL_EVERY - Duration::from_millis(1));
        assert_eq!(gate.check(almost, &manifest_request(0)), Verdict::Refused);
        // One period: one more, and only one.
        let later = t0 + REFILL_EVERY;
        assert_eq!(gate.check(later, &manifest_request(0)), Verdict::Admitted);
        assert_eq!(gate.check(later, &manifest_request(0)), Verdict::Refused);
    }

    #[test]
    fn an_honest_fetch_of_the_largest_manifest_is_never_refused() {
        let t0 = Instant::from_millis(0);
        let mut gate = ManifestGate::new(t0);
        for chunk in 0..MANIFEST_CHUNKS {
            let offset = chunk * wire::MAX_BLOCK_LEN;
            assert_eq!(gate.check(t0, &manifest_request(offset)), Verdict::Admitted, "chunk {chunk}");
        }
    }

    #[test]
    fn other_messages_pass_even_when_the_bucket_is_empty() {
        let t0 = Instant::from_millis(0);
        let mut gate = ManifestGate::new(t0);
        empty(&mut gate, t0);
        let request = wire::encode(&Message::Request { piece: 0, offset: 0, len: 16_384 });
        assert_eq!(gate.check(t0, &request), Verdict::Other);
        assert_eq!(gate.check(t0, &wire::encode(&Message::KeepAlive)), Verdict::Other);
        // Undecodable bytes are the swarm's to judge (a protocol violation there).
        assert_eq!(gate.check(t0, &[0x03, 0, 0]), Verdict::Other);
    }

    #[test]
    fn an_idle_peer_gets_a_full_burst_back_and_no_more() {
        let t0 = Instant::from_millis(0);
        let mut gate = ManifestGate::new(t0);
        empty(&mut gate, t0);
        let hour = t0 + Duration::from_secs(3600);
        let admitted = (0..1000).filter(|_| gate.check(hour, &manifest_request(0)) == Verdict::Admitted).count();
        assert_eq!(admitted, BURST as usize);
    }
}
