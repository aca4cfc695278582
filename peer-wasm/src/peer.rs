//! [`PeerConnection`]: one RTCPeerConnection, doing what the node asks (make an offer, apply an offer and answer,
//! apply an answer, add a candidate, open a channel) and reporting what the browser says.
//!
//! Which side offers, which is polite, what to do on glare and which of two channels survives are the node's
//! rules (`swarm::node::peer`); `negotiationneeded` is not listened to. Every operation is started at once, in
//! the order the node asked for it, so the browser's operation chain keeps that order: a candidate added after
//! an offer is applied after it.

use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect};
use swarm::node::{PATH_RECHECK_FIRST, PATH_RECHECK_MAX, SdpKind};
use swarm::signal::IceServer;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcConfiguration, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelInit, RtcIceCandidateInit, RtcIceServer,
    RtcPeerConnection, RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
};

use crate::error::describe;

/// What a connection reports.
#[derive(Debug)]
pub enum PeerEvent {
    /// The description asked for ([`PeerConnection::make_offer`], [`PeerConnection::accept_offer`]) is made.
    Description {
        kind: SdpKind,
        sdp: String,
    },
    /// Making or applying a description failed.
    NegotiationFailed(String),
    /// An ICE candidate of this side.
    Candidate {
        candidate: String,
        sdp_mid: Option<String>,
        sdp_m_line_index: Option<u16>,
    },
    /// The remote peer opened a data channel.
    Channel(RtcDataChannel),
    Connected,
    /// The path the established connection took: through a TURN relay (a relayed candidate at either end of the
    /// selected pair) or direct.
    Path {
        relayed: bool,
    },
    /// The connection failed or closed.
    Closed,
    /// A TURN server refused this page's credentials (`icecandidateerror` 401 or 403): the code and its text.
    TurnRefused(u16, String),
}

/// Whether `pc`'s selected candidate pair has a relayed candidate at either end (`getStats`: the transport's
/// `selectedCandidatePairId`, or in Firefox the pair marked `selected`); `None` when the browser does not say.
async fn relayed(pc: &RtcPeerConnection) -> Option<bool> {
    let report = JsFuture::from(pc.get_stats()).await.ok()?;
    let get = |o: &JsValue, key: &str| Reflect::get(o, &key.into()).ok();
    let text = |o: &JsValue, key: &str| get(o, key).and_then(|v| v.as_string());
    let entries: Vec<JsValue> =
        js_sys::try_iter(&report).ok()??.filter_map(Result::ok).map(|e| Array::from(&e).get(1)).collect();
    let by_id = |id: &str| entries.iter().find(|e| text(e, "id").as_deref() == Some(id)).cloned();
    let selected = entries
        .iter()
        .find_map(|e| {
            (text(e, "type").as_deref() == Some("transport")).then(|| text(e, "selectedCandidatePairId")).flatten()
        })
        .and_then(|id| by_id(&id))
        .or_else(|| {
            entries
                .iter()
                .find(|e| {
                    text(e, "type").as_deref() == Some("candidate-pair")
                        && get(e, "selected").and_then(|v| v.as_bool()) == Some(true)
                })
                .cloned()
        })?;
    let kind = |key: &str| text(&selected, key).and_then(|id| by_id(&id)).and_then(|c| text(&c, "candidateType"));
    Some(kind("localCandidateId").as_deref() == Some("relay") || kind("remoteCandidateId").as_deref() == Some("relay"))
}

/// Reports the path of `pc`, now that it is connected, and again whenever it changes: ICE may move a connection to
/// another pair (a relayed pair nominated first, the direct one once its check is answered). Looked at again after
/// 1, 2, 4 ... s, then every minute, until the connection is no longer connected.
async fn watch_path(pc: RtcPeerConnection, report: Rc<dyn Fn(PeerEvent)>) {
    let mut shown = None;
    let mut wait = PATH_RECHECK_FIRST;
    while pc.connection_state() == RtcPeerConnectionState::Connected {
        let now = relayed(&pc).await;
        if now.is_some() && now != shown && pc.connection_state() == RtcPeerConnectionState::Connected {
            shown = now;
            report(PeerEvent::Path { relayed: now == Some(true) });
        }
        sleep_ms(i32::try_from(wait.as_millis()).unwrap_or(i32::MAX)).await;
        wait = (wait * 2).min(PATH_RECHECK_MAX);
    }
}

