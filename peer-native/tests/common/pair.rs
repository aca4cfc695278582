//! Two webrtc-rs peer connections on loopback, connected to each other in-process (no signaling server), with one
//! ordered data channel open both ways. Used by the transport tests and by the native benchmark's raw ceiling.

use std::sync::Arc;

use peer_native::transport::{RtcSettings, build_peer_connection};
use tokio::sync::{Notify, mpsc};
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceGatheringState, RTCSessionDescription,
};

/// Both connections and both ends of the channel.
pub struct Pair {
    pub a: Arc<dyn PeerConnection>,
    pub b: Arc<dyn PeerConnection>,
    /// The end `a` created (open).
    pub local: Arc<dyn DataChannel>,
    /// The end `b` received.
    pub remote: Arc<dyn DataChannel>,
}

struct Handler {
    gathered: Arc<Notify>,
    channels: mpsc::Sender<Arc<dyn DataChannel>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.notify_one();
        }
    }
    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let _ = self.channels.try_send(dc);
    }
}

/// A peer connection, the signal that its ICE gathering completed, and the channels the remote side opens.
pub type Peer = (Arc<dyn PeerConnection>, Arc<Notify>, mpsc::Receiver<Arc<dyn DataChannel>>);

/// One peer connection with the project's settings on 127.0.0.1.
pub async fn peer() -> anyhow::Result<Peer> {
    peer_with(&RtcSettings { udp_bind: vec!["127.0.0.1:0".to_owned()], ..RtcSettings::default() }, 4).await
}

/// One peer connection with `settings`, taking up to `channels` remote channels before they are read.
pub async fn peer_with(settings: &RtcSettings, channels: usize) -> anyhow::Result<Peer> {
    let gathered = Arc::new(Notify::new());
    let (tx, rx) = mpsc::channel(channels);
    let pc = build_peer_connection(settings, Arc::new(Handler { gathered: gathered.clone(), channels: tx })).await?;
    Ok((pc, gathered, rx))
}

/// Connects two peers with the project's settings and opens one ordered channel labelled `label`.
pub async fn connected_pair(label: &str) -> anyhow::Result<Pair> {
    let (a, a_gathered, _) = peer().await?;
    let (b, b_gathered, mut b_channels) = peer().await?;
    let local = a.create_data_channel(label, Some(RTCDataChannelInit { ordered: true, ..Default::default() })).await?;
    let offer = a.create_offer(None).await?;
    a.set_local_description(offer).await?;
    a_gathered.notified().await;
    let offer = a.local_description().await.ok_or_else(|| anyhow::anyhow!("no offer"))?.sdp;
    b.set_remote_description(RTCSessionDescription::offer(offer)?).await?;
    let answer = b.create_answer(None).await?;
    b.set_local_description(answer).await?;
    b_gathered.notified().await;
    let answer = b.local_description().await.ok_or_else(|| anyhow::anyhow!("no answer"))?.sdp;
    a.set_remote_description(RTCSessionDescription::answer(answer)?).await?;
    loop {
        match local.poll().await {
            Some(DataChannelEvent::OnOpen) => break,
            Some(DataChannelEvent::OnClose) | None => anyhow::bail!("closed before open"),
            Some(_) => {}
        }
    }
    let remote = b_channels.recv().await.ok_or_else(|| anyhow::anyhow!("no remote channel"))?;
    Ok(Pair { a, b, local, remote })
}
