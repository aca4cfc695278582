//! The signaling protocol: JSON text frames over one WebSocket between a peer and the signaling server.
//!
//! Enums are named by direction: [`PeerRequest`] (peer to server) and [`ServerEvent`] (server to peer). Both peers
//! (browser and native) and the server share these types. The server assigns peer ids; a peer never names itself.
//! Specified in docs/PROTOCOL.md.
//!
//! Reading either direction goes through the small codec in `signal/json.rs` ([`PeerRequest::parse`] on the
//! server, [`ServerEvent::parse`] on the peers), and so does writing a request ([`PeerRequest::to_json`]): the
//! browser peer ships without serde_json (a third of its download). The server writes its events with serde;
//! the tests check the two paths agree. A request is read strictly (one object, its known fields only, as
//! docs/PROTOCOL.md 3 says), so `PeerRequest` has no `Deserialize`: serde's derive would also take the array
//! form (`["join","net:x"]`) and unknown fields on `ping`.

mod json;

use serde::{Deserialize, Serialize};

use self::json::{Reader, Span};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
    /// A `signal` refused because the receiver has as many messages waiting as it may hold, from this sender
    /// or from all: the sender's back-pressure, never the receiver's loss.
    PeerBusy,
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
    /// ICE servers to use from now on instead of those of `welcome`: the server renews expiring TURN
    /// credentials before they expire (PROTOCOL.md 3.4).
    IceServers {
        ice_servers: Vec<IceServer>,
    },
}

impl PeerRequest {
    /// Parses one text frame from a peer, with the frame limit checked first: exactly one JSON object whose
    /// `type` is known and whose other fields are those of that type, nothing else (no unknown or duplicate
    /// field, no array form, nothing after it).
    pub fn parse(text: &str) -> Result<PeerRequest, String> {
        if text.len() > MAX_FRAME_LEN {
            return Err(format!("frame of {} bytes is over the {MAX_FRAME_LEN}-byte limit", text.len()));
        }
        let mut reader = Reader::new(text);
        let message = Object::read(&mut reader, 1)?;
        reader.end()?;
        let kind = message.tag("type")?;
        let (request, fields): (_, &[&str]) = match kind.as_str() {
            "join" => (PeerRequest::Join { swarm: message.required("swarm", read_swarm_name)? }, &["type", "swarm"]),
            "leave" => (PeerRequest::Leave { swarm: message.required("swarm", read_swarm_name)? }, &["type", "swarm"]),
            "signal" => (
                PeerRequest::Signal {
                    to: message.required("to", read_peer_id)?,
                    payload: message.required("payload", SignalPayload::read)?,
                },
                &["type", "to", "payload"],
            ),
            "ping" => (PeerRequest::Ping, &["type"]),
            _ => return Err(format!("unknown message type `{kind}`")),
        };
        message.only(fields)?;
        Ok(request)
    }
}

impl PeerRequest {
    /// The request as one text frame: the same text `serde_json::to_string` makes of it, without serde_json.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"type\":");
        match self {
            PeerRequest::Join { swarm } => {
                out.push_str("\"join\",\"swarm\":");
                json::write_string(&mut out, swarm.as_str());
            }
            PeerRequest::Leave { swarm } => {
                out.push_str("\"leave\",\"swarm\":");
                json::write_string(&mut out, swarm.as_str());
            }
            PeerRequest::Signal { to, payload } => {
                out.push_str("\"signal\",\"to\":");
                json::write_string(&mut out, &to.0);
                out.push_str(",\"payload\":");
                payload.write_json(&mut out);
            }
            PeerRequest::Ping => out.push_str("\"ping\""),
        }
        out.push('}');
        out
    }
}

