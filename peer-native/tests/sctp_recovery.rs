//! Loss recovery of the SCTP under every data channel (rtc-sctp 0.21.1 as patched in `vendor/rtc-sctp`): a loss
//! that shows only during Fast Recovery is retransmitted without waiting for T3-rtx, and a retransmission that is
//! lost again costs RTO.Min, 400 ms. Two sans-IO associations on a simulated link: a virtual clock, a fixed one-way
//! delay, and a rule that drops chosen DATA chunks on their way to the receiver. Nothing reads the wall clock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::shared::TransportProtocol;
use rtc_sctp::{
    Association, AssociationHandle, ClientConfig, DatagramEvent, Endpoint, EndpointConfig, Event, Payload,
    PayloadProtocolIdentifier, ServerConfig, TransportConfig,
};

/// A 2 ms round trip: far under RTO.Min, as on a LAN or to a nearby relay, so a timeout shows as a long pause.
const ONE_WAY: Duration = Duration::from_millis(1);
/// Virtual time after which a transfer is given up: a stalled association fails the test instead of hanging it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);
/// Each message is a whole number of full DATA chunks, so every DATA packet carries exactly one chunk and "the
/// n-th chunk" is also "the n-th DATA packet".
const CHUNKS_PER_MESSAGE: usize = 16;
/// 24 messages of 16 chunks of 1,160 bytes: 445 KB, 384 DATA packets.
const MESSAGES: usize = 24;

/// Two losses in one window: a burst of four packets (40-43, as a relay dropping a burst does), then packet 50.
///
/// The burst's miss indications reach three together, on the SACK that starts Fast Recovery; that SACK acks up to
/// 46, the exit point. Packet 50 was sent after 46, so no SACK before Fast Recovery counts it missing, and during
/// Fast Recovery only a SACK that moves the cumulative ack does: one for each of 40, 41 and 42 arriving again. It
/// reaches three on the SACK for 42, while 43 still waits for its own fast retransmission. Upstream sent one packet
/// of such chunks per SACK that moved the cumulative ack, the lowest first (43), and the SACK for 43 ended Fast
/// Recovery: nothing sent 50 again until T3-rtx fired, a second later.
#[test]
fn a_second_loss_in_fast_recovery_is_retransmitted_without_a_timeout() {
    const SECOND: u32 = 50;
    let run = Transfer::new().drop_data(|c| c.transmission == 0 && matches!(c.index, 40..=43 | SECOND)).run();

    run.assert_delivered_in_order();
    assert_eq!(run.t3_timeouts, 0, "a lost chunk waited for T3-rtx: {run:#?}");
    // Each lost chunk sent again once, and no chunk that was not lost: a chunk beyond the highest one a SACK
    // reports is in flight, not missing.
    assert_eq!(run.retransmissions, 5, "{run:#?}");
    let waited = run.recovery_time(SECOND);
    assert!(waited < Duration::from_millis(100), "chunk {SECOND} took {waited:?} to recover: {run:#?}");
}

#[test]
fn a_lost_retransmission_is_recovered_after_rto_min() {
    const LOST: u32 = 60;
    // Its first transmission and the fast retransmission that follows: only T3-rtx can bring it now.
    let run = Transfer::new().drop_data(|c| c.index == LOST && c.transmission <= 1).run();

    run.assert_delivered_in_order();
    assert_eq!(run.t3_timeouts, 1, "{run:#?}");
    // RTO.Min plus a few round trips; RFC 9260's RTO.Min alone is a second.
    let waited = run.recovery_time(LOST);
    assert!(
        waited < Duration::from_secs(1),
        "chunk {LOST} reached the receiver {waited:?} after it was lost: {run:#?}"
    );
}

/// One DATA chunk as the link sees it on its way to the receiver.
#[derive(Clone, Copy, Debug)]
struct DataChunk {
    /// Its TSN counted from the association's first DATA chunk (the initial TSN is random).
    index: u32,
    /// How many times this chunk was put on the link before (dropped or not): 0 for its first transmission.
    transmission: u32,
}

type DropRule = Box<dyn FnMut(DataChunk) -> bool>;

/// What a transfer did, as seen from the link and from the sender's counters.
#[derive(Debug)]
struct Run {
    sent: usize,
    delivered: usize,
    /// Whether the delivered bytes are the sent ones, in order.
    intact: bool,
    /// Each chunk the rule dropped at least once.
    losses: BTreeMap<u32, Loss>,
    /// DATA chunks put on the link a second time or later, by any path: `AssociationStats::get_num_fast_retrans`
    /// leaves out those the retransmission scan sends, as chunks missed three times in Fast Recovery now are.
    retransmissions: u32,
    t3_timeouts: u64,
    elapsed: Duration,
}

/// In virtual time from the start of the run.
#[derive(Debug, Default)]
struct Loss {
    dropped_at: Vec<Duration>,
    arrived_at: Option<Duration>,
}

impl Run {
    fn assert_delivered_in_order(&self) {
        assert_eq!(self.delivered, self.sent, "not every byte arrived after {:?}: {self:#?}", self.elapsed);
        assert!(self.intact, "the bytes arrived, but not as they were sent");
    }

