//! One task per remote peer: owns its RTCPeerConnection, runs the offer/answer exchange through the signaling
//! server, and starts a [`crate::channel`] task for every data channel, created here or by the remote side.
//!
//! Offers and answers are sent once ICE gathering completes (or after [`RtcSettings::gather_timeout`]), with the
//! candidates inside the SDP, so this peer sends no trickle candidates; candidates the remote side trickles are
//! added as they come.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use swarm::signal::{PeerId, PeerRequest, SignalPayload};
use tokio::sync::{Notify, mpsc};
use webrtc::data_channel::{DataChannel, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidateInit, RTCIceGatheringState, RTCPeerConnectionState,
    RTCSessionDescription,
};

use crate::channel;
use crate::event::NodeEvent;
use crate::transport::{RtcSettings, build_peer_connection};

/// Capacity of a peer task's command queue. The node never waits on it: a command that does not fit is dropped
/// (a remote peer flooding candidates loses the excess, nothing else).
pub const PEER_COMMANDS: usize = 64;
/// Remote candidates kept while the remote description is not set yet.
const MAX_EARLY_CANDIDATES: usize = 32;
/// A connection not established by then is given up (a peer that vanished mid-negotiation must not hold one of
/// the node's bounded peer slots forever).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the node asks of a peer task.
#[derive(Debug)]
pub enum PeerCommand {
    /// A payload the remote peer sent through the signaling server.
    Signal(SignalPayload),
    /// Open a data channel for this content (label: the content id's text form).
    OpenChannel(String),
}

/// Which side of the offer/answer exchange this peer is.
#[derive(Debug, Clone)]
pub enum Role {
    /// This peer joined after the remote one: it offers, with data channels for these labels.
    Offerer(Vec<String>),
    /// The remote peer offers; channels arrive through `on_data_channel`.
    Answerer,
}

/// Everything a peer task needs from the node.
#[derive(Debug, Clone)]
pub struct PeerContext {
    pub settings: RtcSettings,
    pub node: mpsc::Sender<NodeEvent>,
    pub signaling: mpsc::Sender<PeerRequest>,
}

/// Starts a task for `peer`; the returned sender is its command queue. The task ends when the connection fails
/// or closes, or when the sender is dropped, and then reports [`NodeEvent::PeerGone`].
///
/// `polite` settles offer collisions as the W3C "perfect negotiation" pattern does, with the browser peer's rule
/// (the peer whose id sorts first is polite): a polite peer rolls its own offer back and answers the remote one,
/// an impolite peer ignores the remote offer and waits for the answer to its own.
pub fn spawn(peer: PeerId, generation: u64, role: Role, polite: bool, ctx: PeerContext) -> mpsc::Sender<PeerCommand> {
    let (tx, rx) = mpsc::channel(PEER_COMMANDS);
    tokio::spawn(async move {
        if let Err(e) = run(peer.clone(), role, polite, rx, &ctx).await {
            tracing::debug!(peer = %peer.0, "peer connection ended: {e:#}");
        }
        let _ = ctx.node.send(NodeEvent::PeerGone { peer, generation }).await;
    });
    tx
}

struct Handler {
    peer: PeerId,
    node: mpsc::Sender<NodeEvent>,
    gathered: Arc<Notify>,
    failed: Arc<Notify>,
    connected: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.notify_one();
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(peer = %self.peer.0, %state, "connection state");
        if state == RTCPeerConnectionState::Connected {
            self.connected.store(true, Ordering::Release);
        }
        if matches!(state, RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed) {
            self.failed.notify_one();
        }
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        // Spawned: returning promptly is what lets the connection's driver go on.
        channel::spawn(dc, self.peer.clone(), false, self.node.clone());
    }
}

async fn run(
    peer: PeerId,
    role: Role,
    polite: bool,
    mut commands: mpsc::Receiver<PeerCommand>,
    ctx: &PeerContext,
) -> anyhow::Result<()> {
    let gathered = Arc::new(Notify::new());
    let failed = Arc::new(Notify::new());
    let connected = Arc::new(AtomicBool::new(false));
    let handler = Arc::new(Handler {
        peer: peer.clone(),
        node: ctx.node.clone(),
        gathered: gathered.clone(),
        failed: failed.clone(),
        connected: connected.clone(),
    });
    let pc = build_peer_connection(&ctx.settings, handler).await?;
    let links = Links { gathered: &gathered, failed: &failed, connected: &connected };
    let result = drive(&peer, role, polite, &mut commands, ctx, &pc, links).await;
    if let Err(e) = pc.close().await {
        tracing::debug!(peer = %peer.0, "close: {e}");
    }
    result
}

/// What the connection's event handler reports to the task.
struct Links<'a> {
    gathered: &'a Notify,
    failed: &'a Notify,
    connected: &'a AtomicBool,
}