impl SignalPayload {
    fn write_json(&self, out: &mut String) {
        match self {
            SignalPayload::Offer { sdp } => {
                out.push_str("{\"kind\":\"offer\",\"sdp\":");
                json::write_string(out, sdp);
            }
            SignalPayload::Answer { sdp } => {
                out.push_str("{\"kind\":\"answer\",\"sdp\":");
                json::write_string(out, sdp);
            }
            SignalPayload::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
                out.push_str("{\"kind\":\"candidate\",\"candidate\":");
                json::write_string(out, candidate);
                if let Some(mid) = sdp_mid {
                    out.push_str(",\"sdp_mid\":");
                    json::write_string(out, mid);
                }
                if let Some(index) = sdp_m_line_index {
                    out.push_str(",\"sdp_m_line_index\":");
                    out.push_str(&index.to_string());
                }
            }
        }
        out.push('}');
    }

    /// `{"kind": ...}` at `depth`; unknown fields are refused, as the server refuses them.
    fn read(reader: &mut Reader<'_>, depth: usize) -> Result<SignalPayload, String> {
        let object = Object::read(reader, depth)?;
        let kind = object.tag("kind")?;
        let (payload, fields): (_, &[&str]) = match kind.as_str() {
            "offer" => (SignalPayload::Offer { sdp: object.required("sdp", read_string)? }, &["kind", "sdp"]),
            "answer" => (SignalPayload::Answer { sdp: object.required("sdp", read_string)? }, &["kind", "sdp"]),
            "candidate" => (
                SignalPayload::Candidate {
                    candidate: object.required("candidate", read_string)?,
                    sdp_mid: object.optional("sdp_mid", read_string)?,
                    sdp_m_line_index: object.optional("sdp_m_line_index", |r, _| r.u16())?,
                },
                &["kind", "candidate", "sdp_mid", "sdp_m_line_index"],
            ),
            _ => return Err(format!("unknown payload kind `{kind}`")),
        };
        object.only(fields)?;
        Ok(payload)
    }
}

impl ServerEvent {
    /// Parses one text frame from the server, with the frame limit checked first. Accepts what serde_json with
    /// this type's `Deserialize` accepts for an object (unknown fields are ignored, for a newer server), with the
    /// small codec of `signal/json.rs`.
    pub fn parse(text: &str) -> Result<ServerEvent, String> {
        if text.len() > MAX_FRAME_LEN {
            return Err(format!("frame of {} bytes is over the {MAX_FRAME_LEN}-byte limit", text.len()));
        }
        let mut reader = Reader::new(text);
        let message = Object::read(&mut reader, 1)?;
        reader.end()?;
        let kind = message.tag("type")?;
        Ok(match kind.as_str() {
            "welcome" => ServerEvent::Welcome {
                peer_id: message.required("peer_id", read_peer_id)?,
                ice_servers: message.required("ice_servers", |r, depth| read_array(r, depth, IceServer::read))?,
            },
            "joined" => ServerEvent::Joined {
                swarm: message.required("swarm", read_swarm_name)?,
                peers: message.required("peers", |r, depth| read_array(r, depth, read_peer_id))?,
            },
            "peer_left" => ServerEvent::PeerLeft {
                swarm: message.required("swarm", read_swarm_name)?,
                peer: message.required("peer", read_peer_id)?,
            },
            "signal" => ServerEvent::Signal {
                from: message.required("from", read_peer_id)?,
                payload: message.required("payload", SignalPayload::read)?,
            },
            "pong" => ServerEvent::Pong,
            "ice_servers" => ServerEvent::IceServers {
                ice_servers: message.required("ice_servers", |r, depth| read_array(r, depth, IceServer::read))?,
            },
            "error" => ServerEvent::Error {
                code: message.required("code", ErrorCode::read)?,
                message: message.required("message", read_string)?,
            },
            _ => return Err(format!("unknown message type `{kind}`")),
        })
    }
}

impl IceServer {
    fn read(reader: &mut Reader<'_>, depth: usize) -> Result<IceServer, String> {
        let object = Object::read(reader, depth)?;
        Ok(IceServer {
            urls: object.required("urls", |r, depth| read_array(r, depth, read_string))?,
            username: object.optional("username", read_string)?,
            credential: object.optional("credential", read_string)?,
        })
    }
}

