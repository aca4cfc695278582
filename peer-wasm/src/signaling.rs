//! The signaling client: one WebSocket to the server, JSON frames typed by `swarm::signal`, reconnection with
//! backoff and jitter.
//!
//! Losing the server does not touch established WebRTC connections: transfers go on peer to peer, and on
//! reconnection the page gets a new peer id and re-joins every swarm it is in. Signals that cannot be sent while
//! the server is away are dropped, not queued: an SDP or a candidate is stale by the time a server comes back,
//! and the peer it was for may have a new id.

use core::str::FromStr;

use swarm::id::ContentId;
use swarm::signal::{ErrorCode, PeerRequest, ServerEvent};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, WebSocket};

use crate::clock;
use crate::core::{Core, clear_timeout, set_timeout, with_core};
use crate::error::ErrorKind;
use crate::events::UiEvent;
use swarm::node::backoff::Backoff;

/// A server silent for this long is presumed gone and the socket is replaced, in milliseconds. The page pings
/// every [`PING_EVERY_MS`], so a live server always speaks well within it.
const SILENCE_LIMIT_MS: u64 = 60_000;
pub const PING_EVERY_MS: u64 = 20_000;

/// Connection state, as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// First connection, not welcomed yet.
    Connecting,
    Connected,
    /// Lost after being connected (or never reached): retrying with backoff.
    Reconnecting,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Connected => "connected",
            State::Reconnecting => "reconnecting",
        }
    }
}

/// The socket and its retry schedule.
#[derive(Debug)]
pub struct Signaling {
    url: String,
    ws: Option<WebSocket>,
    pub state: State,
    backoff: Backoff,
    retry: Option<(i32, Closure<dyn FnMut()>)>,
    /// When a frame last arrived, in milliseconds of the shell's clock.
    last_heard: u64,
    last_ping: u64,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Signaling {
    pub fn new(url: String) -> Self {
        Signaling {
            url,
            ws: None,
            state: State::Connecting,
            backoff: Backoff::default(),
            retry: None,
            last_heard: 0,
            last_ping: 0,
            _handlers: Vec::new(),
        }
    }

    /// Sends a request if the socket is open; drops it otherwise (see the module doc).
    pub fn send(&self, request: &PeerRequest) {
        let Some(ws) = &self.ws else { return };
        if self.state != State::Connected || ws.ready_state() != WebSocket::OPEN {
            return;
        }
        let _ = ws.send_with_str(&request.to_json());
    }

    fn close_socket(&mut self) {
        if let Some(ws) = self.ws.take() {
            ws.set_onopen(None);
            ws.set_onmessage(None);
            ws.set_onclose(None);
            ws.set_onerror(None);
            let _ = ws.close();
        }
        self._handlers.clear();
    }
}

impl Core {
    /// Opens the socket (first connection or a retry).
    pub fn signaling_connect(&mut self) {
        self.signaling.close_socket();
        if let Some((handle, _)) = self.signaling.retry.take() {
            clear_timeout(handle);
        }
        let ws = match WebSocket::new(&self.signaling.url) {
            Ok(ws) => ws,
            Err(_) => return self.signaling_lost(),
        };
        let weak = self.weak.clone();
        let on_message = {
            let weak = weak.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let Some(text) = event.dyn_into::<MessageEvent>().ok().and_then(|e| e.data().as_string()) else {
                    return;
                };
                with_core(&weak, |core| core.on_server_frame(&text));
            })
        };
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            with_core(&weak, |core| core.signaling_lost());
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.signaling.last_heard = clock::now().as_millis();
        self.signaling.ws = Some(ws);
        self.signaling._handlers = vec![on_message, on_close];
    }

    /// The socket closed or could not open: show it and retry after a jittered delay.
    fn signaling_lost(&mut self) {
        self.signaling.close_socket();
        if self.signaling.state != State::Reconnecting {
            self.signaling.state = State::Reconnecting;
            self.emit(UiEvent::Signaling { state: State::Reconnecting.as_str() });
        }
        let delay = self.signaling.backoff.next_delay(clock::random_unit());
        let weak = self.weak.clone();
        let callback = Closure::<dyn FnMut()>::new(move || {
            with_core(&weak, |core| {
                core.signaling.retry = None;
                core.signaling_connect();
            });
        });
        if let Some(handle) = set_timeout(&callback, delay.as_millis() as i32) {
            self.signaling.retry = Some((handle, callback));
        }
    }

    /// Called every stats tick: pings the server and replaces a silent socket.
    pub fn signaling_tick(&mut self) {
        let now = clock::now().as_millis();
        if self.signaling.ws.is_none() {
            return;
        }
        if now.saturating_sub(self.signaling.last_heard) > SILENCE_LIMIT_MS {
            self.signaling_lost();
        } else if self.signaling.state == State::Connected
            && now.saturating_sub(self.signaling.last_ping) > PING_EVERY_MS
        {
            self.signaling.last_ping = now;
            self.signaling.send(&PeerRequest::Ping);
        }
    }

    fn on_server_frame(&mut self, text: &str) {
        self.signaling.last_heard = clock::now().as_millis();
        let event = match ServerEvent::parse(text) {
            Ok(event) => event,
            Err(e) => {
                web_sys::console::warn_1(&format!("signaling frame ignored: {e}").into());
                return;
            }
        };
        match event {
            ServerEvent::Welcome { peer_id, ice_servers } => {
                self.me = Some(peer_id);
                self.ice_servers = ice_servers;
                self.signaling.state = State::Connected;
                self.signaling.backoff.reset();
                self.emit(UiEvent::Signaling { state: State::Connected.as_str() });
                let ids: Vec<ContentId> = self.contents.keys().copied().collect();
                for id in ids {
                    self.join_swarm(id);
                }
                self.network_join();
            }
            ServerEvent::Joined { swarm, peers } => {
                if self.network.is_swarm(&swarm) {
                    self.network_joined(peers);
                } else if let Ok(id) = ContentId::from_str(swarm.as_str()) {
                    self.connect_to(id, peers);
                }
            }
            ServerEvent::Signal { from, payload } => self.on_signal(from, payload),
            // A member leaving a swarm is seen on the data channel (goodbye or close); the connection may carry
            // other contents, so nothing is torn down here.
            ServerEvent::PeerLeft { .. } | ServerEvent::Pong => {}
            ServerEvent::Error { code, message } => {
                web_sys::console::warn_1(&format!("signaling error {code:?}: {message}").into());
                // A refused relay concerns one remote peer (it left, or has as many messages waiting as it may
                // hold): that connection attempt fails on its own timer and the others go on, so there is
                // nothing for the user to act on.
                if !matches!(code, ErrorCode::PeerBusy | ErrorCode::UnknownPeer) {
                    self.emit_error(None, ErrorKind::Signaling, format!("The signaling server said: {message}"));
                }
            }
        }
    }
}
