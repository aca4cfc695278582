//! What the socket, peer and channel tasks tell the run loop: one bounded queue, whose events the loop turns into
//! `swarm::node::Input`s.

use std::sync::Arc;

use bytes::BytesMut;
use swarm::ConnId;
use swarm::node::SdpKind;
use swarm::signal::PeerId;
use webrtc::data_channel::DataChannel;

use crate::transport::ConnectionRef;

/// Capacity of the run loop's event queue. Producers wait when it is full, which stops them reading from their
/// sockets, so a fast remote peer is slowed by WebRTC's own flow control instead of growing memory here.
pub const NODE_QUEUE: usize = 256;

/// One event for the run loop.
#[derive(Debug)]
pub enum NodeEvent {
    /// A text frame from signaling socket `socket` (unparsed: the node reads it).
    ServerFrame { socket: u64, text: String },
    /// Signaling socket `socket` closed, failed, or could not open.
    SignalingClosed { socket: u64 },
    /// The `wss://` server at `url` showed a certificate this peer does not trust (`why`): the run ends.
    SignalingUntrusted { url: String, why: String },
    /// News of the connection to `peer`; `generation` names which connection, so the report of one already closed
    /// does not reach a newer connection to the same peer.
    Peer { peer: PeerId, generation: u64, event: PeerEvent },
    /// A data channel is open; its connection carries messages of up to `max_message` bytes to the remote.
    ChannelOpened { conn: ConnId, max_message: u32 },
    /// One message received on a data channel.
    ChannelMessage { conn: ConnId, bytes: BytesMut },
    /// A data channel closed, or could not be created.
    ChannelClosed { conn: ConnId },
}

/// What a peer task reports.
pub enum PeerEvent {
    /// The offer or answer asked for, with this side's candidates inside.
    LocalDescription { kind: SdpKind, sdp: String },
    /// The connection is established.
    Connected,
    /// The path the established connection took (its selected ICE candidate pair).
    Path(crate::path::Path),
    /// The connection failed or closed.
    Closed,
    /// A description could not be made or applied.
    NegotiationFailed { why: String },
    /// The remote peer opened a data channel with this label; the node decides whether it is taken.
    RemoteChannel { label: String, dc: Arc<dyn DataChannel>, link: ConnectionRef },
}

impl std::fmt::Debug for PeerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerEvent::LocalDescription { kind, sdp } => {
                f.debug_struct("LocalDescription").field("kind", kind).field("sdp_len", &sdp.len()).finish()
            }
            PeerEvent::Connected => f.write_str("Connected"),
            PeerEvent::Path(path) => write!(f, "Path({path})"),
            PeerEvent::Closed => f.write_str("Closed"),
            PeerEvent::NegotiationFailed { why } => f.debug_struct("NegotiationFailed").field("why", why).finish(),
            // webrtc-rs's data channel has no `Debug`.
            PeerEvent::RemoteChannel { label, .. } => f.debug_struct("RemoteChannel").field("label", label).finish(),
        }
    }
}
