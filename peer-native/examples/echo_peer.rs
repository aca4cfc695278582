//! Interop probe: joins one swarm through the signaling server, answers every offer with `swarm-peer`'s own
//! transport (signaling socket, peer and channel tasks, same settings) and echoes every data-channel message back.
//! Lets a browser check the WebRTC path to the native peer without the swarm protocol (and without the node: the
//! probe routes the few signaling messages itself):
//!
//!     cargo run -p peer-native --example echo_peer -- ws://127.0.0.1:8080/ws <swarm name>
//!
//! Prints `ready` on stdout once joined.

use std::collections::HashMap;

use peer_native::event::{NODE_QUEUE, NodeEvent, PeerEvent};
use peer_native::out_queue::{self, OutSender};
use peer_native::peer::{self, PeerCommand, PeerHandle};
use peer_native::transport::RtcSettings;
use peer_native::{channel, signaling};
use swarm::ConnId;
use swarm::node::SdpKind;
use swarm::signal::{PeerId, PeerRequest, ServerEvent, SignalPayload, SwarmName};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| anyhow::anyhow!("usage: echo_peer WS_URL SWARM"))?;
    let swarm = SwarmName::parse(&args.next().ok_or_else(|| anyhow::anyhow!("usage: echo_peer WS_URL SWARM"))?)
        .map_err(anyhow::Error::msg)?;
    let (node, mut events) = mpsc::channel(NODE_QUEUE);
    let socket = signaling::connect(url, peer_native::tls::client_config(None)?, 1, node.clone());
    let mut peers: HashMap<PeerId, PeerHandle> = HashMap::new();
    let mut outs: HashMap<ConnId, OutSender> = HashMap::new();
    // Peer generations and channel ids alike.
    let mut next_id = 0;
    while let Some(event) = events.recv().await {
        match event {
            NodeEvent::ServerFrame { text, .. } => match ServerEvent::parse(&text) {
                Ok(ServerEvent::Welcome { .. }) => {
                    socket.send(PeerRequest::Join { swarm: swarm.clone() }.to_json()).map_err(|_| stuck())?;
                }
                Ok(ServerEvent::Joined { .. }) => println!("ready"),
                Ok(ServerEvent::Signal { from, payload }) => {
                    let handle = peers.entry(from.clone()).or_insert_with(|| {
                        next_id += 1;
                        peer::spawn(from, next_id, RtcSettings::default(), node.clone())
                    });
                    let _ = handle.commands.try_send(answer(payload));
                }
                Ok(_) => {}
                Err(e) => eprintln!("frame ignored: {e}"),
            },
            NodeEvent::SignalingUntrusted { why, .. } => anyhow::bail!("signaling server not trusted: {why}"),
            NodeEvent::SignalingClosed { .. } => anyhow::bail!("signaling connection closed"),
            NodeEvent::Peer { peer, event, .. } => match event {
                PeerEvent::LocalDescription { kind: SdpKind::Answer, sdp } => {
                    let request = PeerRequest::Signal { to: peer, payload: SignalPayload::Answer { sdp } };
                    socket.send(request.to_json()).map_err(|_| stuck())?;
                }
                PeerEvent::RemoteChannel { label, dc, link } => {
                    eprintln!("channel {label}");
                    next_id += 1;
                    let (out, queue) = out_queue::channel();
                    channel::spawn(dc, link, ConnId(next_id), queue, node.clone());
                    outs.insert(ConnId(next_id), out);
                }
                PeerEvent::Closed => {
                    peers.remove(&peer);
                }
                PeerEvent::NegotiationFailed { why } => eprintln!("negotiation failed: {why}"),
                PeerEvent::LocalDescription { .. } | PeerEvent::Connected | PeerEvent::Path(_) => {}
            },
            NodeEvent::ChannelOpened { .. } => eprintln!("channel open"),
            NodeEvent::ChannelMessage { conn, bytes } => {
                eprintln!("message of {} bytes", bytes.len());
                if let Some(out) = outs.get(&conn) {
                    let _ = out.try_send(bytes.to_vec());
                }
            }
            NodeEvent::ChannelClosed { conn } => {
                outs.remove(&conn);
            }
        }
    }
    Ok(())
}

/// The probe only answers: every payload is applied as it comes.
fn answer(payload: SignalPayload) -> PeerCommand {
    match payload {
        SignalPayload::Offer { sdp } => PeerCommand::AcceptOffer { sdp, rollback: false },
        SignalPayload::Answer { sdp } => PeerCommand::AcceptAnswer { sdp },
        SignalPayload::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
            PeerCommand::candidate(candidate, sdp_mid, sdp_m_line_index)
        }
    }
}

fn stuck() -> anyhow::Error {
    anyhow::anyhow!("signaling socket not writing")
}