impl ErrorCode {
    fn read(reader: &mut Reader<'_>, _depth: usize) -> Result<ErrorCode, String> {
        let code = reader.string()?;
        Ok(match code.as_str() {
            "malformed" => ErrorCode::Malformed,
            "too_large" => ErrorCode::TooLarge,
            "rate_limited" => ErrorCode::RateLimited,
            "too_many_swarms" => ErrorCode::TooManySwarms,
            "not_in_swarm" => ErrorCode::NotInSwarm,
            "unknown_peer" => ErrorCode::UnknownPeer,
            "swarm_full" => ErrorCode::SwarmFull,
            "peer_busy" => ErrorCode::PeerBusy,
            _ => return Err(format!("unknown error code `{code}`")),
        })
    }
}

/// Reads one value at a depth (for the nesting limit).
type Read<T> = fn(&mut Reader<'_>, usize) -> Result<T, String>;

fn read_string(reader: &mut Reader<'_>, _depth: usize) -> Result<String, String> {
    reader.string()
}

fn read_peer_id(reader: &mut Reader<'_>, _depth: usize) -> Result<PeerId, String> {
    reader.string().map(PeerId)
}

fn read_swarm_name(reader: &mut Reader<'_>, _depth: usize) -> Result<SwarmName, String> {
    let name = reader.string()?;
    SwarmName::parse(&name).map_err(str::to_owned)
}

fn read_array<T>(reader: &mut Reader<'_>, depth: usize, read: Read<T>) -> Result<Vec<T>, String> {
    let mut items = Vec::new();
    reader.array(depth, &mut |r, depth| {
        items.push(read(r, depth)?);
        Ok(())
    })?;
    Ok(items)
}

/// An object's fields, located but not yet interpreted: which fields mean what depends on its tag.
struct Object<'a> {
    reader: Reader<'a>,
    fields: Vec<(String, Span)>,
    depth: usize,
}

