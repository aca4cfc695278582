//! [`TokenBucket`]: a rate limit on the core's clock, for what a remote peer may make this peer read, pass on or
//! answer (discovery messages, manifest requests), and for the bytes a node uploads (a token a byte).

use crate::time::Instant;

/// Thousandths of a token: a bucket refilled at `r` tokens a second earns `r` of them each millisecond, so no
/// fraction of a token is lost between two takes however close together they come.
const MILLI: u64 = 1000;

/// A bucket of at most `burst` tokens, refilled at `rate_per_sec` tokens a second; each message takes one. It starts
/// full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    burst: u32,
    rate_per_sec: u32,
    /// Thousandths of a token in the bucket, at most `burst * MILLI`.
    milli_tokens: u64,
    refilled: Instant,
}

impl TokenBucket {
    pub fn full(burst: u32, rate_per_sec: u32, now: Instant) -> Self {
        TokenBucket { burst, rate_per_sec, milli_tokens: u64::from(burst) * MILLI, refilled: now }
    }

    /// Takes a token if there is one at `now`.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.milli_tokens < MILLI {
            return false;
        }
        self.milli_tokens -= MILLI;
        true
    }

    /// Takes `n` tokens if there are that many at `now`.
    pub fn try_take_n(&mut self, n: u64, now: Instant) -> bool {
        self.refill(now);
        let Some(left) = self.milli_tokens.checked_sub(n.saturating_mul(MILLI)) else { return false };
        self.milli_tokens = left;
        true
    }

    /// The first instant at which the bucket holds `n` tokens (now, if it does already); `None` if it never will
    /// (`n` over the burst, or no refill).
    pub fn ready_at(&self, n: u64) -> Option<Instant> {
        if n > u64::from(self.burst) {
            return None;
        }
        let missing = n.saturating_mul(MILLI).saturating_sub(self.milli_tokens);
        if missing == 0 {
            return Some(self.refilled);
        }
        let rate = u64::from(self.rate_per_sec);
        (rate > 0).then(|| Instant::from_millis(self.refilled.as_millis().saturating_add(missing.div_ceil(rate))))
    }

    /// Whole tokens in the bucket at `now`.
    pub fn available(&mut self, now: Instant) -> u32 {
        self.refill(now);
        u32::try_from(self.milli_tokens / MILLI).unwrap_or(u32::MAX)
    }

    fn refill(&mut self, now: Instant) {
        // An instant earlier than the last refill (a shell's clock that jitters) earns nothing and moves nothing.
        if now <= self.refilled {
            return;
        }
        let elapsed_ms = now.as_millis() - self.refilled.as_millis();
        let earned = elapsed_ms.saturating_mul(u64::from(self.rate_per_sec));
        self.milli_tokens = self.milli_tokens.saturating_add(earned).min(u64::from(self.burst) * MILLI);
        self.refilled = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_grants_its_burst_at_once_then_nothing() {
        let mut b = TokenBucket::full(5, 1, Instant::ZERO);
        let granted = (0..20).filter(|_| b.try_take(Instant::ZERO)).count();
        assert_eq!(granted, 5);
        assert!(!b.try_take(Instant::from_millis(999)));
        assert!(b.try_take(Instant::from_millis(1000)));
    }

    #[test]
    fn takes_closer_together_than_one_token_still_earn_the_full_rate() {
        // 16 a second with a take every 50 ms (20 a second): each gap earns 0.8 of a token, which must add up.
        let (burst, rate) = (2, 16);
        let mut b = TokenBucket::full(burst, rate, Instant::ZERO);
        let seconds = 10;
        let granted = (0..=seconds * 20).filter(|i| b.try_take(Instant::from_millis(i * 50))).count() as u64;
        assert_eq!(granted, u64::from(burst) + seconds * u64::from(rate));
    }

    #[test]
    fn ready_at_is_when_a_take_of_that_many_succeeds() {
        // 1,000 bytes a second, at most 500 held.
        let mut b = TokenBucket::full(500, 1000, Instant::ZERO);
        assert!(b.try_take_n(400, Instant::ZERO));
        assert_eq!(b.ready_at(100), Some(Instant::ZERO));
        assert_eq!(b.ready_at(300), Some(Instant::from_millis(200)));
        assert!(!b.try_take_n(300, Instant::from_millis(199)));
        assert!(b.try_take_n(300, Instant::from_millis(200)));
        assert_eq!(b.ready_at(501), None, "more than the bucket holds");
    }

    #[test]
    fn the_bucket_never_holds_more_than_its_burst() {
        let mut b = TokenBucket::full(3, 100, Instant::ZERO);
        assert_eq!(b.available(Instant::from_millis(60_000)), 3);
        assert_eq!(b.available(Instant::from_millis(u64::MAX)), 3);
        // A clock going backwards changes nothing.
        assert_eq!(b.available(Instant::ZERO), 3);
    }
}
