//! The signaling client: one WebSocket to the signaling server, reconnected with backoff when it drops.
//!
//! Frames from the server are parsed with the protocol's limits ([`ServerEvent::parse`]) and handed to the node;
//! requests from the node and the peer tasks go out in order. Both directions are bounded queues.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use swarm::signal::{MAX_FRAME_LEN, PeerRequest, ServerEvent};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::event::NodeEvent;

/// Capacity of the outgoing request queue.
pub const OUT_QUEUE: usize = 256;
/// Application-level ping period; well under any sane server idle timeout.
const PING_EVERY: Duration = Duration::from_secs(15);
/// Reconnect delays: from 500 ms, doubling, at most 10 s.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(10);

/// Starts the client task. It runs until the node's queue closes or the request senders are all dropped.
pub fn spawn(url: String, node: mpsc::Sender<NodeEvent>, mut requests: mpsc::Receiver<PeerRequest>) {
    tokio::spawn(async move {
        let mut retry = FIRST_RETRY;
        loop {
            match session(&url, &node, &mut requests).await {
                Ok(End::Finished) => return,
                Ok(End::Dropped) => retry = FIRST_RETRY,
                Err(e) => tracing::warn!("signaling {url}: {e:#}"),
            }
            if node.send(NodeEvent::ServerLink(false)).await.is_err() {
                return;
            }
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(MAX_RETRY);
        }
    });
}

enum End {
    /// Nobody is listening or sending any more: stop for good.
    Finished,
    /// The server closed the connection: reconnect.
    Dropped,
}

async fn session(
    url: &str,
    node: &mpsc::Sender<NodeEvent>,
    requests: &mut mpsc::Receiver<PeerRequest>,
) -> anyhow::Result<End> {
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(MAX_FRAME_LEN);
    config.max_frame_size = Some(MAX_FRAME_LEN);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    tracing::info!("signaling connected to {url}");
    if node.send(NodeEvent::ServerLink(true)).await.is_err() {
        return Ok(End::Finished);
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => match ServerEvent::parse(text.as_str()) {
                    Ok(event) => {
                        if node.send(NodeEvent::Server(event)).await.is_err() {
                            return Ok(End::Finished);
                        }
                    }
                    // A frame this version cannot read is skipped, not fatal: the server may be newer.
                    Err(e) => tracing::warn!("signaling frame ignored: {e}"),
                },
                Some(Ok(Message::Close(_))) | None => return Ok(End::Dropped),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            },
            request = requests.recv() => {
                let Some(request) = request else { return Ok(End::Finished) };
                ws.send(Message::text(serde_json::to_string(&request)?)).await?;
            }
            _ = ping.tick() => ws.send(Message::text(serde_json::to_string(&PeerRequest::Ping)?)).await?,
        }
    }
}
