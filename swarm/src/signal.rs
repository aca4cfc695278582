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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn swarm_name() -> impl Strategy<Value = SwarmName> {
        "[a-z0-9:_-]{1,80}".prop_map(|s| SwarmName::parse(&s).unwrap())
    }

    fn payload() -> impl Strategy<Value = SignalPayload> {
        prop_oneof![
            ".{0,200}".prop_map(|sdp| SignalPayload::Offer { sdp }),
            ".{0,200}".prop_map(|sdp| SignalPayload::Answer { sdp }),
            (".{0,100}", proptest::option::of(".{0,8}"), proptest::option::of(any::<u16>())).prop_map(
                |(candidate, sdp_mid, sdp_m_line_index)| SignalPayload::Candidate {
                    candidate,
                    sdp_mid,
                    sdp_m_line_index
                }
            ),
        ]
    }

    fn request() -> impl Strategy<Value = PeerRequest> {
        prop_oneof![
            swarm_name().prop_map(|swarm| PeerRequest::Join { swarm }),
            swarm_name().prop_map(|swarm| PeerRequest::Leave { swarm }),
            (".{0,40}", payload()).prop_map(|(to, payload)| PeerRequest::Signal { to: PeerId(to), payload }),
            Just(PeerRequest::Ping),
        ]
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in ".{0,300}") {
            let _ = PeerRequest::parse(&text);
            let _ = ServerEvent::parse(&text);
        }

        #[test]
        fn json_shaped_text_parses_or_is_refused_without_panicking(
            ty in "(join|leave|signal|ping|welcome|joined|error|[a-z]{0,6})",
            field in "(swarm|to|payload|kind|sdp|from|[a-z]{0,5})",
            value in "(\"[ -~]{0,20}\"|[0-9]{1,5}|null|\\{\\}|\\[\\])",
        ) {
            let text = format!(r#"{{"type":"{ty}","{field}":{value}}}"#);
            let _ = PeerRequest::parse(&text);
            let _ = ServerEvent::parse(&text);
        }

        #[test]
        fn every_request_round_trips(request in request()) {
            let text = serde_json::to_string(&request).unwrap();
            prop_assert_eq!(PeerRequest::parse(&text), Ok(request));
        }

        #[test]
        fn every_relayed_signal_round_trips(from in "[0-9a-f]{32}", payload in payload()) {
            let event = ServerEvent::Signal { from: PeerId(from), payload };
            let text = serde_json::to_string(&event).unwrap();
            prop_assert_eq!(ServerEvent::parse(&text), Ok(event));
        }

        #[test]
        fn swarm_names_outside_the_alphabet_are_refused(name in ".{0,90}") {
            let allowed = !name.is_empty()
                && name.len() <= MAX_SWARM_NAME_LEN
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":_-".contains(&b));
            prop_assert_eq!(SwarmName::parse(&name).is_ok(), allowed);
        }
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_before_parsing() {
        let text = format!(r#"{{"type":"ping","pad":"{}"}}"#, " ".repeat(MAX_FRAME_LEN));
        assert!(PeerRequest::parse(&text).unwrap_err().contains("over the"));
    }

    #[test]
    fn a_sender_field_in_a_signal_request_is_refused() {
        let text = r#"{"type":"signal","to":"a","from":"b","payload":{"kind":"offer","sdp":"x"}}"#;
        assert!(PeerRequest::parse(text).is_err());
    }

    #[test]
    fn documented_examples_parse() {
        let join = PeerRequest::parse(r#"{"type":"join","swarm":"net:lobby"}"#).unwrap();
        assert_eq!(join, PeerRequest::Join { swarm: SwarmName::parse("net:lobby").unwrap() });
        let candidate = r#"{"type":"signal","to":"6f1c0a9e3b5d47e28c0d1f2a3b4c5d6e","payload":{"kind":"candidate","candidate":"candidate:1 1 udp 2122260223 10.77.0.2 50000 typ host","sdp_mid":"0","sdp_m_line_index":0}}"#;
        assert!(matches!(PeerRequest::parse(candidate), Ok(PeerRequest::Signal { .. })));
        let welcome = r#"{"type":"welcome","peer_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9","ice_servers":[{"urls":["stun:stun.example.org:3478"]},{"urls":["turn:turn.example.org:3478?transport=udp"],"username":"alice","credential":"secret"}]}"#;
        assert!(matches!(ServerEvent::parse(welcome), Ok(ServerEvent::Welcome { .. })));
        let error = r#"{"type":"error","code":"unknown_peer","message":"no peer with this id shares a swarm with this connection"}"#;
        assert!(matches!(ServerEvent::parse(error), Ok(ServerEvent::Error { code: ErrorCode::UnknownPeer, .. })));
    }
}
