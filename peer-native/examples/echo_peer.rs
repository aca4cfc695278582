//! Interop probe: joins one swarm through the signaling server, answers every offer with `swarm-peer`'s own
//! transport (peer and channel tasks, same settings) and echoes every data-channel message back. Lets a browser
//! check the WebRTC path to the native peer without the swarm protocol:
//!
//!     cargo run -p peer-native --example echo_peer -- ws://127.0.0.1:8080/ws <swarm name>
//!
//! Prints `ready` on stdout once joined.

use std::collections::HashMap;

use peer_native::event::{NODE_QUEUE, NodeEvent};
use peer_native::out_queue::OutSender;
use peer_native::peer::{self, PeerCommand, PeerContext, Role};
use peer_native::signaling;
use peer_native::transport::RtcSettings;
use swarm::ConnId;
use swarm::signal::{PeerRequest, ServerEvent, SwarmName};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| anyhow::anyhow!("usage: echo_peer WS_URL SWARM"))?;
    let swarm = SwarmName::parse(&args.next().ok_or_else(|| anyhow::anyhow!("usage: echo_peer WS_URL SWARM"))?)
        .map_err(anyhow::Error::msg)?;
    let (node_tx, mut events) = mpsc::channel(NODE_QUEUE);
    let (sig_tx, sig_rx) = mpsc::channel(signaling::OUT_QUEUE);
    signaling::spawn(url, node_tx.clone(), sig_rx);
    let ctx = PeerContext { settings: RtcSettings::default(), node: node_tx, signaling: sig_tx.clone() };
    let mut me = None;
    let mut peers = HashMap::new();
    let mut outs: HashMap<ConnId, OutSender> = HashMap::new();
    let mut generation = 0;
    while let Some(event) = events.recv().await {
        match event {
            NodeEvent::Server(ServerEvent::Welcome { peer_id, .. }) => {
                me = Some(peer_id);
                sig_tx.send(PeerRequest::Join { swarm: swarm.clone() }).await?;
            }
            NodeEvent::Server(ServerEvent::Joined { .. }) => println!("ready"),
            NodeEvent::Server(ServerEvent::Signal { from, payload }) => {
                let commands = peers.entry(from.clone()).or_insert_with(|| {
                    generation += 1;
                    let polite = me.as_ref().is_some_and(|m| *m < from);
                    peer::spawn(from.clone(), generation, Role::Answerer, polite, ctx.clone())
                });
                let _ = commands.try_send(PeerCommand::Signal(payload));
            }
            NodeEvent::ChannelOpen { conn, label, out, .. } => {
                eprintln!("channel {label} open");
                outs.insert(conn, out);
            }
            NodeEvent::ChannelMessage { conn, bytes } => {
                eprintln!("message of {} bytes", bytes.len());
                if let Some(out) = outs.get(&conn) {
                    let _ = out.try_send(bytes.to_vec());
                }
            }
            NodeEvent::ChannelClosed { conn } => {
                outs.remove(&conn);
            }
            NodeEvent::PeerGone { peer, .. } => {
                peers.remove(&peer);
            }
            _ => {}
        }
    }
    Ok(())
}
