//! [`Peer`]: one RTCPeerConnection per remote peer, carrying one data channel per content both peers have.
//!
//! Negotiation follows the W3C "perfect negotiation" pattern, so either side may (re)negotiate at any time, for
//! example when a second content adds a channel to an existing connection, and an offer collision (glare) is
//! resolved without a round trip: the *polite* peer (the one whose id sorts first) rolls back its own offer and
//! answers; the impolite one ignores the colliding offer. The joiner of a swarm creates the channel (so it sends
//! the first offer); the data channel is labelled with the content id's text form. A discovery neighbour's channel
//! (label `discovery`, see [`crate::discovery`]) rides on the same connection.

use core::str::FromStr;
use swarm::VecMap;

use js_sys::{Array, Function, Promise, Reflect};
use swarm::ConnId;
use swarm::id::ContentId;
use swarm::signal::{IceServer, PeerId, PeerRequest, SignalPayload};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcConfiguration, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelInit, RtcIceCandidateInit, RtcIceServer,
    RtcPeerConnection, RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
    RtcSignalingState,
};

use crate::clock;
use crate::core::{Core, WeakCore, with_core};
use crate::error::describe;

/// Most RTCPeerConnections a page keeps: each costs a DTLS session and ICE checks.
pub const MAX_PEERS: usize = 64;
/// Most data channels (remote peers) per content: enough parallel sources, few enough to stay responsive.
pub const MAX_CHANNELS_PER_CONTENT: usize = 20;
/// A connection that has carried no channel for this long is closed, in milliseconds.
pub const IDLE_PEER_MS: u64 = 30_000;
/// Longest SDP or candidate accepted from a remote peer, in bytes (the signaling frame limit bounds it anyway).
const MAX_SDP_LEN: usize = 16 * 1024;

/// One remote peer.
#[derive(Debug)]
pub struct Peer {
    pub id: PeerId,
    pub pc: RtcPeerConnection,
    pub polite: bool,
    pub making_offer: bool,
    pub ignore_offer: bool,
    pub channels: VecMap<ContentId, ConnId>,
    /// The `discovery` channel, when this peer is (or is becoming) a discovery neighbour.
    pub discovery: Option<ConnId>,
    /// When the peer last had no channel (milliseconds, the shell's clock), for the idle limit.
    pub idle_since: Option<u64>,
    _handlers: [Closure<dyn FnMut(JsValue)>; 4],
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.pc.set_onicecandidate(None);
        self.pc.set_onnegotiationneeded(None);
        self.pc.set_ondatachannel(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.close();
    }
}

fn rtc_configuration(ice_servers: &[IceServer]) -> RtcConfiguration {
    let servers = Array::new();
    for server in ice_servers {
        let s = RtcIceServer::new();
        let urls = Array::new();
        for url in &server.urls {
            urls.push(&JsValue::from_str(url));
        }
        s.set_urls(&urls);
        if let Some(u) = &server.username {
            s.set_username(u);
        }
        if let Some(c) = &server.credential {
            s.set_credential(c);
        }
        servers.push(&s);
    }
    let config = RtcConfiguration::new();
    config.set_ice_servers(&servers);
    config
}

/// `pc.setLocalDescription()` with no argument: the browser creates the right offer or answer for the current
/// state, which is what makes perfect negotiation race-free. web-sys only binds the one-argument form.
async fn set_local_description(pc: &RtcPeerConnection) -> Result<(), JsValue> {
    let f: Function = Reflect::get(pc, &JsValue::from_str("setLocalDescription"))?.dyn_into()?;
    let promise: Promise = f.call0(pc)?.dyn_into()?;
    JsFuture::from(promise).await.map(|_| ())
}

/// Sends our current local description (offer or answer) to `peer`.
fn send_local_description(core: &mut Core, peer: &PeerId, pc: &RtcPeerConnection) {
    let Some(desc) = pc.local_description() else { return };
    let sdp = desc.sdp();
    let payload = match desc.type_() {
        RtcSdpType::Offer => SignalPayload::Offer { sdp },
        RtcSdpType::Answer => SignalPayload::Answer { sdp },
        _ => return,
    };
    core.signaling.send(&PeerRequest::Signal { to: peer.clone(), payload });
}

