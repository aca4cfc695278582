//! One task per data channel: receive into the node's queue, send from a bounded queue with back-pressure.
//!
//! Back-pressure follows the browser pattern: stop sending when the channel's buffered amount rises over
//! [`HIGH_WATER`] and resume when it falls under [`LOW_WATER`], so the SCTP send buffer holds at most a few MiB
//! whatever the swarm queues.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use swarm::ConnId;
use swarm::signal::PeerId;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

use crate::event::NodeEvent;
use crate::out_queue;

/// Buffered bytes at which sending pauses: 4 MiB, as the browser peer uses (enough to keep a LAN link busy).
pub const HIGH_WATER: u32 = 4 * 1024 * 1024;
/// Buffered bytes under which sending resumes: 1 MiB.
pub const LOW_WATER: u32 = 1024 * 1024;

/// Connection ids, unique for the process (and so for every swarm in it).
static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Starts the task that owns `dc` until it closes; `local` says whether this peer created the channel.
pub fn spawn(dc: Arc<dyn DataChannel>, peer: PeerId, local: bool, node: mpsc::Sender<NodeEvent>) {
    let conn = ConnId(NEXT_CONN.fetch_add(1, Ordering::Relaxed));
    tokio::spawn(run(dc, conn, peer, local, node));
}

async fn run(dc: Arc<dyn DataChannel>, conn: ConnId, peer: PeerId, local: bool, node: mpsc::Sender<NodeEvent>) {
    if let Err(e) = dc.set_buffered_amount_high_threshold(HIGH_WATER).await {
        tracing::debug!(?conn, "buffered amount high threshold: {e}");
    }
    if let Err(e) = dc.set_buffered_amount_low_threshold(LOW_WATER).await {
        tracing::debug!(?conn, "buffered amount low threshold: {e}");
    }
    let (out_tx, mut out_rx) = out_queue::channel();
    let abandoned = out_rx.abandoned();
    let mut out_tx = Some(out_tx);
    let mut open = false;
    let mut paused = false;
    // Whether the node has dropped its sender (it wants the channel closed once the queue is flushed).
    let mut node_done = false;
    loop {
        tokio::select! {
            event = dc.poll() => match event {
                Some(DataChannelEvent::OnOpen) => {
                    tracing::debug!(?conn, local, peer = %peer.0, "data channel open");
                    let Some(out) = out_tx.take() else { continue };
                    let label = dc.label().await.unwrap_or_default();
                    open = true;
                    if node.send(NodeEvent::ChannelOpen { conn, peer: peer.clone(), label, local, out }).await.is_err() {
                        break;
                    }
                }
                Some(DataChannelEvent::OnMessage(msg)) => {
                    if node.send(NodeEvent::ChannelMessage { conn, bytes: msg.data }).await.is_err() {
                        break;
                    }
                }
                Some(DataChannelEvent::OnBufferedAmountHigh) => paused = true,
                Some(DataChannelEvent::OnBufferedAmountLow) => paused = false,
                Some(DataChannelEvent::OnClose) => {
                    tracing::debug!(?conn, "data channel closed by the remote side or the connection");
                    break;
                }
                None => {
                    tracing::debug!(?conn, "data channel event stream ended");
                    break;
                }
                Some(other) => tracing::debug!(?conn, ?other, "data channel event"),
            },
            msg = out_rx.recv(), if open && !paused && !node_done => match msg {
                // `send` only queues (no send-buffer limit is configured), so awaiting it here never waits on
                // the network; the thresholds above are what bound the buffer.
                Some(bytes) => {
                    // Zero copy: a uniquely owned `Bytes` converts back into `BytesMut` in place.
                    if let Err(e) = dc.send(BytesMut::from(bytes::Bytes::from(bytes))).await {
                        tracing::debug!(?conn, "send: {e}");
                        break;
                    }
                }
                None => {
                    node_done = true;
                    break;
                }
            },
            // The peer is not reading what it asked for: what is queued is dropped here (with the receiver), not
            // sent, and the channel closed without the drain.
            () = abandoned.wait() => {
                tracing::debug!(?conn, "abandoned by the node");
                break;
            }
        }
    }
    drop(out_rx);
    if node_done {
        drain(&*dc).await;
    }
    if let Err(e) = dc.close().await {
        tracing::debug!(?conn, node_done, "close: {e}");
    }
    // The node may be gone already (shutdown): nothing to tell then.
    let _ = node.send(NodeEvent::ChannelClosed { conn }).await;
}

/// Longest wait for the remote side to acknowledge what was sent before a channel the node closed is reset.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the unacknowledged byte count is checked while draining (webrtc-rs has no "drained" event).
const DRAIN_CHECK: Duration = Duration::from_millis(20);

/// Waits until every byte sent is acknowledged (bounded by [`DRAIN_TIMEOUT`]): webrtc-rs resets the stream at once
/// on `close`, and a message still in flight (a `Goodbye`) would be lost.
async fn drain(dc: &dyn DataChannel) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        match dc.outstanding_bytes().await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        tokio::select! {
            event = dc.poll() => {
                if matches!(event, Some(DataChannelEvent::OnClose) | None) {
                    return;
                }
            }
            () = tokio::time::sleep(DRAIN_CHECK) => {}
        }
    }
}
