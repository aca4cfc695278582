//! [`Socket`]: the WebSocket to the signaling server, and nothing else. When to connect, ping, give up a silent
//! server, retry and pace requests is the node's schedule (`swarm::node::server`); this opens and closes the
//! socket it asks for, writes its frames, and reports what arrives and when the socket is gone.
//!
//! Losing the server does not touch established WebRTC connections: transfers go on peer to peer.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, WebSocket};

/// What the socket reports.
#[derive(Debug)]
pub enum SocketEvent {
    /// One text frame from the server.
    Frame(String),
    /// The socket closed or failed (reported once per socket); it is gone.
    Closed,
}

/// The socket, when one is open or opening.
pub struct Socket {
    url: String,
    ws: Option<WebSocket>,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl core::fmt::Debug for Socket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Socket").field("url", &self.url).field("open", &self.ws.is_some()).finish()
    }
}

impl Socket {
    pub fn new(url: String) -> Self {
        Socket { url, ws: None, _handlers: Vec::new() }
    }

    /// Opens a new socket (closing any old one without a report). `Err` if the browser refuses at once: nothing
    /// more will be reported for it.
    pub fn connect(&mut self, report: Rc<dyn Fn(SocketEvent)>) -> Result<(), JsValue> {
        self.disconnect();
        let ws = WebSocket::new(&self.url)?;
        let on_message = {
            let report = report.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                if let Some(text) = event.dyn_into::<MessageEvent>().ok().and_then(|e| e.data().as_string()) {
                    report(SocketEvent::Frame(text));
                }
            })
        };
        // `error` is followed by `close`; the first of them reports, and the socket's handlers go with it.
        let on_gone = Closure::<dyn FnMut(JsValue)>::new(move |_| report(SocketEvent::Closed));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_gone.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_gone.as_ref().unchecked_ref()));
        self.ws = Some(ws);
        self._handlers = vec![on_message, on_gone];
        Ok(())
    }

    /// Closes the socket at once, without a report (also after [`SocketEvent::Closed`], to forget it).
    pub fn disconnect(&mut self) {
        if let Some(ws) = self.ws.take() {
            ws.set_onmessage(None);
            ws.set_onclose(None);
            ws.set_onerror(None);
            let _ = ws.close();
        }
        self._handlers.clear();
    }

    /// Writes one text frame; dropped if the socket is not open (the node sends only once welcomed).
    pub fn send(&self, text: &str) {
        if let Some(ws) = &self.ws
            && ws.ready_state() == WebSocket::OPEN
        {
            let _ = ws.send_with_str(text);
        }
    }
}
