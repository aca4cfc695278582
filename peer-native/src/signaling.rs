//! The signaling socket: one WebSocket to the signaling server, opened and closed when the node says so.
//!
//! This is an executor, not a client with a mind of its own: [`connect`] opens a socket for
//! `swarm::node::Output::ConnectSignaling` and hands every text frame to the run loop unparsed; dropping the
//! returned [`Socket`] is `Output::DisconnectSignaling`. When, whether and how often to connect, ping and give a
//! silent server up is the node's schedule (`swarm::node::server`). Frames are limited to [`MAX_FRAME_LEN`] both
//! ways by the WebSocket layer; both directions are bounded queues.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use rustls::ClientConfig;
use swarm::signal::MAX_FRAME_LEN;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::event::NodeEvent;

/// Capacity of the outgoing frame queue: above the node's send burst (`swarm::node::server::SEND_BURST`), so a
/// queue that is full belongs to a socket that stopped writing.
pub const OUT_QUEUE: usize = 256;

/// Longest wait for the close frame of a socket the node dropped to go out.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// One open (or opening) socket. Dropping it closes the socket without another report.
#[derive(Debug)]
pub struct Socket {
    id: u64,
    frames: mpsc::Sender<String>,
    /// Dropped with the socket: tells a task still connecting to give up.
    _dropped: oneshot::Sender<()>,
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stuck;

impl Socket {
    /// Which socket this is: the events of a socket carry its id, so those of one already dropped can be told apart.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Queues one text frame without waiting. A full queue means the socket no longer writes: the caller treats it
    /// as closed.
    pub fn send(&self, text: String) -> Result<(), Stuck> {
        self.frames.try_send(text).map_err(|_| Stuck)
    }
}

/// Opens a socket to `url` in a task of its own. Its frames arrive as [`NodeEvent::ServerFrame`], and its end (a
/// close, an error, or a failure to connect) as one [`NodeEvent::SignalingClosed`], both with `id`; nothing is
/// reported once the [`Socket`] is dropped.
/// `tls` checks a `wss://` server's certificate; one it refuses ends the run ([`NodeEvent::SignalingUntrusted`]).
pub fn connect(url: String, tls: Arc<ClientConfig>, id: u64, node: mpsc::Sender<NodeEvent>) -> Socket {
    let (frames, outgoing) = mpsc::channel(OUT_QUEUE);
    let (dropped_tx, dropped) = oneshot::channel();
    tokio::spawn(async move {
        match session(&url, tls, id, &node, outgoing, dropped).await {
            Ok(End::Dropped) => {}
            Ok(End::Closed) => {
                tracing::info!("signaling {url}: closed by the server");
                let _ = node.send(NodeEvent::SignalingClosed { socket: id }).await;
            }
            Ok(End::Untrusted(why)) => {
                let _ = node.send(NodeEvent::SignalingUntrusted { url, why }).await;
            }
            Err(e) => {
                tracing::warn!("signaling {url}: {e:#}");
                let _ = node.send(NodeEvent::SignalingClosed { socket: id }).await;
            }
        }
    });
    Socket { id, frames, _dropped: dropped_tx }
}

enum End {
    /// The run loop dropped the socket (or is gone): nothing to report.
    Dropped,
    /// The server closed the connection.
    Closed,
    /// The server's certificate was refused (why): trying again will not help.
    Untrusted(String),
}

async fn session(
    url: &str,
    tls: Arc<ClientConfig>,
    id: u64,
    node: &mpsc::Sender<NodeEvent>,
    mut outgoing: mpsc::Receiver<String>,
    dropped: oneshot::Receiver<()>,
) -> anyhow::Result<End> {
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(MAX_FRAME_LEN);
    config.max_frame_size = Some(MAX_FRAME_LEN);
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(url, Some(config), true, Some(Connector::Rustls(tls)));
    // Dropped while connecting: give the attempt up.
    let (mut ws, _) = tokio::select! {
        result = connecting => match result {
            Ok(connected) => connected,
            Err(e) => match crate::tls::certificate_refused(&e) {
                Some(why) => return Ok(End::Untrusted(why)),
                None => return Err(e.into()),
            },
        },
        _ = dropped => return Ok(End::Dropped),
    };
    tracing::info!("signaling connected to {url}");
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if node.send(NodeEvent::ServerFrame { socket: id, text: text.as_str().to_owned() }).await.is_err() {
                        return Ok(End::Dropped);
                    }
                }
                Some(Ok(Message::Close(_))) | None => return Ok(End::Closed),
                // Pings are answered by the WebSocket layer; binary frames are not part of the protocol.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            },
            text = outgoing.recv() => match text {
                Some(text) => ws.send(Message::text(text)).await?,
                None => {
                    // Best effort, briefly: the node already counts this socket as gone, and a server that fell
                    // silent may not take even the close frame.
                    let _ = tokio::time::timeout(CLOSE_WAIT, ws.close(None)).await;
                    return Ok(End::Dropped);
                }
            },
        }
    }
}