    /// From the chunk's first loss to its arrival at the receiver, which delivers it in order at once: it is the
    /// lowest chunk missing.
    fn recovery_time(&self, index: u32) -> Duration {
        let loss = &self.losses[&index];
        loss.arrived_at.expect("the chunk arrived") - loss.dropped_at[0]
    }
}

/// A client sending [`MESSAGES`] messages over one reliable, ordered stream to a server that reads everything.
struct Transfer {
    drop_rule: DropRule,
}

impl Transfer {
    fn new() -> Self {
        Transfer { drop_rule: Box::new(|_| false) }
    }

    /// Drops every client-to-server datagram holding a chunk the rule picks. Server-to-client traffic is never lost.
    fn drop_data(mut self, rule: impl FnMut(DataChunk) -> bool + 'static) -> Self {
        self.drop_rule = Box::new(rule);
        self
    }

    fn run(self) -> Run {
        let mut link = Link::new(self.drop_rule);
        link.run_until(|l| l.client.connected && l.server.connected);

        let message = CHUNKS_PER_MESSAGE * EndpointConfig::default().get_max_payload_size() as usize;
        let sent: Vec<u8> = (0..MESSAGES * message).map(|i| (i % 251) as u8).collect();
        let now = link.now;
        let client = link.client.association();
        client.open_stream(0, PayloadProtocolIdentifier::Binary).expect("stream 0 is free");
        let mut stream = client.stream(0).expect("just opened");
        for m in sent.chunks(message) {
            stream.write_sctp(now, &Bytes::copy_from_slice(m), PayloadProtocolIdentifier::Binary).expect("written");
        }
        link.run_until(|l| l.received.len() >= sent.len());

        let since_start = |at: Instant| at - link.start;
        let mut losses: BTreeMap<u32, Loss> = BTreeMap::new();
        for &(index, at) in &link.dropped {
            losses.entry(index).or_default().dropped_at.push(since_start(at));
        }
        for (index, loss) in &mut losses {
            loss.arrived_at = link.arrived.get(index).copied().map(since_start);
        }
        let mut stats = link.client.association().stats();
        Run {
            sent: sent.len(),
            delivered: link.received.len(),
            intact: link.received == sent,
            losses,
            retransmissions: link.retransmissions,
            t3_timeouts: stats.get_num_t3timeouts(),
            elapsed: since_start(link.now),
        }
    }
}

/// One endpoint with its one association.
struct Peer {
    endpoint: Endpoint,
    remote: SocketAddr,
    association: Option<(AssociationHandle, Association)>,
    connected: bool,
}

impl Peer {
    fn association(&mut self) -> &mut Association {
        &mut self.association.as_mut().expect("the handshake has begun").1
    }

    fn timeout(&self) -> Option<Instant> {
        self.association.as_ref().and_then(|(_, a)| a.poll_timeout())
    }

    fn receive(&mut self, now: Instant, datagram: Bytes) {
        match self.endpoint.handle(now, self.remote, None, datagram) {
            Some((handle, DatagramEvent::NewAssociation(a))) => self.association = Some((handle, a)),
            Some((_, DatagramEvent::AssociationEvent(event))) => self.association().handle_event(event),
            _ => {}
        }
    }

    /// Drains the association's events and returns the datagrams it wants sent now.
    fn poll(&mut self, now: Instant) -> Vec<Bytes> {
        let Some((handle, association)) = self.association.as_mut() else { return Vec::new() };
        while let Some(event) = association.poll() {
            self.connected |= matches!(event, Event::Connected);
        }
        while let Some(event) = association.poll_endpoint_event() {
            self.endpoint.handle_event(*handle, event);
        }
        let mut out = Vec::new();
        while let Some(transmit) = association.poll_transmit(now) {
            if let Payload::RawEncode(datagrams) = transmit.message {
                out.extend(datagrams);
            }
        }
        out
    }
}

#[derive(Clone, Copy, PartialEq)]
enum To {
    Client,
    Server,
}

/// Both peers, the datagrams between them, and the virtual clock.
struct Link {
    start: Instant,
    now: Instant,
    client: Peer,
    server: Peer,
    /// In arrival order: one delay for every datagram, so arrival order is sending order.
    in_flight: VecDeque<(Instant, To, Bytes)>,
    drop_rule: DropRule,
    first_tsn: Option<u32>,
    transmissions: HashMap<u32, u32>,
    dropped: Vec<(u32, Instant)>,
    arrived: HashMap<u32, Instant>,
    retransmissions: u32,
    received: Vec<u8>,
}

