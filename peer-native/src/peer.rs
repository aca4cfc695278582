//! One task per remote peer: owns its RTCPeerConnection and executes, in order, what the node asks of it
//! (`swarm::node::Output::{MakeOffer, AcceptOffer, AcceptAnswer, AddCandidate, OpenChannel}`), reporting back as
//! [`PeerEvent`]s. Which side offers, who is polite, what a collision means: all that is the node's.
//!
//! Offers and answers are reported once ICE gathering completes (or after [`RtcSettings::gather_timeout`]), with
//! the candidates inside the SDP, so this peer trickles no candidates; candidates the remote side trickles are
//! added as they come, and kept until the remote description is set (webrtc-rs refuses them before).

use std::sync::Arc;
use std::time::Duration;

use swarm::ConnId;
use swarm::node::{PATH_RECHECK_FIRST, PATH_RECHECK_MAX, SdpKind};
use swarm::signal::PeerId;
use tokio::sync::{Notify, mpsc, watch};
use webrtc::data_channel::{DataChannel, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidateInit, RTCIceGatheringState, RTCPeerConnectionState,
    RTCSdpType, RTCSessionDescription,
};

use crate::channel;
use crate::event::{NodeEvent, PeerEvent};
use crate::out_queue::OutReceiver;
use crate::transport::{ConnectionRef, RtcSettings, build_peer_connection};

/// Capacity of a peer task's command queue. The run loop never waits on it: a command that does not fit is
/// dropped (a remote peer flooding candidates loses the excess; the node's own rate limits make that rare).
pub const PEER_COMMANDS: usize = 64;
/// Remote candidates kept while the remote description is not set yet.
const MAX_EARLY_CANDIDATES: usize = 32;

/// What the run loop asks of a peer task.
#[derive(Debug)]
pub enum PeerCommand {
    /// Make an offer (covering the channels opened before it) and report it.
    MakeOffer,
    /// Apply a remote offer, rolling this side's own back first when asked (or when one is pending), and report
    /// the answer.
    AcceptOffer {
        sdp: String,
        rollback: bool,
    },
    AcceptAnswer {
        sdp: String,
    },
    AddCandidate(RTCIceCandidateInit),
    /// Open a reliable, ordered data channel and run its task under `conn`, sending what `queue` holds.
    OpenChannel {
        conn: ConnId,
        label: String,
        queue: OutReceiver,
    },
}

impl PeerCommand {
    /// A candidate the remote side trickled, as the node relays it.
    pub fn candidate(candidate: String, sdp_mid: Option<String>, sdp_m_line_index: Option<u16>) -> PeerCommand {
        let init = RTCIceCandidateInit { candidate, sdp_mid, sdp_mline_index: sdp_m_line_index, ..Default::default() };
        PeerCommand::AddCandidate(init)
    }
}

/// A peer task, as the run loop holds it: dropping it closes the connection (and its channels).
#[derive(Debug)]
pub struct PeerHandle {
    pub generation: u64,
    pub commands: mpsc::Sender<PeerCommand>,
}

/// Starts the task for `peer`. It reports [`PeerEvent`]s tagged with `generation` until the connection fails or
/// closes (reported as [`PeerEvent::Closed`]) or the handle is dropped (not reported: the caller asked).
pub fn spawn(peer: PeerId, generation: u64, settings: RtcSettings, node: mpsc::Sender<NodeEvent>) -> PeerHandle {
    let (commands, rx) = mpsc::channel(PEER_COMMANDS);
    tokio::spawn(run(Reporter { peer, generation, node }, settings, rx));
    PeerHandle { generation, commands }
}

/// Sends one peer's reports to the run loop.
#[derive(Clone)]
struct Reporter {
    peer: PeerId,
    generation: u64,
    node: mpsc::Sender<NodeEvent>,
}

impl Reporter {
    /// `false` once the run loop is gone.
    async fn report(&self, event: PeerEvent) -> bool {
        let event = NodeEvent::Peer { peer: self.peer.clone(), generation: self.generation, event };
        self.node.send(event).await.is_ok()
    }
}