/// Resolves after `ms` (at once where there is no window to time it).
async fn sleep_ms(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window()
            && window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).is_ok()
        {
            return;
        }
        let _ = resolve.call0(&JsValue::UNDEFINED);
    });
    let _ = JsFuture::from(promise).await;
}

/// One remote peer's connection.
pub struct PeerConnection {
    pc: RtcPeerConnection,
    report: Rc<dyn Fn(PeerEvent)>,
    _handlers: [Closure<dyn FnMut(JsValue)>; 4],
}

impl core::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PeerConnection").field("state", &self.pc.connection_state()).finish()
    }
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        self.pc.set_onicecandidate(None);
        self.pc.set_ondatachannel(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.close();
    }
}

impl PeerConnection {
    /// A new connection using `ice_servers`; its events go to `report` until it is dropped.
    pub fn new(ice_servers: &[IceServer], report: Rc<dyn Fn(PeerEvent)>) -> Result<Self, String> {
        let pc = RtcPeerConnection::new_with_configuration(&rtc_configuration(ice_servers))
            .map_err(|e| format!("RTCPeerConnection: {}", describe(&e)))?;
        let on_candidate = {
            let report = report.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let Ok(event) = event.dyn_into::<RtcPeerConnectionIceEvent>() else { return };
                // A null or empty candidate marks the end of gathering: nothing to relay.
                let Some(c) = event.candidate().filter(|c| !c.candidate().is_empty()) else { return };
                let (sdp_mid, sdp_m_line_index) = (c.sdp_mid(), c.sdp_m_line_index());
                report(PeerEvent::Candidate { candidate: c.candidate(), sdp_mid, sdp_m_line_index });
            })
        };
        let on_channel = {
            let report = report.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                if let Ok(event) = event.dyn_into::<RtcDataChannelEvent>() {
                    report(PeerEvent::Channel(event.channel()));
                }
            })
        };
        let on_state = {
            let (report, pc) = (report.clone(), pc.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |_| match pc.connection_state() {
                RtcPeerConnectionState::Connected => {
                    report(PeerEvent::Connected);
                    wasm_bindgen_futures::spawn_local(watch_path(pc.clone(), report.clone()));
                }
                RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed => report(PeerEvent::Closed),
                _ => {}
            })
        };
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        pc.set_ondatachannel(Some(on_channel.as_ref().unchecked_ref()));
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        // web-sys has no `onicecandidateerror` setter: the listener, and the event's fields, by name.
        let on_ice_error = {
            let report = report.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let code = Reflect::get(&event, &"errorCode".into()).ok().and_then(|c| c.as_f64()).unwrap_or(0.0);
                if code == 401.0 || code == 403.0 {
                    let text = Reflect::get(&event, &"errorText".into()).ok().and_then(|t| t.as_string());
                    report(PeerEvent::TurnRefused(code as u16, text.unwrap_or_default()));
                }
            })
        };
        let _ = pc.add_event_listener_with_callback("icecandidateerror", on_ice_error.as_ref().unchecked_ref());
        Ok(PeerConnection { pc, report, _handlers: [on_candidate, on_channel, on_state, on_ice_error] })
    }

    /// Opens a reliable, ordered data channel (negotiated in band on the connection's SCTP association).
    pub fn open_channel(&self, label: &str) -> RtcDataChannel {
        let init = RtcDataChannelInit::new();
        init.set_ordered(true);
        self.pc.create_data_channel_with_data_channel_dict(label, &init)
    }

    /// The longest data-channel message the connection carries to the remote peer: `pc.sctp.maxMessageSize` (the
    /// remote's max-message-size, capped by what this browser sends; web-sys has no binding for it), infinite as
    /// `u32::MAX`. RFC 8841's default when the browser does not say (no SCTP transport: closing).
    pub fn max_message(&self) -> u32 {
        let size = Reflect::get(&self.pc, &"sctp".into())
            .ok()
            .filter(JsValue::is_object)
            .and_then(|sctp| Reflect::get(&sctp, &"maxMessageSize".into()).ok())
            .and_then(|size| size.as_f64());
        match size {
            // Saturating: Infinity is u32::MAX.
            Some(size) if size >= 1.0 => size as u32,
            _ => swarm::wire::DEFAULT_MAX_MESSAGE,
        }
    }

    /// `setLocalDescription()`: the browser makes the offer; reported as [`PeerEvent::Description`].
    pub fn make_offer(&self) {
        let (pc, report) = (self.pc.clone(), self.report.clone());
        let made = set_local_description(&pc);
        wasm_bindgen_futures::spawn_local(async move {
            match made.await {
                Ok(_) => report_local(&pc, SdpKind::Offer, &*report),
                Err(e) => report(PeerEvent::NegotiationFailed(format!("offer failed: {}", describe(&e)))),
            }
        });
    }

    /// Applies a remote offer (the browser rolls back an offer of this side first), then makes the answer.
    pub fn accept_offer(&self, sdp: &str) {
        let applied = self.set_remote(RtcSdpType::Offer, sdp);
        let (pc, report) = (self.pc.clone(), self.report.clone());
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = JsFuture::from(applied).await {
                report(PeerEvent::NegotiationFailed(format!("remote offer refused: {}", describe(&e))));
                return;
            }
            match set_local_description(&pc).await {
                Ok(_) => report_local(&pc, SdpKind::Answer, &*report),
                Err(e) => report(PeerEvent::NegotiationFailed(format!("answer failed: {}", describe(&e)))),
            }
        });
    }

    /// Applies the remote answer to this side's offer.
    pub fn accept_answer(&self, sdp: &str) {
        let applied = self.set_remote(RtcSdpType::Answer, sdp);
        let report = self.report.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = JsFuture::from(applied).await {
                report(PeerEvent::NegotiationFailed(format!("remote answer refused: {}", describe(&e))));
            }
        });
    }

    /// Adds a remote ICE candidate. A refused one is only logged: the connection has others, or fails on the
    /// node's timer.
    pub fn add_candidate(&self, candidate: &str, sdp_mid: Option<&str>, sdp_m_line_index: Option<u16>) {
        let init = RtcIceCandidateInit::new(candidate);
        init.set_sdp_mid(sdp_mid);
        init.set_sdp_m_line_index(sdp_m_line_index);
        let promise = self.pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = JsFuture::from(promise).await {
                web_sys::console::warn_1(&format!("ICE candidate refused: {}", describe(&e)).into());
            }
        });
    }

    fn set_remote(&self, kind: RtcSdpType, sdp: &str) -> Promise {
        let init = RtcSessionDescriptionInit::new(kind);
        init.set_sdp(sdp);
        self.pc.set_remote_description(&init)
    }
}

/// Reports the local description if it is still the `kind` asked for (a glare may have replaced an offer by the
/// time it is made: the answer that replaced it is reported by its own operation).
fn report_local(pc: &RtcPeerConnection, kind: SdpKind, report: &dyn Fn(PeerEvent)) {
    let Some(desc) = pc.local_description() else { return };
    let made = match desc.type_() {
        RtcSdpType::Offer => SdpKind::Offer,
        RtcSdpType::Answer => SdpKind::Answer,
        _ => return,
    };
    if made == kind {
        report(PeerEvent::Description { kind, sdp: desc.sdp() });
    }
}

/// `pc.setLocalDescription()` with no argument: the browser creates the right offer or answer for the current
/// state. web-sys only binds the one-argument form.
fn set_local_description(pc: &RtcPeerConnection) -> JsFuture {
    let promise = Reflect::get(pc, &JsValue::from_str("setLocalDescription"))
        .and_then(|f| f.dyn_into::<Function>())
        .and_then(|f| f.call0(pc))
        .and_then(|p| p.dyn_into::<Promise>())
        .unwrap_or_else(|e| Promise::reject(&e));
    JsFuture::from(promise)
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
