//! Two native peers find each other through the real signaling server and open a data channel labelled with the
//! content id, the joiner offering; a message sent on it arrives on the other side. No swarm involved: this is
//! the transport the node stands on (signaling client, peer task, channel task). The sender closes the channel
//! right after sending, as a node does after a goodbye: the message still arrives.

// Helpers outside #[test] functions panic on a failed setup step, as the tests do.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Server;
use peer_native::event::{NODE_QUEUE, NodeEvent};
use peer_native::peer::{self, PeerCommand, PeerContext, Role};
use peer_native::signaling;
use peer_native::transport::RtcSettings;
use swarm::signal::{PeerId, PeerRequest, ServerEvent, SwarmName};
use tokio::sync::mpsc;

const LABEL: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

struct Side {
    events: mpsc::Receiver<NodeEvent>,
    ctx: PeerContext,
    id: PeerId,
}

async fn connect(server: &Server) -> Side {
    let (node_tx, mut events) = mpsc::channel(NODE_QUEUE);
    let (sig_tx, sig_rx) = mpsc::channel(signaling::OUT_QUEUE);
    signaling::spawn(server.url.clone(), node_tx.clone(), sig_rx);
    let id = loop {
        if let NodeEvent::Server(ServerEvent::Welcome { peer_id, .. }) = events.recv().await.unwrap() {
            break peer_id;
        }
    };
    let settings = RtcSettings { udp_bind: vec!["127.0.0.1:0".to_owned()], ..RtcSettings::default() };
    Side { events, ctx: PeerContext { settings, node: node_tx, signaling: sig_tx }, id }
}

async fn join(side: &mut Side) -> Vec<PeerId> {
    let swarm = SwarmName::parse(LABEL).unwrap();
    side.ctx.signaling.send(PeerRequest::Join { swarm }).await.unwrap();
    loop {
        if let NodeEvent::Server(ServerEvent::Joined { peers, .. }) = side.events.recv().await.unwrap() {
            return peers;
        }
    }
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

        let to_member =
            peer::spawn(member.id.clone(), 1, Role::Offerer(vec![LABEL.to_owned()]), false, joiner.ctx.clone());
        let mut to_joiner: Option<mpsc::Sender<PeerCommand>> = None;
        let mut member_out = None;
        let mut joiner_out = None;
        // Route signals both ways until each side has its channel open.
        while member_out.is_none() || joiner_out.is_none() {
            tokio::select! {
                event = member.events.recv() => match event.unwrap() {
                    NodeEvent::Server(ServerEvent::Signal { from, payload }) => {
                        assert_eq!(from, joiner.id);
                        let tx = to_joiner.get_or_insert_with(|| {
                            peer::spawn(from.clone(), 1, Role::Answerer, true, member.ctx.clone())
                        });
                        tx.send(PeerCommand::Signal(payload)).await.unwrap();
                    }
                    NodeEvent::ChannelOpen { label, local, out, .. } => {
                        assert_eq!(label, LABEL);
                        assert!(!local, "the member did not create the channel");
                        member_out = Some(out);
                    }
                    _ => {}
                },
                event = joiner.events.recv() => match event.unwrap() {
                    NodeEvent::Server(ServerEvent::Signal { payload, .. }) => {
                        to_member.send(PeerCommand::Signal(payload)).await.unwrap();
                    }
                    NodeEvent::ChannelOpen { label, local, out, .. } => {
                        assert_eq!(label, LABEL);
                        assert!(local, "the joiner created the channel");
                        joiner_out = Some(out);
                    }
                    _ => {}
                },
            }
        }
        let joiner_out = joiner_out.unwrap();
        joiner_out.try_send(b"hello".to_vec()).unwrap();
        // Dropping the queue closes the channel: what was queued before must still arrive (a goodbye would).
        drop(joiner_out);
        loop {
            if let NodeEvent::ChannelMessage { bytes, .. } = member.events.recv().await.unwrap() {
                assert_eq!(&bytes[..], b"hello");
                break;
            }
        }
        drop(member_out);
    })
    .await
    .expect("timed out");
}
