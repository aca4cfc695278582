//! The signaling protocol: JSON text frames over one WebSocket between a peer and the signaling server.
//!
//! Enums are named by direction: [`PeerRequest`] (peer to server) and [`ServerEvent`] (server to peer). Both peers
//! (browser and native) and the server share these types. The server assigns peer ids; a peer never names itself.
//! Specified in docs/PROTOCOL.md.

use serde::{Deserialize, Serialize};

/// Longest text frame either side accepts, in bytes (an SDP offer is a few KiB).
pub const MAX_FRAME_LEN: usize = 16 * 1024;
/// Longest swarm name.
pub const MAX_SWARM_NAME_LEN: usize = 80;

/// A peer id, assigned by the server at connection: random, opaque to peers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(pub String);

/// A swarm name: a content id's text form, or `net:<name>` for a discovery network.
/// Only `[a-z0-9:_-]`, 1 to [`MAX_SWARM_NAME_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SwarmName(String);

impl SwarmName {
    pub fn parse(s: &str) -> Result<SwarmName, &'static str> {
        if s.is_empty() || s.len() > MAX_SWARM_NAME_LEN {
            return Err("a swarm name has 1 to 80 characters");
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'_' || b == b'-') {
            return Err("a swarm name has only a-z, 0-9, ':', '_' and '-'");
        }
        Ok(SwarmName(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for SwarmName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SwarmName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The WebRTC setup payload relayed between two peers; the server does not look inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SignalPayload {
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_m_line_index: Option<u16>,
    },
}

/// Peer to server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PeerRequest {
    /// Join a swarm; the answer is [`ServerEvent::Joined`] with some current members.
    Join {
        swarm: SwarmName,
    },
    Leave {
        swarm: SwarmName,
    },
    /// Relay a payload to one peer that shares a swarm with the sender.
    Signal {
        to: PeerId,
        payload: SignalPayload,
    },
    /// Application-level liveness check; answered with [`ServerEvent::Pong`].
    Ping,
}

/// An ICE server as RTCPeerConnection's configuration takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Error codes the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Malformed,
    TooLarge,
    RateLimited,
    TooManySwarms,
    NotInSwarm,
    UnknownPeer,
    SwarmFull,
}

/// Server to peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// First message on every connection.
    Welcome {
        peer_id: PeerId,
        ice_servers: Vec<IceServer>,
    },
    /// Answer to a join: a random subset of the other members.
    Joined {
        swarm: SwarmName,
        peers: Vec<PeerId>,
    },
    /// A member left a swarm this peer is in.
    PeerLeft {
        swarm: SwarmName,
        peer: PeerId,
    },
    /// A relayed payload; `from` is stamped by the server.
    Signal {
        from: PeerId,
        payload: SignalPayload,
    },
    Pong,
    Error {
        code: ErrorCode,
        message: String,
    },
}

impl PeerRequest {
    /// Parses one text frame from a peer, with the frame limit checked first.
    pub fn parse(text: &str) -> Result<PeerRequest, String> {
        if text.len() > MAX_FRAME_LEN {
            return Err(format!("frame of {} bytes is over the {MAX_FRAME_LEN}-byte limit", text.len()));
        }
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

impl ServerEvent {
    /// Parses one text frame from the server, with the frame limit checked first.
    pub fn parse(text: &str) -> Result<ServerEvent, String> {
        if text.len() > MAX_FRAME_LEN {
            return Err(format!("frame of {} bytes is over the {MAX_FRAME_LEN}-byte limit", text.len()));
        }
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}