async fn drive(
    peer: &PeerId,
    role: Role,
    polite: bool,
    commands: &mut mpsc::Receiver<PeerCommand>,
    ctx: &PeerContext,
    pc: &Arc<dyn PeerConnection>,
    links: Links<'_>,
) -> anyhow::Result<()> {
    let Links { gathered, failed, connected } = links;
    let give_up = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    let mut have_remote = false;
    // Our offer is out and its answer has not come back.
    let mut offering = false;
    let mut early_candidates: Vec<RTCIceCandidateInit> = Vec::new();
    if let Role::Offerer(labels) = role {
        for label in labels {
            open_channel(pc, &label, peer, ctx).await?;
        }
        let offer = pc.create_offer(None).await?;
        pc.set_local_description(offer).await?;
        let sdp = gathered_sdp(pc, gathered, ctx).await?;
        send_signal(ctx, peer, SignalPayload::Offer { sdp }).await?;
        offering = true;
    }
    loop {
        let command = tokio::select! {
            command = commands.recv() => command,
            () = failed.notified() => anyhow::bail!("connection failed or closed"),
            () = tokio::time::sleep_until(give_up), if !connected.load(Ordering::Acquire) => {
                anyhow::bail!("not connected within {CONNECT_TIMEOUT:?}")
            }
        };
        let Some(command) = command else { return Ok(()) };
        match command {
            PeerCommand::OpenChannel(label) => open_channel(pc, &label, peer, ctx).await?,
            PeerCommand::Signal(SignalPayload::Offer { sdp }) => {
                if offering {
                    if !polite {
                        tracing::debug!(peer = %peer.0, "offer collision: ignoring the remote offer");
                        continue;
                    }
                    pc.set_local_description(RTCSessionDescription::rollback(None)?).await?;
                    offering = false;
                }
                pc.set_remote_description(RTCSessionDescription::offer(sdp)?).await?;
                have_remote = true;
                add_candidates(pc, &mut early_candidates).await;
                let answer = pc.create_answer(None).await?;
                pc.set_local_description(answer).await?;
                let sdp = gathered_sdp(pc, gathered, ctx).await?;
                send_signal(ctx, peer, SignalPayload::Answer { sdp }).await?;
            }
            PeerCommand::Signal(SignalPayload::Answer { sdp }) => {
                if !offering {
                    // An answer to an offer we rolled back, or never made.
                    continue;
                }
                offering = false;
                pc.set_remote_description(RTCSessionDescription::answer(sdp)?).await?;
                have_remote = true;
                add_candidates(pc, &mut early_candidates).await;
            }
            PeerCommand::Signal(SignalPayload::Candidate { candidate, sdp_mid, sdp_m_line_index }) => {
                let init =
                    RTCIceCandidateInit { candidate, sdp_mid, sdp_mline_index: sdp_m_line_index, ..Default::default() };
                if have_remote {
                    add_candidates(pc, &mut vec![init]).await;
                } else if early_candidates.len() < MAX_EARLY_CANDIDATES {
                    early_candidates.push(init);
                }
            }
        }
    }
}

async fn open_channel(
    pc: &Arc<dyn PeerConnection>,
    label: &str,
    peer: &PeerId,
    ctx: &PeerContext,
) -> anyhow::Result<()> {
    // Reliable and ordered: the wire protocol relies on both.
    let init = RTCDataChannelInit { ordered: true, ..Default::default() };
    let dc = pc.create_data_channel(label, Some(init)).await?;
    channel::spawn(dc, peer.clone(), true, ctx.node.clone());
    Ok(())
}

/// Waits for ICE gathering (bounded by the settings' timeout) and returns the local SDP with its candidates.
async fn gathered_sdp(pc: &Arc<dyn PeerConnection>, gathered: &Notify, ctx: &PeerContext) -> anyhow::Result<String> {
    // A timeout is not an error: the SDP then carries the candidates gathered so far.
    let _ = tokio::time::timeout(ctx.settings.gather_timeout, gathered.notified()).await;
    let desc = pc.local_description().await.ok_or_else(|| anyhow::anyhow!("no local description"))?;
    Ok(desc.sdp)
}

async fn add_candidates(pc: &Arc<dyn PeerConnection>, candidates: &mut Vec<RTCIceCandidateInit>) {
    for c in candidates.drain(..) {
        // A bad candidate from the remote side costs only that candidate.
        if let Err(e) = pc.add_ice_candidate(c).await {
            tracing::debug!("remote candidate rejected: {e}");
        }
    }
}

async fn send_signal(ctx: &PeerContext, to: &PeerId, payload: SignalPayload) -> anyhow::Result<()> {
    ctx.signaling
        .send(PeerRequest::Signal { to: to.clone(), payload })
        .await
        .map_err(|_| anyhow::anyhow!("signaling client is gone"))
}
