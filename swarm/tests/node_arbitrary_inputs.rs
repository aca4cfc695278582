//! Any sequence of remote inputs, in any order, at any times: a node never panics and its tables stay within
//! their limits. The remote side is a small set of peer ids so that inputs collide (offers for peers that exist,
//! answers with no offer, messages on channels that closed).

use proptest::prelude::*;
use swarm::ConnId;
use swarm::id::ContentId;
use swarm::node::{Config, Input, Node};
use swarm::proof::SwarmKey;
use swarm::signal::{ErrorCode, PeerId, ServerEvent, SignalPayload, SwarmName};
use swarm::sim::make_file;
use swarm::time::Instant;

#[derive(Debug, Clone)]
enum Step {
    Frame(Frame),
    RawFrame(String),
    Accept {
        peer: u8,
        label: u8,
    },
    /// A channel opened, on a connection that carries messages of this size.
    Opened(u8, u32),
    Message {
        conn: u8,
        bytes: Vec<u8>,
    },
    Closed(u8),
    PeerConnected(u8),
    PeerClosed(u8),
    SignalingClosed,
    Wait(u16),
}

#[derive(Debug, Clone)]
enum Frame {
    Welcome(u8),
    Joined { network: bool, peers: Vec<u8> },
    Offer(u8),
    Answer(u8),
    Candidate(u8),
    Left(u8),
    Error,
}

fn peer(i: u8) -> PeerId {
    PeerId(format!("p{}", i % 6))
}

fn step() -> impl Strategy<Value = Step> {
    let frame = prop_oneof![
        any::<u8>().prop_map(Frame::Welcome),
        (any::<bool>(), prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(network, peers)| Frame::Joined { network, peers }),
        any::<u8>().prop_map(Frame::Offer),
        any::<u8>().prop_map(Frame::Answer),
        any::<u8>().prop_map(Frame::Candidate),
        any::<u8>().prop_map(Frame::Left),
        Just(Frame::Error),
    ];
    prop_oneof![
        4 => frame.prop_map(Step::Frame),
        1 => ".{0,40}".prop_map(Step::RawFrame),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(peer, label)| Step::Accept { peer, label }),
        2 => (any::<u8>(), prop_oneof![Just(swarm::wire::MAX_MESSAGE_LEN as u32), 0..70_000u32, any::<u32>()])
            .prop_map(|(c, m)| Step::Opened(c, m)),
        3 => (any::<u8>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(conn, bytes)| Step::Message { conn, bytes }),
        1 => any::<u8>().prop_map(Step::Closed),
        1 => any::<u8>().prop_map(Step::PeerConnected),
        1 => any::<u8>().prop_map(Step::PeerClosed),
        1 => Just(Step::SignalingClosed),
        2 => any::<u16>().prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_input_sequence_panics_or_grows_the_tables(steps in prop::collection::vec(step(), 1..200)) {
        let config = Config::default();
        let mut node = Node::new(config.clone(), 1, Instant::ZERO);
        let (_, manifest) = make_file(64 * 1024, 1);
        let content = manifest.content_id();
        node.share(Instant::ZERO, manifest).unwrap();
        let swarm = SwarmName::parse(&SwarmKey::of(&content).to_string()).unwrap();
        let net = SwarmName::parse(&config.network.swarm()).unwrap();
        let labels = [
            SwarmKey::of(&content).to_string(),
            "discovery".into(),
            SwarmKey::of(&ContentId([1; 32])).to_string(),
            content.to_string(),
            "x".into(),
        ];
        let mut now = Instant::ZERO;
        for step in steps {
            match step {
                Step::Frame(f) => {
                    let event = match f {
                        Frame::Welcome(i) => ServerEvent::Welcome { peer_id: PeerId(format!("m{}", i % 3)), ice_servers: vec![] },
                        Frame::Joined { network, peers } => ServerEvent::Joined {
                            swarm: if network { net.clone() } else { swarm.clone() },
                            peers: peers.into_iter().map(peer).collect(),
                        },
                        Frame::Offer(i) => ServerEvent::Signal { from: peer(i), payload: SignalPayload::Offer { sdp: "o".into() } },
                        Frame::Answer(i) => ServerEvent::Signal { from: peer(i), payload: SignalPayload::Answer { sdp: "a".into() } },
                        Frame::Candidate(i) => ServerEvent::Signal {
                            from: peer(i),
                            payload: SignalPayload::Candidate { candidate: "c".into(), sdp_mid: None, sdp_m_line_index: None },
                        },
                        Frame::Left(i) => ServerEvent::PeerLeft { swarm: swarm.clone(), peer: peer(i) },
                        Frame::Error => ServerEvent::Error { code: ErrorCode::PeerBusy, message: "busy".into() },
                    };
                    node.handle_input(now, Input::ServerFrame(&serde_json::to_string(&event).unwrap()));
                }
                Step::RawFrame(text) => node.handle_input(now, Input::ServerFrame(&text)),
                Step::Accept { peer: p, label } => {
                    let _ = node.accept_channel(now, &peer(p), &labels[usize::from(label) % labels.len()]);
                }
                Step::Opened(c, max_message) => {
                    node.handle_input(now, Input::ChannelOpened { conn: ConnId(u64::from(c % 16)), max_message })
                }
                Step::Message { conn, bytes } => {
                    node.handle_input(now, Input::ChannelMessage { conn: ConnId(u64::from(conn % 16)), bytes: &bytes });
                }
                Step::Closed(c) => node.handle_input(now, Input::ChannelClosed { conn: ConnId(u64::from(c % 16)) }),
                Step::PeerConnected(i) => node.handle_input(now, Input::PeerConnected { peer: peer(i) }),
                Step::PeerClosed(i) => node.handle_input(now, Input::PeerClosed { peer: peer(i) }),
                Step::SignalingClosed => node.handle_input(now, Input::SignalingClosed),
                Step::Wait(ms) => {
                    now = now + core::time::Duration::from_millis(u64::from(ms) * 10);
                    node.handle_timeout(now);
                }
            }
            while node.poll_output().is_some() {}
            prop_assert!(node.peer_count() <= 6);
            // At most one channel per topic per peer: a content, discovery.
            prop_assert!(node.channel_count() <= 2 * node.peer_count(), "{} channels, {} peers", node.channel_count(), node.peer_count());
            prop_assert!(node.poll_timeout().is_some(), "a node always has a timer (the server link)");
        }
    }
}
