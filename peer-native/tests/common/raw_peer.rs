//! A hand-made remote peer for attack tests: a raw webrtc-rs peer connection and a bare signaling client, no node.
//! It joins a content's swarm first, lets the peer under test join second (which offers to it), answers that offer,
//! and sends its Handshake with a valid proof (PROTOCOL.md 2.11) on the content's channel; everything after that
//! is the test's to say, byte for byte.
//!
//! Used by `hostile_requester.rs` (it asks a seeder for too much) and `hostile_manifest.rs` (it serves a manifest
//! that breaks a rule).

#[path = "pair.rs"]
#[allow(dead_code)]
mod pair;

use std::sync::Arc;

use bytes::BytesMut;
use peer_native::event::{NODE_QUEUE, NodeEvent};
use peer_native::signaling::{self, Socket};
use swarm::id::ContentId;
use swarm::proof::{Fingerprint, Proof, SwarmKey};
use swarm::signal::{PeerRequest, ServerEvent, SignalPayload, SwarmName};
use swarm::wire::{self, Message};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};

/// The raw peer's connection and its end of the content's channel (kept open until dropped, read only when the
/// test polls `dc`).
pub struct RawPeer {
    _pc: Arc<dyn PeerConnection>,
    pub dc: Arc<dyn DataChannel>,
    _signaling: Socket,
}

impl RawPeer {
    pub async fn send(&self, msg: &Message<'_>) {
        self.dc.send(BytesMut::from(&wire::encode(msg)[..])).await.unwrap();
    }
}

/// Joins `content`'s swarm on the server at `url` first, then calls `start_other` (a peer of the content which,
/// joining second, offers to the raw peer), answers its offer, sends the Handshake and returns the open channel
/// with what `start_other` returned.
pub async fn join_first<T>(url: &str, content: ContentId, start_other: impl FnOnce() -> T) -> (RawPeer, T) {
    let (node_tx, mut events) = mpsc::channel(NODE_QUEUE);
    let socket = signaling::connect(url.to_owned(), peer_native::tls::client_config(None).unwrap(), 1, node_tx);
    let me = loop {
        if let ServerEvent::Welcome { peer_id, .. } = next_server_event(&mut events).await {
            break peer_id;
        }
    };
    let swarm = SwarmName::parse(&SwarmKey::of(&content).to_string()).unwrap();
    socket.send(PeerRequest::Join { swarm }.to_json()).unwrap();
    loop {
        if let ServerEvent::Joined { peers, .. } = next_server_event(&mut events).await {
            assert!(peers.is_empty(), "the raw peer is first in the swarm");
            break;
        }
    }
    let other = start_other();

    let (pc, gathered, mut channels) = pair::peer().await.unwrap();
    let (from, offer) = loop {
        if let ServerEvent::Signal { from, payload: SignalPayload::Offer { sdp } } =
            next_server_event(&mut events).await
        {
            break (from, sdp);
        }
    };
    let theirs = Fingerprint::from_sdp(&offer).unwrap();
    pc.set_remote_description(RTCSessionDescription::offer(offer).unwrap()).await.unwrap();
    let answer = pc.create_answer(None).await.unwrap();
    pc.set_local_description(answer).await.unwrap();
    gathered.notified().await;
    let sdp = pc.local_description().await.unwrap().sdp;
    // The raw peer knows the content: its proof is a valid one (PROTOCOL.md 2.11); its abuse comes after.
    let proof = Proof::new(&content, (&Fingerprint::from_sdp(&sdp).unwrap(), &me), (&theirs, &from)).send;
    socket.send(PeerRequest::Signal { to: from, payload: SignalPayload::Answer { sdp } }.to_json()).unwrap();

    let dc = channels.recv().await.unwrap();
    loop {
        match dc.poll().await {
            Some(DataChannelEvent::OnOpen) => break,
            Some(DataChannelEvent::OnClose) | None => panic!("the other peer's channel closed before it opened"),
            Some(_) => {}
        }
    }
    let raw = RawPeer { _pc: pc, dc, _signaling: socket };
    raw.send(&Message::Handshake { version: wire::VERSION, proof }).await;
    (raw, other)
}

/// The next frame from the signaling server, parsed (the raw peer is a bare client: no node reads them for it).
async fn next_server_event(events: &mut mpsc::Receiver<NodeEvent>) -> ServerEvent {
    loop {
        match events.recv().await.unwrap() {
            NodeEvent::ServerFrame { text, .. } => return ServerEvent::parse(&text).unwrap(),
            NodeEvent::SignalingClosed { .. } => panic!("the raw peer's signaling socket closed"),
            _ => {}
        }
    }
}
