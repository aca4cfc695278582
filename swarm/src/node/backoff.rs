//! Reconnection delays: exponential backoff with jitter, the same for the page and `swarm-peer`. The signaling
//! connection uses [`BASE`] to [`MAX`]; a remote peer that could not be reached, [`PEER_BASE`] to [`PEER_MAX`].
//!
//! Jitter spreads the reconnections of many peers after a server restart, so they do not all arrive in the same
//! millisecond. The random number is an input, so the schedule is testable without a clock.

use core::time::Duration;

/// First delay, before jitter: a quick retry covers a server restart.
pub const BASE: Duration = Duration::from_millis(500);
/// Longest delay, before jitter: a user waiting for a lost server sees a retry at least this often.
pub const MAX: Duration = Duration::from_secs(15);

/// First delay before connecting again to a peer that could not be reached (ICE found no path in time, or
/// failed): a network that changed gets another chance soon.
pub const PEER_BASE: Duration = Duration::from_secs(10);
/// Longest delay between attempts at a peer that stays unreachable: each attempt holds a connection slot and, with
/// a relay, a TURN allocation for up to the connect timeout.
pub const PEER_MAX: Duration = Duration::from_secs(300);

/// The retry schedule of one connection: grows on each failure, starts over after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    failures: u32,
    base: Duration,
    max: Duration,
}

impl Default for Backoff {
    /// The signaling connection's schedule.
    fn default() -> Self {
        Backoff::new(BASE, MAX)
    }
}

impl Backoff {
    /// A schedule from `base` doubling up to `max` (before jitter).
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff { failures: 0, base, max }
    }

    /// The delay before the next attempt, given `random` in `[0, 1)`; counts one more failure.
    ///
    /// "Equal jitter": half the capped exponential delay is fixed, half is random, so a retry never comes
    /// sooner than half the schedule and the herd is still spread.
    pub fn next_delay(&mut self, random: f64) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << self.failures.min(16)).min(self.max);
        self.failures = self.failures.saturating_add(1);
        // In whole milliseconds: `Duration::mul_f64` brings float-to-duration panics into the wasm.
        let half = (ceiling / 2).as_millis() as u64;
        Duration::from_millis(half + (half as f64 * random.clamp(0.0, 1.0)) as u64)
    }

    /// A connection succeeded: the next failure starts from the base delay again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_until_the_cap() {
        let mut b = Backoff::default();
        let delays: Vec<Duration> = (0..10).map(|_| b.next_delay(1.0)).collect();
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert_eq!(delays[0], BASE);
        assert_eq!(*delays.last().unwrap(), MAX);
    }

    #[test]
    fn jitter_stays_between_half_and_full_delay() {
        let mut low = Backoff::default();
        let mut high = Backoff::default();
        for _ in 0..8 {
            let (l, h) = (low.next_delay(0.0), high.next_delay(0.999));
            assert!(l * 2 >= h.mul_f64(0.99) && l < h, "{l:?} {h:?}");
        }
    }

    #[test]
    fn reset_starts_over_from_the_base_delay() {
        let mut b = Backoff::default();
        for _ in 0..5 {
            b.next_delay(0.5);
        }
        b.reset();
        assert_eq!(b.next_delay(1.0), BASE);
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let mut b = Backoff::default();
        for _ in 0..100 {
            assert!(b.next_delay(1.0) <= MAX);
        }
    }
}