impl Core {
    /// The connection to `id`, created if there is room. `None` when at [`MAX_PEERS`] or for ourselves.
    pub fn peer_or_connect(&mut self, id: &PeerId) -> Option<&mut Peer> {
        if self.me.as_ref() == Some(id) {
            return None;
        }
        if !self.peers.contains_key(id) {
            if self.peers.len() >= MAX_PEERS {
                return None;
            }
            let peer = self.new_peer(id.clone())?;
            self.peers.insert(id.clone(), peer);
        }
        self.peers.get_mut(id)
    }

    fn new_peer(&mut self, id: PeerId) -> Option<Peer> {
        let pc = RtcPeerConnection::new_with_configuration(&rtc_configuration(&self.ice_servers))
            .map_err(|e| web_sys::console::error_1(&format!("RTCPeerConnection: {}", describe(&e)).into()))
            .ok()?;
        let polite = self.me.as_ref().is_some_and(|me| *me < id);
        let weak = self.weak.clone();
        let on_candidate = {
            let (weak, id) = (weak.clone(), id.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let Ok(event) = event.dyn_into::<RtcPeerConnectionIceEvent>() else { return };
                // A null candidate marks the end of gathering: nothing to relay.
                let Some(c) = event.candidate() else { return };
                if c.candidate().is_empty() {
                    return;
                }
                let payload = SignalPayload::Candidate {
                    candidate: c.candidate(),
                    sdp_mid: c.sdp_mid(),
                    sdp_m_line_index: c.sdp_m_line_index(),
                };
                with_core(&weak, |core| core.signaling.send(&PeerRequest::Signal { to: id.clone(), payload }));
            })
        };
        let on_negotiation = {
            let (weak, id) = (weak.clone(), id.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                wasm_bindgen_futures::spawn_local(negotiate(weak.clone(), id.clone()));
            })
        };
        let on_channel = {
            let (weak, id) = (weak.clone(), id.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let Ok(event) = event.dyn_into::<RtcDataChannelEvent>() else { return };
                with_core(&weak, |core| core.on_remote_channel(&id, event.channel()));
            })
        };
        let on_state = {
            let id = id.clone();
            let pc = pc.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                if matches!(pc.connection_state(), RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed) {
                    with_core(&weak, |core| core.drop_peer(&id));
                }
            })
        };
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        pc.set_onnegotiationneeded(Some(on_negotiation.as_ref().unchecked_ref()));
        pc.set_ondatachannel(Some(on_channel.as_ref().unchecked_ref()));
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        Some(Peer {
            id,
            pc,
            polite,
            making_offer: false,
            ignore_offer: false,
            channels: VecMap::new(),
            discovery: None,
            idle_since: Some(clock::now().as_millis()),
            _handlers: [on_candidate, on_negotiation, on_channel, on_state],
        })
    }

    /// The server told us who is in a swarm we joined: we are the joiner, so we open a channel to each (which
    /// starts negotiation), up to the per-content limit.
    pub fn connect_to(&mut self, content: ContentId, peers: Vec<PeerId>) {
        for id in peers {
            if !self.contents.contains_key(&content) || self.channel_count(content) >= MAX_CHANNELS_PER_CONTENT {
                return;
            }
            let Some(peer) = self.peer_or_connect(&id) else { continue };
            if peer.channels.contains_key(&content) {
                continue;
            }
            let init = RtcDataChannelInit::new();
            init.set_ordered(true);
            let dc = peer.pc.create_data_channel_with_data_channel_dict(&content.to_string(), &init);
            peer.idle_since = None;
            self.add_channel(&id, content, dc);
        }
    }

    /// A channel the remote peer opened: accepted if it names a content we have and there is room.
    fn on_remote_channel(&mut self, from: &PeerId, dc: RtcDataChannel) {
        if dc.label() == crate::discovery::LABEL {
            return self.on_neighbour_channel(from, dc);
        }
        let content = ContentId::from_str(&dc.label()).ok().filter(|c| self.contents.contains_key(c));
        let Some(content) = content else {
            dc.close();
            return;
        };
        let Some(peer) = self.peers.get(from) else {
            dc.close();
            return;
        };
        if let Some(&ours) = peer.channels.get(&content) {
            // Both sides opened a channel for this content at once (both joined together). Both must keep the
            // same one, without a round trip: the impolite peer's channel wins.
            if !peer.polite {
                dc.close();
                return;
            }
            self.channel_closed(ours);
        } else if self.channel_count(content) >= MAX_CHANNELS_PER_CONTENT {
            dc.close();
            return;
        }
        if let Some(p) = self.peers.get_mut(from) {
            p.idle_since = None;
        }
        self.add_channel(from, content, dc);
    }

    /// A relayed WebRTC payload from `from`.
    pub fn on_signal(&mut self, from: PeerId, payload: SignalPayload) {
        match payload {
            SignalPayload::Offer { sdp } => self.on_description(from, RtcSdpType::Offer, sdp),
            SignalPayload::Answer { sdp } => self.on_description(from, RtcSdpType::Answer, sdp),
            SignalPayload::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
                let Some(peer) = self.peers.get(&from) else { return };
                if candidate.len() > MAX_SDP_LEN {
                    return;
                }
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index);
                let ignore = peer.ignore_offer;
                let promise = peer.pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(e) = JsFuture::from(promise).await
                        && !ignore
                    {
                        web_sys::console::warn_1(&format!("ICE candidate refused: {}", describe(&e)).into());
                    }
                });
            }
        }
    }

    fn on_description(&mut self, from: PeerId, kind: RtcSdpType, sdp: String) {
        if sdp.len() > MAX_SDP_LEN {
            return;
        }
        let is_offer = kind == RtcSdpType::Offer;
        // Only an offer may create a connection: an answer for a connection we do not have is stale.
        let peer = if is_offer { self.peer_or_connect(&from) } else { self.peers.get_mut(&from) };
        let Some(peer) = peer else { return };
        let collision = is_offer && (peer.making_offer || peer.pc.signaling_state() != RtcSignalingState::Stable);
        peer.ignore_offer = !peer.polite && collision;
        if peer.ignore_offer {
            return;
        }
        let init = RtcSessionDescriptionInit::new(kind);
        init.set_sdp(&sdp);
        // Called now, not after an await, so the browser's operation chain keeps the order signals arrived in.
        let promise = peer.pc.set_remote_description(&init);
        let pc = peer.pc.clone();
        let weak = self.weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = JsFuture::from(promise).await {
                web_sys::console::warn_1(&format!("remote description refused: {}", describe(&e)).into());
                return;
            }
            if is_offer {
                match set_local_description(&pc).await {
                    Ok(()) => {
                        with_core(&weak, |core| send_local_description(core, &from, &pc));
                    }
                    Err(e) => web_sys::console::warn_1(&format!("answer failed: {}", describe(&e)).into()),
                }
            }
        });
    }

    /// Closes the connection to `id` and every channel on it.
    pub fn drop_peer(&mut self, id: &PeerId) {
        let Some(peer) = self.peers.get(id) else { return };
        let conns: Vec<ConnId> = peer.channels.values().copied().collect();
        let neighbour = peer.discovery;
        for conn in conns {
            self.channel_closed(conn);
        }
        if let Some(conn) = neighbour {
            self.neighbour_closed(conn);
        }
        self.peers.remove(id);
    }

    /// Closes connections that have carried no channel for [`IDLE_PEER_MS`] (never connected, or every content
    /// on them stopped).
    pub fn drop_idle_peers(&mut self) {
        let now = clock::now().as_millis();
        for peer in self.peers.values_mut() {
            if peer.channels.is_empty() && peer.discovery.is_none() {
                peer.idle_since.get_or_insert(now);
            } else {
                peer.idle_since = None;
            }
        }
        let idle: Vec<PeerId> = self
            .peers
            .values()
            .filter(|p| p.idle_since.is_some_and(|t| now.saturating_sub(t) > IDLE_PEER_MS))
            .map(|p| p.id.clone())
            .collect();
        for id in idle {
            self.drop_peer(&id);
        }
    }
}

/// `negotiationneeded`: make an offer (perfect negotiation's offerer side).
async fn negotiate(weak: WeakCore, id: PeerId) {
    let pc = with_core(&weak, |core| {
        core.peers.get_mut(&id).map(|p| {
            p.making_offer = true;
            p.pc.clone()
        })
    })
    .flatten();
    let Some(pc) = pc else { return };
    let result = set_local_description(&pc).await;
    with_core(&weak, |core| {
        if let Some(p) = core.peers.get_mut(&id) {
            p.making_offer = false;
        }
        match result {
            Ok(()) => send_local_description(core, &id, &pc),
            Err(e) => web_sys::console::warn_1(&format!("offer failed: {}", describe(&e)).into()),
        }
    });
}