impl Link {
    fn new(drop_rule: DropRule) -> Self {
        let client_addr: SocketAddr = "10.0.0.1:5000".parse().expect("literal");
        let server_addr: SocketAddr = "10.0.0.2:5000".parse().expect("literal");
        let config = Arc::new(EndpointConfig::default());
        // Any base will do: only offsets from it are ever read.
        let start = Instant::now();
        let mut client = Peer {
            endpoint: Endpoint::new(client_addr, TransportProtocol::UDP, config.clone(), None),
            remote: server_addr,
            association: None,
            connected: false,
        };
        let server_config = Arc::new(ServerConfig::new(TransportConfig::default()));
        let server = Peer {
            endpoint: Endpoint::new(server_addr, TransportProtocol::UDP, config, Some(server_config)),
            remote: client_addr,
            association: None,
            connected: false,
        };
        let connecting = client.endpoint.connect(start, ClientConfig::new(TransportConfig::default()), server_addr);
        client.association = Some(connecting.expect("a fresh endpoint can connect"));
        Link {
            start,
            now: start,
            client,
            server,
            in_flight: VecDeque::new(),
            drop_rule,
            first_tsn: None,
            transmissions: HashMap::new(),
            dropped: Vec::new(),
            arrived: HashMap::new(),
            retransmissions: 0,
            received: Vec::new(),
        }
    }

    /// Advances virtual time, to the next arrival or timer each step, until `done` or [`GIVE_UP_AFTER`].
    fn run_until(&mut self, done: impl Fn(&Link) -> bool) {
        loop {
            self.poll(To::Client);
            self.poll(To::Server);
            self.read();
            if done(self) {
                return;
            }
            let arrival = self.in_flight.front().map(|&(at, _, _)| at);
            let Some(next) = [arrival, self.client.timeout(), self.server.timeout()].into_iter().flatten().min() else {
                return;
            };
            if next - self.start > GIVE_UP_AFTER {
                return;
            }
            self.now = self.now.max(next);
            // One datagram at a time, each answered before the next is read, as a stack reading a socket does: the
            // receiver SACKs every out-of-order packet, not one batch.
            while let Some(&(at, to, _)) = self.in_flight.front()
                && at <= self.now
            {
                let (_, _, datagram) = self.in_flight.pop_front().expect("just looked");
                if to == To::Server {
                    self.note_arrival(&datagram);
                }
                let now = self.now;
                self.peer(to).receive(now, datagram);
                self.poll(to);
            }
            for to in [To::Client, To::Server] {
                let now = self.now;
                let peer = self.peer(to);
                if peer.timeout().is_some_and(|t| t <= now) {
                    peer.association().handle_timeout(now);
                }
            }
        }
    }

    fn peer(&mut self, to: To) -> &mut Peer {
        match to {
            To::Client => &mut self.client,
            To::Server => &mut self.server,
        }
    }

    /// Puts on the link what the peer `from` wants sent.
    fn poll(&mut self, from: To) {
        let now = self.now;
        for datagram in self.peer(from).poll(now) {
            let to = if from == To::Client { To::Server } else { To::Client };
            if to == To::Server && self.drops(&datagram) {
                continue;
            }
            self.in_flight.push_back((now + ONE_WAY, to, datagram));
        }
    }

    /// Counts the datagram's DATA chunks as transmitted and asks the rule whether to drop it.
    fn drops(&mut self, datagram: &[u8]) -> bool {
        let chunks: Vec<DataChunk> = data_tsns(datagram)
            .map(|tsn| {
                let index = tsn.wrapping_sub(*self.first_tsn.get_or_insert(tsn));
                let before = self.transmissions.entry(index).or_default();
                let chunk = DataChunk { index, transmission: *before };
                *before += 1;
                chunk
            })
            .collect();
        self.retransmissions += chunks.iter().filter(|c| c.transmission > 0).count() as u32;
        let lost = chunks.iter().any(|&c| (self.drop_rule)(c));
        if lost {
            self.dropped.extend(chunks.iter().map(|c| (c.index, self.now)));
        }
        lost
    }

    fn note_arrival(&mut self, datagram: &[u8]) {
        let Some(first) = self.first_tsn else { return };
        for tsn in data_tsns(datagram) {
            self.arrived.entry(tsn.wrapping_sub(first)).or_insert(self.now);
        }
    }

    /// Reads everything the server's stream has reassembled, as an application draining a data channel does.
    fn read(&mut self) {
        let Some((_, association)) = self.server.association.as_mut() else { return };
        if let Some(stream) = association.accept_stream() {
            assert_eq!(stream.stream_identifier(), 0);
        }
        let Ok(mut stream) = association.stream(0) else { return };
        while let Some(message) = stream.read_sctp().expect("stream 0 stays open") {
            self.received.extend_from_slice(&message.to_payload(usize::MAX).expect("no size limit"));
        }
    }
}

/// The TSNs of the DATA chunks in an SCTP packet (RFC 9260 sections 3 and 3.3.1): a 12-byte common header, then
/// chunks of type, flags, length (without the padding to 4 bytes) and value; a DATA chunk (type 0) starts with its
/// TSN.
fn data_tsns(packet: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut at = 12;
    std::iter::from_fn(move || {
        while let Some(header) = packet.get(at..at + 8) {
            // A length under 4 is malformed; stepping 4 keeps the walk moving.
            at += usize::from(u16::from_be_bytes([header[2], header[3]])).max(4).next_multiple_of(4);
            if header[0] == 0 {
                return Some(u32::from_be_bytes([header[4], header[5], header[6], header[7]]));
            }
        }
        None
    })
}
