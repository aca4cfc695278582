//! webrtc-rs carries a data-channel message of `swarm::wire::MAX_MESSAGE_LEN` (256 KiB) between two native peers
//! with the project's settings: its default limit is 64 KiB, so this fails if the setting is lost.

// Helpers outside #[test] functions panic on a failed setup step, as the tests do.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use peer_native::transport::{RtcSettings, build_peer_connection};
use tokio::sync::{Notify, mpsc};
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceGatheringState, RTCSessionDescription,
};

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

fn loopback() -> RtcSettings {
    RtcSettings { udp_bind: vec!["127.0.0.1:0".to_owned()], ..RtcSettings::default() }
}

async fn peer() -> (Arc<dyn PeerConnection>, Arc<Notify>, mpsc::Receiver<Arc<dyn DataChannel>>) {
    let gathered = Arc::new(Notify::new());
    let (tx, rx) = mpsc::channel(4);
    let pc = build_peer_connection(&loopback(), Arc::new(Handler { gathered: gathered.clone(), channels: tx }))
        .await
        .unwrap();
    (pc, gathered, rx)
}

async fn next_message(dc: &Arc<dyn DataChannel>) -> Vec<u8> {
    loop {
        match dc.poll().await.expect("channel closed before a message") {
            DataChannelEvent::OnMessage(m) => return m.data.to_vec(),
            DataChannelEvent::OnClose => panic!("channel closed before a message"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn message_of_max_message_len_arrives_whole() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let (a, a_gathered, _) = peer().await;
        let (b, b_gathered, mut b_channels) = peer().await;
        let dc = a
            .create_data_channel("max", Some(RTCDataChannelInit { ordered: true, ..Default::default() }))
            .await
            .unwrap();
        let offer = a.create_offer(None).await.unwrap();
        a.set_local_description(offer).await.unwrap();
        a_gathered.notified().await;
        let offer = a.local_description().await.unwrap().sdp;
        b.set_remote_description(RTCSessionDescription::offer(offer).unwrap()).await.unwrap();
        let answer = b.create_answer(None).await.unwrap();
        b.set_local_description(answer).await.unwrap();
        b_gathered.notified().await;
        let answer = b.local_description().await.unwrap().sdp;
        a.set_remote_description(RTCSessionDescription::answer(answer).unwrap()).await.unwrap();

        loop {
            if let DataChannelEvent::OnOpen = dc.poll().await.expect("closed before open") {
                break;
            }
        }
        let remote = b_channels.recv().await.unwrap();
        let payload: Vec<u8> = (0..swarm::wire::MAX_MESSAGE_LEN).map(|i| (i % 253) as u8).collect();
        dc.send(bytes::BytesMut::from(&payload[..])).await.unwrap();
        let got = next_message(&remote).await;
        assert_eq!(got.len(), payload.len());
        assert!(got == payload, "payload changed in transit");
        a.close().await.unwrap();
        b.close().await.unwrap();
    })
    .await
    .expect("timed out");
}