struct Handler {
    reporter: Reporter,
    /// This connection, for the channels the remote side opens.
    link: ConnectionRef,
    /// Whether ICE gathering is complete (it can start again on a later negotiation).
    gathered: watch::Sender<bool>,
    connected: Arc<Notify>,
    failed: Arc<Notify>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.gathered.send_replace(state == RTCIceGatheringState::Complete);
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(peer = %self.reporter.peer.0, %state, "connection state");
        match state {
            RTCPeerConnectionState::Connected => self.connected.notify_one(),
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => self.failed.notify_one(),
            _ => {}
        }
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        // Spawned: returning promptly is what lets the connection's driver go on.
        let reporter = self.reporter.clone();
        let link = self.link.clone();
        tokio::spawn(async move {
            let Ok(label) = dc.label().await else { return };
            reporter.report(PeerEvent::RemoteChannel { label, dc, link }).await;
        });
    }
}

async fn run(reporter: Reporter, settings: RtcSettings, mut commands: mpsc::Receiver<PeerCommand>) {
    let (gathered, gathered_rx) = watch::channel(false);
    let connected = Arc::new(Notify::new());
    let failed = Arc::new(Notify::new());
    let link = ConnectionRef::default();
    let handler = Arc::new(Handler {
        reporter: reporter.clone(),
        link: link.clone(),
        gathered,
        connected: connected.clone(),
        failed: failed.clone(),
    });
    let pc = match build_peer_connection(&settings, handler).await {
        Ok(pc) => pc,
        Err(e) => {
            reporter.report(PeerEvent::NegotiationFailed { why: format!("{e:#}") }).await;
            return;
        }
    };
    link.set(&pc);
    let mut peer = Peer { pc, link, reporter, settings, gathered: gathered_rx, have_remote: false, early: Vec::new() };
    let mut reported_connected = false;
    // ICE may move a connection to another pair after it connected (a browser that nominated a relayed pair because
    // its direct check was answered late nominates the direct one once it works): the path is looked at again
    // after 1, 2, 4 ... s, then every `PATH_RECHECK_MAX`, and a change is logged and reported.
    let mut path_shown: Option<crate::path::Path> = None;
    let mut recheck_in = PATH_RECHECK_FIRST;
    let recheck = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(recheck);
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => {
                    if let Err(e) = peer.execute(command).await {
                        tracing::debug!(peer = %peer.reporter.peer.0, "negotiation failed: {e:#}");
                        if !peer.reporter.report(PeerEvent::NegotiationFailed { why: format!("{e:#}") }).await {
                            break;
                        }
                    }
                }
                // The run loop closed the connection.
                None => break,
            },
            () = connected.notified(), if !reported_connected => {
                reported_connected = true;
                if !peer.reporter.report(PeerEvent::Connected).await {
                    break;
                }
                // Which path ICE chose: logged (`RUST_LOG=peer_native::peer=info`) and counted in the progress line.
                let path = crate::path::selected(&peer.pc).await;
                let shown = path.as_ref().map_or_else(|| "unknown".to_owned(), ToString::to_string);
                tracing::info!(peer = %peer.reporter.peer.0, path = %shown, "connected");
                recheck.as_mut().reset(tokio::time::Instant::now() + recheck_in);
                if let Some(path) = path {
                    path_shown = Some(path.clone());
                    if !peer.reporter.report(PeerEvent::Path(path)).await {
                        break;
                    }
                }
            }
            () = &mut recheck, if reported_connected => {
                recheck_in = (recheck_in * 2).min(PATH_RECHECK_MAX);
                recheck.as_mut().reset(tokio::time::Instant::now() + recheck_in);
                let Some(path) = crate::path::selected(&peer.pc).await else { continue };
                if path_shown.as_ref() != Some(&path) {
                    tracing::info!(peer = %peer.reporter.peer.0, path = %path, "path changed");
                    path_shown = Some(path.clone());
                    if !peer.reporter.report(PeerEvent::Path(path)).await {
                        break;
                    }
                }
            }
            () = failed.notified() => {
                peer.reporter.report(PeerEvent::Closed).await;
                break;
            }
        }
    }
    if let Err(e) = peer.pc.close().await {
        tracing::debug!(peer = %peer.reporter.peer.0, "close: {e}");
    }
}

