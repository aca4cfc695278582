//! [`ServerLink`]: this peer's one connection to the signaling server, as a schedule: when to connect, when to
//! ping, when a silent server counts as gone, and when each request may go out.
//!
//! The shell owns the socket; this decides. The schedule is the same for the page and `swarm-peer`:
//! - reconnect after a loss with [`Backoff`] (0.5 s doubling to 15 s, equal jitter), reset by a `welcome`;
//! - ping every [`PING_EVERY`] while welcomed;
//! - a server not heard from for [`SILENCE_LIMIT`] (connecting included) is dropped and retried;
//! - requests leave at most [`SEND_BURST`] at once and [`SENDS_PER_SEC`] after that, under the server's own rate
//!   limit (200 at once, 50 a second by default): a peer joining a busy swarm trickles dozens of ICE candidates to
//!   each member, and the server would count the excess as strikes and close the connection. What waits is at
//!   most [`MAX_WAITING`] requests; beyond, the newest ICE candidate is dropped (the connection it was for has
//!   others, or fails on its own timer), never a join, an offer or an answer.

use core::time::Duration;
use std::collections::VecDeque;

use super::backoff::Backoff;
use crate::bucket::TokenBucket;
use crate::signal::{PeerRequest, SignalPayload};
use crate::time::Instant;

/// Application-level ping period while welcomed.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// A server silent for this long is presumed gone (three pings unanswered), and so is a connection attempt that
/// has not been welcomed within it.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// Requests that may leave at once.
pub const SEND_BURST: u32 = 150;
/// Requests a second after the burst.
pub const SENDS_PER_SEC: u32 = 40;
/// Requests waiting for the rate at most.
pub const MAX_WAITING: usize = 512;

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Never welcomed yet: the first attempt is under way.
    Connecting,
    /// Welcomed: requests go out.
    Connected,
    /// Lost (or never reached); retrying on the backoff schedule.
    Reconnecting,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Reconnecting => "reconnecting",
        }
    }
}

/// What the link asks of the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAction {
    /// Open the socket.
    Connect,
    /// Close the socket without waiting (the server is silent); no `closed` input is expected after it.
    Disconnect,
    /// Write one text frame.
    Send(String),
}

/// The schedule of one signaling connection.
#[derive(Debug)]
pub struct ServerLink {
    state: LinkState,
    /// A socket is open or being opened.
    socket: bool,
    backoff: Backoff,
    /// When to try again while no socket is open.
    retry_at: Option<Instant>,
    last_heard: Instant,
    last_ping: Instant,
    bucket: TokenBucket,
    waiting: VecDeque<PeerRequest>,
    /// When to look at the bucket again while requests wait.
    next_send: Option<Instant>,
    /// ICE candidates dropped because [`MAX_WAITING`] requests were waiting.
    dropped: u64,
}

impl ServerLink {
    /// A link whose first connection starts at once.
    pub fn new(now: Instant) -> Self {
        ServerLink {
            state: LinkState::Connecting,
            socket: false,
            backoff: Backoff::default(),
            retry_at: Some(now),
            last_heard: now,
            last_ping: now,
            bucket: TokenBucket::full(SEND_BURST, SENDS_PER_SEC, now),
            waiting: VecDeque::new(),
            next_send: None,
            dropped: 0,
        }
    }

    pub fn state(&self) -> LinkState {
        self.state
    }

    /// Whether requests go out now.
    pub fn is_up(&self) -> bool {
        self.state == LinkState::Connected
    }

    /// ICE candidates dropped for want of room (see the module doc).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// A frame arrived.
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// The server welcomed this socket. Returns the new state if it changed.
    pub fn welcomed(&mut self, now: Instant) -> Option<LinkState> {
        self.backoff.reset();
        self.last_heard = now;
        self.last_ping = now;
        self.set_state(LinkState::Connected)
    }

    /// The socket closed or could not open; `random` in `[0, 1)` is the jitter. Returns the new state if it
    /// changed.
    pub fn closed(&mut self, now: Instant, random: f64) -> Option<LinkState> {
        self.socket = false;
        // Stale by the time a server is back: offers and candidates were for connections that will have moved on,
        // joins are sent again on the next welcome.
        self.waiting.clear();
        self.retry_at = Some(now + self.backoff.next_delay(random));
        self.set_state(LinkState::Reconnecting)
    }

    fn set_state(&mut self, state: LinkState) -> Option<LinkState> {
        (self.state != state).then(|| {
            self.state = state;
            state
        })
    }

    /// Queues a request; it goes out when the link is up and the rate allows (see [`ServerLink::poll`]). Dropped
    /// while no server has welcomed this peer.
    pub fn send(&mut self, request: PeerRequest) {
        if !self.is_up() {
            return;
        }
        if self.waiting.len() >= MAX_WAITING {
            if matches!(request, PeerRequest::Signal { payload: SignalPayload::Candidate { .. }, .. }) {
                self.dropped += 1;
                return;
            }
            // Make room by dropping the newest waiting candidate. With none, only joins, offers and answers wait:
            // at most a few per peer and content, which are bounded.
            let candidate = self
                .waiting
                .iter()
                .rposition(|r| matches!(r, PeerRequest::Signal { payload: SignalPayload::Candidate { .. }, .. }));
            if let Some(i) = candidate {
                self.waiting.remove(i);
                self.dropped += 1;
            }
        }
        self.waiting.push_back(request);
    }

