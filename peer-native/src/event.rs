//! What the per-peer and per-channel tasks tell the node: one bounded queue into the node's run loop.

use bytes::BytesMut;
use swarm::ConnId;
use swarm::signal::{PeerId, ServerEvent};
use tokio::sync::mpsc;

/// Capacity of the node's event queue. Producers wait when it is full, which stops them reading from their
/// sockets, so a fast remote peer is slowed by WebRTC's own flow control instead of growing memory here.
pub const NODE_QUEUE: usize = 256;

/// Capacity of one data channel's outgoing queue, in messages. The swarm bounds what it queues for one peer
/// (`max_upload_queue` blocks), so a queue this long only fills when the remote peer stops reading; the node then
/// closes the channel instead of buffering.
pub const CHANNEL_OUT_QUEUE: usize = 1024;

/// One event for the node.
#[derive(Debug)]
pub enum NodeEvent {
    /// A frame from the signaling server (already parsed with limits).
    Server(ServerEvent),
    /// The signaling connection is up (`true`) or lost and being retried (`false`).
    ServerLink(bool),
    /// A data channel opened; `local` if this peer created it; `out` is its bounded outgoing queue (dropping it
    /// closes the channel).
    ChannelOpen { conn: ConnId, peer: PeerId, label: String, local: bool, out: mpsc::Sender<Vec<u8>> },
    /// One message received on a data channel.
    ChannelMessage { conn: ConnId, bytes: BytesMut },
    /// A data channel closed (after `ChannelOpen`, or before it opened).
    ChannelClosed { conn: ConnId },
    /// The connection to a remote peer is gone; `generation` names which connection, so a stale report does not
    /// remove a newer connection to the same peer.
    PeerGone { peer: PeerId, generation: u64 },
}