/// A peer task's state.
struct Peer {
    pc: Arc<dyn PeerConnection>,
    link: ConnectionRef,
    reporter: Reporter,
    settings: RtcSettings,
    gathered: watch::Receiver<bool>,
    have_remote: bool,
    /// Remote candidates that came before the remote description.
    early: Vec<RTCIceCandidateInit>,
}

impl Peer {
    async fn execute(&mut self, command: PeerCommand) -> anyhow::Result<()> {
        match command {
            PeerCommand::MakeOffer => {
                let offer = self.pc.create_offer(None).await?;
                self.pc.set_local_description(offer).await?;
                let sdp = self.gathered_sdp().await?;
                self.reporter.report(PeerEvent::LocalDescription { kind: SdpKind::Offer, sdp }).await;
            }
            PeerCommand::AcceptOffer { sdp, rollback } => {
                let pending_offer =
                    self.pc.pending_local_description().await.is_some_and(|d| d.sdp_type == RTCSdpType::Offer);
                if rollback || pending_offer {
                    self.pc.set_local_description(RTCSessionDescription::rollback(None)?).await?;
                }
                self.pc.set_remote_description(RTCSessionDescription::offer(sdp)?).await?;
                self.remote_set().await;
                let answer = self.pc.create_answer(None).await?;
                self.pc.set_local_description(answer).await?;
                let sdp = self.gathered_sdp().await?;
                self.reporter.report(PeerEvent::LocalDescription { kind: SdpKind::Answer, sdp }).await;
            }
            PeerCommand::AcceptAnswer { sdp } => {
                self.pc.set_remote_description(RTCSessionDescription::answer(sdp)?).await?;
                self.remote_set().await;
            }
            PeerCommand::AddCandidate(candidate) => {
                if self.have_remote {
                    add_candidate(&self.pc, candidate).await;
                } else if self.early.len() < MAX_EARLY_CANDIDATES {
                    self.early.push(candidate);
                }
            }
            PeerCommand::OpenChannel { conn, label, queue } => {
                // Reliable and ordered: the wire protocol relies on both.
                let init = RTCDataChannelInit { ordered: true, ..Default::default() };
                match self.pc.create_data_channel(&label, Some(init)).await {
                    Ok(dc) => channel::spawn(dc, self.link.clone(), conn, queue, self.reporter.node.clone()),
                    Err(e) => {
                        // A channel that cannot be made is one that closed; the connection may still be fine.
                        tracing::debug!(peer = %self.reporter.peer.0, "data channel {label}: {e}");
                        let _ = self.reporter.node.send(NodeEvent::ChannelClosed { conn }).await;
                    }
                }
            }
        }
        Ok(())
    }

    /// The remote description is set: the candidates that came early can be added now.
    async fn remote_set(&mut self) {
        self.have_remote = true;
        for candidate in std::mem::take(&mut self.early) {
            add_candidate(&self.pc, candidate).await;
        }
    }

    /// Waits for ICE gathering (bounded by the settings' timeout) and returns the local SDP with its candidates.
    async fn gathered_sdp(&mut self) -> anyhow::Result<String> {
        // A timeout is not an error: the SDP then carries the candidates gathered so far.
        let _ = tokio::time::timeout(self.settings.gather_timeout, self.gathered.wait_for(|done| *done)).await;
        let desc = self.pc.local_description().await.ok_or_else(|| anyhow::anyhow!("no local description"))?;
        Ok(desc.sdp)
    }
}

async fn add_candidate(pc: &Arc<dyn PeerConnection>, candidate: RTCIceCandidateInit) {
    // A bad candidate from the remote side costs only that candidate.
    if let Err(e) = pc.add_ice_candidate(candidate).await {
        tracing::debug!("remote candidate rejected: {e}");
    }
}