    /// What the shell should do now, in order: connect, give up a silent server, ping, send what the rate allows.
    /// After a [`LinkAction::Disconnect`] the caller reports the socket gone with [`ServerLink::closed`], as for a
    /// close the shell saw: one path, one jitter draw, only when it is needed.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<LinkAction>) {
        if !self.socket {
            if self.retry_at.is_some_and(|t| t <= now) {
                self.retry_at = None;
                self.socket = true;
                self.last_heard = now;
                out.push(LinkAction::Connect);
            }
            return;
        }
        if now.saturating_since(self.last_heard) >= SILENCE_LIMIT {
            out.push(LinkAction::Disconnect);
            return;
        }
        if !self.is_up() {
            return;
        }
        if now.saturating_since(self.last_ping) >= PING_EVERY {
            self.last_ping = now;
            // Pings wait behind nothing and take a token like any request: the server counts them.
            self.waiting.push_front(PeerRequest::Ping);
        }
        while !self.waiting.is_empty() && self.bucket.try_take(now) {
            if let Some(request) = self.waiting.pop_front() {
                out.push(LinkAction::Send(request.to_json()));
            }
        }
        // The bucket earns a token every 1000 / SENDS_PER_SEC ms.
        self.next_send =
            (!self.waiting.is_empty()).then(|| now + Duration::from_millis(1000 / u64::from(SENDS_PER_SEC)));
    }

    /// When [`ServerLink::poll`] has something to do next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.socket {
            return self.retry_at;
        }
        let silence = self.last_heard + SILENCE_LIMIT;
        if !self.is_up() {
            return Some(silence);
        }
        let ping = self.last_ping + PING_EVERY;
        // A request queued since the last poll goes at the next one: the node polls after every input.
        Some([silence, ping].into_iter().chain(self.next_send).min().unwrap_or(silence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn poll(link: &mut ServerLink, now: Instant) -> Vec<LinkAction> {
        let mut out = Vec::new();
        link.poll(now, &mut out);
        out
    }

    #[test]
    fn connects_at_once_then_backs_off_with_jitter_after_each_loss() {
        let mut link = ServerLink::new(at(0));
        assert_eq!(poll(&mut link, at(0)), [LinkAction::Connect]);
        assert_eq!(link.closed(at(100), 0.0), Some(LinkState::Reconnecting));
        // Half of the 500 ms base with no jitter.
        assert_eq!(link.poll_timeout(), Some(at(350)));
        assert_eq!(poll(&mut link, at(349)), []);
        assert_eq!(poll(&mut link, at(350)), [LinkAction::Connect]);
        assert_eq!(link.closed(at(400), 0.999), None);
        assert!(link.poll_timeout().unwrap() > at(400 + 900), "{:?}", link.poll_timeout());
    }

    #[test]
    fn a_server_silent_for_the_limit_is_dropped_and_retried() {
        let mut link = ServerLink::new(at(0));
        poll(&mut link, at(0));
        link.welcomed(at(10));
        let silent = at(10) + SILENCE_LIMIT;
        let actions = poll(&mut link, silent);
        assert!(actions.contains(&LinkAction::Disconnect), "{actions:?}");
        // The node reports it gone, as it does a close the shell saw.
        assert_eq!(link.closed(silent, 0.5), Some(LinkState::Reconnecting));
        assert_eq!(link.state(), LinkState::Reconnecting);
        assert!(link.poll_timeout().is_some_and(|t| t > silent), "a retry is scheduled");
    }

    #[test]
    fn pings_every_period_while_welcomed() {
        let mut link = ServerLink::new(at(0));
        poll(&mut link, at(0));
        link.welcomed(at(0));
        assert_eq!(link.poll_timeout(), Some(at(0) + PING_EVERY));
        link.heard(at(19_000));
        assert_eq!(poll(&mut link, at(20_000)), [LinkAction::Send(PeerRequest::Ping.to_json())]);
    }

    #[test]
    fn requests_beyond_the_burst_wait_for_the_rate_and_candidates_go_first_when_full() {
        let mut link = ServerLink::new(at(0));
        poll(&mut link, at(0));
        link.welcomed(at(0));
        let candidate = |i: usize| PeerRequest::Signal {
            to: crate::signal::PeerId(format!("p{i}")),
            payload: SignalPayload::Candidate { candidate: format!("c{i}"), sdp_mid: None, sdp_m_line_index: None },
        };
        for i in 0..(SEND_BURST as usize + MAX_WAITING + 10) {
            link.send(candidate(i));
        }
        assert_eq!(link.dropped(), 10 + u64::from(SEND_BURST));
        let join = PeerRequest::Join { swarm: crate::signal::SwarmName::parse("net:x").unwrap() };
        link.send(join.clone());
        assert_eq!(link.dropped(), 11 + u64::from(SEND_BURST));
        assert_eq!(poll(&mut link, at(0)).len(), SEND_BURST as usize);
        let next_second = poll(&mut link, at(1000));
        assert_eq!(next_second.len(), SENDS_PER_SEC as usize);
        // The join is still waiting, at the end.
        assert!(link.waiting.back() == Some(&join));
    }
}
