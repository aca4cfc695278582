//! A token bucket: the per-connection message rate limit, and each swarm's departure rate. It is at most 32
//! bytes of state and reads tokio's clock, so tests can run it under paused time; a keyed limiter crate would
//! bring a clock and a map we do not need for one bucket per owner.

use tokio::time::Instant;

/// Holds up to `burst` tokens, refilled at `per_sec` tokens per second; each message takes one.
#[derive(Debug)]
pub struct TokenBucket {
    /// Tokens in millionths, so that refills of a fraction of a token per microsecond are not lost to rounding.
    micro_tokens: u64,
    last: Instant,
    per_sec: u32,
    burst: u32,
}

const MICRO: u64 = 1_000_000;

impl TokenBucket {
    /// A full bucket.
    pub fn new(per_sec: u32, burst: u32, now: Instant) -> TokenBucket {
        TokenBucket { micro_tokens: u64::from(burst) * MICRO, last: now, per_sec, burst }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed_us = u64::try_from(now.saturating_duration_since(self.last).as_micros()).unwrap_or(u64::MAX);
        self.last = now;
        // per_sec tokens per second = per_sec micro-tokens per microsecond.
        let refill = elapsed_us.saturating_mul(u64::from(self.per_sec));
        self.micro_tokens = self.micro_tokens.saturating_add(refill).min(u64::from(self.burst) * MICRO);
        if self.micro_tokens >= MICRO {
            self.micro_tokens -= MICRO;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_full_bucket_allows_exactly_the_burst() {
        let now = Instant::now();
        let mut bucket = TokenBucket::new(10, 5, now);
        let allowed = (0..20).filter(|_| bucket.try_take(now)).count();
        assert_eq!(allowed, 5);
    }

    #[test]
    fn tokens_come_back_at_the_configured_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 5, start);
        while bucket.try_take(start) {}
        // 10 per second: one token every 100 ms.
        assert!(!bucket.try_take(start + Duration::from_millis(99)));
        assert!(bucket.try_take(start + Duration::from_millis(100)));
        assert!(!bucket.try_take(start + Duration::from_millis(100)));
    }

    #[test]
    fn a_bucket_is_at_most_32_bytes() {
        // One per connection and one per swarm: the memory goal is a few KiB per connection.
        assert!(std::mem::size_of::<TokenBucket>() <= 32);
    }

    #[test]
    fn an_idle_bucket_refills_only_to_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 5, start);
        let later = start + Duration::from_secs(3600);
        assert_eq!((0..20).filter(|_| bucket.try_take(later)).count(), 5);
    }
}
