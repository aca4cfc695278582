//! webrtc-rs carries a data-channel message of `swarm::wire::MAX_MESSAGE_LEN` (256 KiB) between two native peers
//! with the project's settings: its default limit is 64 KiB, so this fails if the setting is lost.

// Helpers outside #[test] functions panic on a failed setup step, as the tests do.
#![allow(clippy::unwrap_used)]

#[path = "common/pair.rs"]
mod pair;

use std::sync::Arc;
use std::time::Duration;

use webrtc::data_channel::{DataChannel, DataChannelEvent};

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
        let pair = pair::connected_pair("max").await.unwrap();
        let payload: Vec<u8> = (0..swarm::wire::MAX_MESSAGE_LEN).map(|i| (i % 253) as u8).collect();
        pair.local.send(bytes::BytesMut::from(&payload[..])).await.unwrap();
        let got = next_message(&pair.remote).await;
        assert_eq!(got.len(), payload.len());
        assert!(got == payload, "payload changed in transit");
        pair.a.close().await.unwrap();
        pair.b.close().await.unwrap();
    })
    .await
    .expect("timed out");
}
