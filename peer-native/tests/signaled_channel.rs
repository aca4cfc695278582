//! Two native peers find each other through the real signaling server and open a data channel labelled with the
//! content id, the joiner offering; both channels open knowing the message size the connection carries (the
//! smaller of the two sides' limits), and a message sent on it arrives on the other side. No node involved: this is the
//! transport the node stands on (signaling socket, peer task, channel task), driven by hand here as the node would
//! drive it. The sender closes the channel right after sending, as a node does after a goodbye: the message still
//! arrives.

// Helpers outside #[test] functions panic on a failed setup step, as the tests do.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Server;
use peer_native::channel;
use peer_native::event::{NODE_QUEUE, NodeEvent, PeerEvent};
use peer_native::out_queue;
use peer_native::peer::{self, PeerCommand};
use peer_native::signaling::{self, Socket};
use peer_native::transport::RtcSettings;
use swarm::ConnId;
use swarm::node::SdpKind;
use swarm::signal::{PeerId, PeerRequest, ServerEvent, SignalPayload, SwarmName};
use tokio::sync::mpsc;

const LABEL: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

struct Side {
    events: mpsc::Receiver<NodeEvent>,
    node: mpsc::Sender<NodeEvent>,
    socket: Socket,
    id: PeerId,
}

impl Side {
    fn request(&self, request: PeerRequest) {
        self.socket.send(request.to_json()).unwrap();
    }

    /// The next event; server frames parsed.
    async fn next(&mut self) -> Next {
        match self.events.recv().await.unwrap() {
            NodeEvent::ServerFrame { text, .. } => Next::Server(ServerEvent::parse(&text).unwrap()),
            other => Next::Task(other),
        }
    }
}

enum Next {
    Server(ServerEvent),
    Task(NodeEvent),
}

/// The member takes messages of at most 64 KiB; the joiner the default 256 KiB. Each side's channel reports
/// what the connection carries: the smaller.
const MEMBER_MAX_MESSAGE: u32 = 65_536;

fn member_settings() -> RtcSettings {
    RtcSettings { max_message: MEMBER_MAX_MESSAGE, ..settings() }
}

fn settings() -> RtcSettings {
    RtcSettings { udp_bind: vec!["127.0.0.1:0".to_owned()], ..RtcSettings::default() }
}

async fn connect(server: &Server) -> Side {
    let (node, events) = mpsc::channel(NODE_QUEUE);
    let socket =
        signaling::connect(server.url.clone(), peer_native::tls::client_config(None).unwrap(), 1, node.clone());
    let mut side = Side { events, node, socket, id: PeerId(String::new()) };
    loop {
        if let Next::Server(ServerEvent::Welcome { peer_id, .. }) = side.next().await {
            side.id = peer_id;
            return side;
        }
    }
}

async fn join(side: &mut Side) -> Vec<PeerId> {
    side.request(PeerRequest::Join { swarm: SwarmName::parse(LABEL).unwrap() });
    loop {
        if let Next::Server(ServerEvent::Joined { peers, .. }) = side.next().await {
            return peers;
        }
    }
}

/// What the node would ask of a peer task for a payload from the remote side.
fn command(payload: SignalPayload) -> PeerCommand {
    match payload {
        SignalPayload::Offer { sdp } => PeerCommand::AcceptOffer { sdp, rollback: false },
        SignalPayload::Answer { sdp } => PeerCommand::AcceptAnswer { sdp },
        SignalPayload::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
            PeerCommand::candidate(candidate, sdp_mid, sdp_m_line_index)
        }
    }
}

fn signal(to: &PeerId, kind: SdpKind, sdp: String) -> PeerRequest {
    let payload = match kind {
        SdpKind::Offer => SignalPayload::Offer { sdp },
        SdpKind::Answer => SignalPayload::Answer { sdp },
    };
    PeerRequest::Signal { to: to.clone(), payload }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joiner_offers_a_labelled_channel_whose_last_message_arrives_before_it_closes() {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).try_init();
    tokio::time::timeout(Duration::from_secs(60), async {
        let server = Server::start().await;
        let mut member = connect(&server).await;
        let mut joiner = connect(&server).await;
        assert!(join(&mut member).await.is_empty());
        assert_eq!(join(&mut joiner).await, vec![member.id.clone()]);

        // The joiner opens its channel, then offers.
        let to_member = peer::spawn(member.id.clone(), 1, settings(), joiner.node.clone());
        let (joiner_out, queue) = out_queue::channel();
        let joiner_conn = ConnId(1);
        to_member
            .commands
            .send(PeerCommand::OpenChannel { conn: joiner_conn, label: LABEL.to_owned(), queue })
            .await
            .unwrap();
        to_member.commands.send(PeerCommand::MakeOffer).await.unwrap();
        let mut to_joiner = None;
        let member_conn = ConnId(2);
        let mut member_out = None;
        let (mut joiner_open, mut member_open) = (false, false);
        // Route descriptions both ways until each side has its channel open.
        while !joiner_open || !member_open {
            tokio::select! {
                next = member.next() => match next {
                    Next::Server(ServerEvent::Signal { from, payload }) => {
                        assert_eq!(from, joiner.id);
                        let tx = to_joiner.get_or_insert_with(|| peer::spawn(from, 1, member_settings(), member.node.clone()));
                        tx.commands.send(command(payload)).await.unwrap();
                    }
                    Next::Task(NodeEvent::Peer { event: PeerEvent::LocalDescription { kind, sdp }, .. }) => {
                        assert_eq!(kind, SdpKind::Answer);
                        member.request(signal(&joiner.id, kind, sdp));
                    }
                    Next::Task(NodeEvent::Peer { event: PeerEvent::RemoteChannel { label, dc, link }, .. }) => {
                        // The member did not create the channel: it came from the remote side.
                        assert_eq!(label, LABEL);
                        let (out, queue) = out_queue::channel();
                        channel::spawn(dc, link, member_conn, queue, member.node.clone());
                        member_out = Some(out);
                    }
                    Next::Task(NodeEvent::ChannelOpened { conn, max_message }) => {
                        assert_eq!(conn, member_conn);
                        assert_eq!(max_message, MEMBER_MAX_MESSAGE, "the member's own limit");
                        member_open = true;
                    }
                    _ => {}
                },
                next = joiner.next() => match next {
                    Next::Server(ServerEvent::Signal { payload, .. }) => {
                        to_member.commands.send(command(payload)).await.unwrap();
                    }
                    Next::Task(NodeEvent::Peer { event: PeerEvent::LocalDescription { kind, sdp }, .. }) => {
                        assert_eq!(kind, SdpKind::Offer);
                        joiner.request(signal(&member.id, kind, sdp));
                    }
                    Next::Task(NodeEvent::ChannelOpened { conn, max_message }) => {
                        assert_eq!(conn, joiner_conn, "the joiner's own channel opened");
                        assert_eq!(max_message, MEMBER_MAX_MESSAGE, "the member's advertised limit");
                        joiner_open = true;
                    }
                    _ => {}
                },
            }
        }
        joiner_out.try_send(b"hello".to_vec()).unwrap();
        // Dropping the queue closes the channel: what was queued before must still arrive (a goodbye would).
        drop(joiner_out);
        loop {
            if let Next::Task(NodeEvent::ChannelMessage { conn, bytes }) = member.next().await {
                assert_eq!(conn, member_conn);
                assert_eq!(&bytes[..], b"hello");
                break;
            }
        }
        drop(member_out);
    })
    .await
    .expect("timed out");
}