impl<'a> Object<'a> {
    fn read(reader: &mut Reader<'a>, depth: usize) -> Result<Object<'a>, String> {
        let fields = reader.object(depth)?;
        Ok(Object { reader: reader.clone(), fields, depth })
    }

    /// Where the one field called `name` is; two of them are refused, as serde refuses them.
    fn find(&self, name: &str) -> Result<Option<&Span>, String> {
        let mut found = self.fields.iter().filter(|(n, _)| n == name).map(|(_, span)| span);
        let first = found.next();
        if found.next().is_some() {
            return Err(format!("duplicate field `{name}`"));
        }
        Ok(first)
    }

    fn tag(&self, name: &str) -> Result<String, String> {
        match self.find(name)? {
            Some(span) => self.reader.at(span).string(),
            None => Err(format!("missing field `{name}`")),
        }
    }

    fn required<T>(&self, name: &str, read: Read<T>) -> Result<T, String> {
        match self.find(name)? {
            Some(span) => read(&mut self.reader.at(span), self.depth + 1),
            None => Err(format!("missing field `{name}`")),
        }
    }

    /// Absent or `null` is `None`.
    fn optional<T>(&self, name: &str, read: Read<T>) -> Result<Option<T>, String> {
        let Some(span) = self.find(name)? else { return Ok(None) };
        let mut reader = self.reader.at(span);
        if reader.null()? {
            return Ok(None);
        }
        read(&mut reader, self.depth + 1).map(Some)
    }

    /// Refuses a field not in `allowed`.
    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self.fields.iter().find(|(name, _)| !allowed.contains(&name.as_str())) {
            Some((name, span)) => Err(format!("unknown field `{name}` at byte {}", span.start)),
            None => Ok(()),
        }
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

    fn server_event() -> impl Strategy<Value = ServerEvent> {
        let text = || ".{0,40}";
        let ice_server =
            (proptest::collection::vec(text(), 0..3), proptest::option::of(text()), proptest::option::of(text()))
                .prop_map(|(urls, username, credential)| IceServer { urls, username, credential });
        let code = prop_oneof![
            Just(ErrorCode::Malformed),
            Just(ErrorCode::TooLarge),
            Just(ErrorCode::RateLimited),
            Just(ErrorCode::TooManySwarms),
            Just(ErrorCode::NotInSwarm),
            Just(ErrorCode::UnknownPeer),
            Just(ErrorCode::SwarmFull),
            Just(ErrorCode::PeerBusy),
        ];
        prop_oneof![
            (text(), proptest::collection::vec(ice_server, 0..3))
                .prop_map(|(id, ice_servers)| ServerEvent::Welcome { peer_id: PeerId(id), ice_servers }),
            (swarm_name(), proptest::collection::vec(text(), 0..4)).prop_map(|(swarm, peers)| ServerEvent::Joined {
                swarm,
                peers: peers.into_iter().map(PeerId).collect()
            }),
            (swarm_name(), text()).prop_map(|(swarm, peer)| ServerEvent::PeerLeft { swarm, peer: PeerId(peer) }),
            (text(), payload()).prop_map(|(from, payload)| ServerEvent::Signal { from: PeerId(from), payload }),
            Just(ServerEvent::Pong),
            (code, text()).prop_map(|(code, message)| ServerEvent::Error { code, message }),
        ]
    }

    /// The text of a JSON string: plain characters, every kind of escape, and some invalid ones (a lone surrogate,
    /// a bad escape, a raw control character).
    fn json_string(words: &'static [&'static str]) -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => proptest::sample::select(words).prop_map(str::to_owned),
            2 => "[ !#-\\[\\]-~é€😀]{0,4}",
            1 => proptest::sample::select(&[
                "\\n", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r", "\\t", "\\u00e9", "\\u0041", "\\uD83D\\uDE00",
                "\\ud83d\\ude00", "\\u0000",
            ][..]).prop_map(str::to_owned),
            1 => proptest::sample::select(&["\\x", "\\ud800", "\\udc00x", "\\ud800\\u0041", "\\u12", "\u{1}", "\t"][..])
                .prop_map(str::to_owned),
        ];
        prop_oneof![
            3 => proptest::sample::select(words).prop_map(|word| format!("\"{word}\"")),
            1 => proptest::collection::vec(piece, 0..3).prop_map(|pieces| format!("\"{}\"", pieces.concat())),
        ]
    }

    /// JSON-shaped text, valid or nearly: nested values, numbers in every form, whitespace, a stray comma.
    fn json_value(words: &'static [&'static str], keys: &'static [&'static str]) -> impl Strategy<Value = String> {
        // Strings inside arrays are short and never a tag, so no array reads as serde's sequence form of a struct.
        let leaf = prop_oneof![
            3 => json_string(words),
            1 => "-?(0|[1-9][0-9]{0,6})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?",
            1 => proptest::sample::select(&["null", "true", "false", "01", "1.", "-", "+1", ".5", "nul", "[1,]", "{,}"][..])
                .prop_map(str::to_owned),
        ];
        let in_array = prop_oneof![json_string(&["", "ab", "net:x"]), "[0-9]{1,3}", Just("null".to_owned())];
        leaf.prop_recursive(3, 16, 4, move |inner| {
            let field = (json_string(keys), inner.clone()).prop_map(|(k, v)| format!("{k}:{v}"));
            prop_oneof![
                proptest::collection::vec(field, 0..4).prop_map(|f| format!("{{{}}}", f.join(","))),
                proptest::collection::vec(
                    prop_oneof![in_array.clone(), inner.prop_filter("no nested arrays", |v| !v.starts_with('['))],
                    0..4
                )
                .prop_map(|items| format!("[ {} ]", items.join(" , "))),
            ]
        })
    }

    const WORDS: &[&str] = &[
        "",
        "welcome",
        "joined",
        "peer_left",
        "signal",
        "pong",
        "error",
        "offer",
        "answer",
        "candidate",
        "malformed",
        "unknown_peer",
        "swarm_full",
        "peer_busy",
        "net:lobby",
        "ab",
        "6f1c",
        "stun:s:3478",
        "BAD NAME",
    ];
    const KEYS: &[&str] = &[
        "type",
        "kind",
        "peer_id",
        "ice_servers",
        "urls",
        "username",
        "credential",
        "swarm",
        "peers",
        "peer",
        "from",
        "payload",
        "sdp",
        "candidate",
        "sdp_mid",
        "sdp_m_line_index",
        "code",
        "message",
        "x",
    ];

    const REQUEST_WORDS: &[&str] =
        &["join", "leave", "signal", "ping", "offer", "answer", "candidate", "net:lobby", "ab", "", "BAD NAME"];
    const REQUEST_KEYS: &[&str] =
        &["type", "swarm", "to", "payload", "kind", "sdp", "candidate", "sdp_mid", "sdp_m_line_index", "x"];

    /// The value with every null-valued object field removed, at any depth.
    fn without_nulls(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(fields) => {
                fields.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect()
            }
            other => other,
        }
    }

    /// Both readers of server frames agree: the same value, or both refuse.
    fn assert_parses_as_serde_json_does(text: &str) -> Result<(), TestCaseError> {
        let ours = ServerEvent::parse(text);
        let serde = serde_json::from_str::<ServerEvent>(text);
        prop_assert_eq!(ours.as_ref().ok(), serde.as_ref().ok(), "{}\nours: {:?}\nserde: {:?}", text, ours, serde);
        Ok(())
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
        fn a_peer_frame_is_accepted_only_as_the_exact_request_it_encodes(
            ty in json_string(REQUEST_WORDS),
            fields in proptest::collection::vec((json_string(REQUEST_KEYS), json_value(REQUEST_WORDS, REQUEST_KEYS)), 0..4),
            rotate in 0usize..4,
        ) {
            let mut fields: Vec<String> = fields.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
            fields.push(format!(r#""type":{ty}"#));
            let n = fields.len();
            fields.rotate_left(rotate % n);
            let text = format!("{{{}}}", fields.join(","));
            if let Ok(request) = PeerRequest::parse(&text) {
                // Valid JSON, and nothing in it but the request's own fields (an optional one may be null).
                let accepted: serde_json::Value = serde_json::from_str(&text).unwrap();
                let written: serde_json::Value = serde_json::from_str(&request.to_json()).unwrap();
                prop_assert_eq!(without_nulls(accepted), written, "{}", text);
            }
        }

        #[test]
        fn every_request_is_written_as_serde_json_writes_it(request in request()) {
            prop_assert_eq!(request.to_json(), serde_json::to_string(&request).unwrap());
        }

        #[test]
        fn every_server_event_reads_back(event in server_event()) {
            let text = serde_json::to_string(&event).unwrap();
            prop_assert_eq!(ServerEvent::parse(&text), Ok(event));
        }

        #[test]
        fn server_events_with_unknown_fields_and_any_field_order_read_as_serde_json_reads_them(
            event in server_event(),
            extra in json_value(WORDS, KEYS),
            extra_key in json_string(KEYS),
            rotate in 0usize..8,
        ) {
            let serde_json::Value::Object(fields) = serde_json::to_value(&event).unwrap() else { unreachable!() };
            let mut fields: Vec<String> = fields.iter().map(|(k, v)| format!("{}: {v}", serde_json::to_string(k).unwrap())).collect();
            fields.push(format!("{extra_key} :{extra}"));
            let n = fields.len();
            fields.rotate_left(rotate % n);
            assert_parses_as_serde_json_does(&format!(" {{ {} }}\n", fields.join(",")))?;
        }

        #[test]
        fn json_shaped_server_frames_read_as_serde_json_reads_them(
            ty in json_string(WORDS),
            fields in proptest::collection::vec((json_string(KEYS), json_value(WORDS, KEYS)), 0..5),
        ) {
            let fields: Vec<String> = fields.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
            let text = format!(r#"{{"type":{ty}{}{}}}"#, if fields.is_empty() { "" } else { "," }, fields.join(","));
            assert_parses_as_serde_json_does(&text)?;
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
    fn nesting_is_refused_beyond_serde_jsons_limit() {
        for depth in [126, 127, 128, 129] {
            let text = format!(r#"{{"type":"pong","x":{}{}}}"#, "[".repeat(depth - 1), "]".repeat(depth - 1));
            assert_eq!(
                ServerEvent::parse(&text).is_ok(),
                serde_json::from_str::<ServerEvent>(&text).is_ok(),
                "{depth}"
            );
        }
        let deep = format!(r#"{{"type":"pong","x":{}{}}}"#, "[".repeat(126), "]".repeat(126));
        assert_eq!(ServerEvent::parse(&deep), Ok(ServerEvent::Pong));
        let too_deep = format!(r#"{{"type":"pong","x":{}{}}}"#, "[".repeat(127), "]".repeat(127));
        assert!(ServerEvent::parse(&too_deep).unwrap_err().contains("nested too deeply"));
    }

    #[test]
    fn control_characters_and_quotes_are_escaped_as_serde_json_escapes_them() {
        let sdp: String = (0u8..0x80).map(char::from).chain("é€😀\"\\".chars()).collect();
        let request = PeerRequest::Signal { to: PeerId("a\"b".into()), payload: SignalPayload::Offer { sdp } };
        assert_eq!(request.to_json(), serde_json::to_string(&request).unwrap());
        assert_eq!(PeerRequest::parse(&request.to_json()), Ok(request));
    }

    #[test]
    fn bad_server_frames_are_refused_with_a_reason() {
        let refused = [
            (r#"{"type":"pong"} x"#, "trailing characters"),
            (r#"{"type":"bogus"}"#, "unknown message type `bogus`"),
            (r#"{"type":"pong","type":"pong"}"#, "duplicate field `type`"),
            (r#"{"type":"joined","swarm":"BAD","peers":[]}"#, "a swarm name has only"),
            (r#"{"type":"joined","swarm":"net:x"}"#, "missing field `peers`"),
            (r#"{"type":"signal","from":"a","payload":{"kind":"offer","sdp":"x","to":"b"}}"#, "unknown field `to`"),
            (
                r#"{"type":"signal","from":"a","payload":{"kind":"candidate","candidate":"c","sdp_m_line_index":70000}}"#,
                "from 0 to 65535",
            ),
            (r#"{"type":"error","code":"nope","message":"m"}"#, "unknown error code `nope`"),
            (r#"{"type":"pong","x":"\ud800"}"#, "lone surrogate"),
            ("[\"pong\"]", "expected an object at byte 0"),
        ];
        for (text, reason) in refused {
            let error = ServerEvent::parse(text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
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
    fn requests_in_array_form_or_with_unknown_fields_are_refused_with_a_reason() {
        let refused = [
            (r#"["join","net:lobby"]"#, "expected an object at byte 0"),
            (r#"["ping"]"#, "expected an object at byte 0"),
            (r#"{"type":"ping","x":1}"#, "unknown field `x`"),
            (r#"{"type":"ping","swarm":"net:lobby"}"#, "unknown field `swarm`"),
            (r#"{"type":"join","swarm":"net:lobby","x":null}"#, "unknown field `x`"),
            (r#"{"type":"leave","swarm":"net:lobby","to":"a"}"#, "unknown field `to`"),
            (r#"{"type":"signal","to":"a","payload":["offer","v=0"]}"#, "expected an object"),
            (r#"{"type":"signal","to":"a","payload":{"kind":"offer","sdp":"x","x":1}}"#, "unknown field `x`"),
            (r#"{"type":"ping","type":"ping"}"#, "duplicate field `type`"),
            (r#"{"type":"join","swarm":"a","swarm":"b"}"#, "duplicate field `swarm`"),
            (r#"{"type":"ping"}{"type":"ping"}"#, "trailing characters"),
            (r#"{"type":"PING"}"#, "unknown message type `PING`"),
            (r#"{"swarm":"net:lobby"}"#, "missing field `type`"),
            (r#"{"type":"join"}"#, "missing field `swarm`"),
            (r#"{"type":"join","swarm":"Net:Lobby"}"#, "a swarm name has only"),
            (r#"{"type":"signal","to":7,"payload":{"kind":"offer","sdp":"x"}}"#, "expected a string"),
            (r#""ping""#, "expected an object"),
            ("null", "expected an object"),
            ("", "expected an object"),
        ];
        for (text, reason) in refused {
            let error = PeerRequest::parse(text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn requests_with_whitespace_any_field_order_and_null_optional_fields_are_read() {
        let text = " {\n\"swarm\" : \"net:lobby\" , \"type\":\"join\"}\t";
        assert_eq!(PeerRequest::parse(text), Ok(PeerRequest::Join { swarm: SwarmName::parse("net:lobby").unwrap() }));
        let text = r#"{"payload":{"sdp_mid":null,"candidate":"c","kind":"candidate"},"to":"a","type":"signal"}"#;
        let payload = SignalPayload::Candidate { candidate: "c".into(), sdp_mid: None, sdp_m_line_index: None };
        assert_eq!(PeerRequest::parse(text), Ok(PeerRequest::Signal { to: PeerId("a".into()), payload }));
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

    /// The error-code table of docs/PROTOCOL.md section 3.4 names exactly the codes there are, each parsed by
    /// both readers and written back the same.
    #[test]
    fn the_documented_error_codes_are_exactly_the_codes() {
        let spec = include_str!("../../docs/PROTOCOL.md");
        let section = &spec[spec.find("### 3.4").unwrap()..spec.find("### 3.5").unwrap()];
        let documented: Vec<&str> =
            section.lines().filter_map(|l| l.strip_prefix("| `")?.split_once('`').map(|(code, _)| code)).collect();
        let mut codes = Vec::new();
        for code in &documented {
            let text = format!(r#"{{"type":"error","code":"{code}","message":"m"}}"#);
            let Ok(ServerEvent::Error { code: parsed, .. }) = ServerEvent::parse(&text) else {
                panic!("documented code `{code}` does not parse")
            };
            assert_eq!(serde_json::from_str::<ServerEvent>(&text).unwrap(), ServerEvent::parse(&text).unwrap());
            assert_eq!(serde_json::to_string(&parsed).unwrap(), format!("\"{code}\""));
            codes.push(parsed);
        }
        // Every variant is documented: a new one without a row fails here.
        let every = |code: ErrorCode| match code {
            ErrorCode::Malformed
            | ErrorCode::TooLarge
            | ErrorCode::RateLimited
            | ErrorCode::TooManySwarms
            | ErrorCode::NotInSwarm
            | ErrorCode::UnknownPeer
            | ErrorCode::SwarmFull
            | ErrorCode::PeerBusy => code,
        };
        let all = [
            ErrorCode::Malformed,
            ErrorCode::TooLarge,
            ErrorCode::RateLimited,
            ErrorCode::TooManySwarms,
            ErrorCode::NotInSwarm,
            ErrorCode::UnknownPeer,
            ErrorCode::SwarmFull,
            ErrorCode::PeerBusy,
        ]
        .map(every);
        assert_eq!(codes.len(), all.len(), "{documented:?}");
        assert!(all.iter().all(|code| codes.contains(code)), "{documented:?}");
        // The documented examples of error frames parse too.
        for line in section.lines().filter(|l| l.trim_start().starts_with(r#"{"type":"error""#)) {
            assert!(matches!(ServerEvent::parse(line.trim()), Ok(ServerEvent::Error { .. })), "{line}");
        }
    }
}
