//! What the per-peer and per-channel tasks tell the node: one bounded queue into the node's run loop.

use bytes::BytesMut;
use swarm::ConnId;
use swarm::signal::{PeerId, ServerEvent};

use crate::out_queue::OutSender;

/// Capacity of the node's event queue. Producers wait when it is full, which stops them reading from their
/// sockets, so a fast remote peer is slowed by WebRTC's own flow control instead of growing memory here.
pub const NODE_QUEUE: usize = 256;

/// One event for the node.
#[derive(Debug)]
pub enum NodeEvent {
    /// A frame from the signaling server (already parsed with limits).
    Server(ServerEvent),
    /// The signaling connection is up (`true`) or lost and being retried (`false`).
    ServerLink(bool),
    /// A data channel opened; `local` if this peer created it; `out` is its bounded outgoing queue (dropping it
    /// closes the channel once the queue is sent, abandoning it closes the channel at once).
    ChannelOpen { conn: ConnId, peer: PeerId, label: String, local: bool, out: OutSender },
    /// One message received on a data channel.
    ChannelMessage { conn: ConnId, bytes: BytesMut },
    /// A data channel closed (after `ChannelOpen`, or before it opened).
    ChannelClosed { conn: ConnId },
    /// The connection to a remote peer is gone; `generation` names which connection, so a stale report does not
    /// remove a newer connection to the same peer.
    PeerGone { peer: PeerId, generation: u64 },
}
