//! [`Channel`]: one data channel, whatever it carries (a content or discovery: the node routes by its topic), and
//! its send path with back-pressure.
//!
//! The browser buffers what `send` is given without limit, so the shell watches `bufferedAmount`: above
//! [`HIGH_WATER`] new messages are parked here, in order, and handed over again when `bufferedamountlow` fires at
//! [`LOW_WATER`]. Messages sent before the channel is open are parked too (`send` throws until then). Parked bytes
//! pause the content's storage reads (`core/files.rs`), so parking stays small and the swarm's upload queue remains
//! the only real queue; [`MAX_QUEUED`] is the hard stop: a peer that does not read what it asked for is given up.

use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Uint8Array};
use swarm::node::{HIGH_WATER, LOW_WATER, MAX_QUEUED};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, RtcDataChannel, RtcDataChannelState, RtcDataChannelType};

use crate::error::describe;

/// What a channel reports.
#[derive(Debug)]
pub enum ChannelEvent {
    Open,
    Message(Vec<u8>),
    Closed,
    /// The browser's buffer fell to [`LOW_WATER`]: parked messages went out, there may be room for more.
    Drained,
}

/// The remote side is not reading: the channel would need more than [`MAX_QUEUED`] bytes parked.
#[derive(Debug)]
pub struct Overrun;

/// One data channel.
pub struct Channel {
    dc: RtcDataChannel,
    parked: VecDeque<Vec<u8>>,
    parked_bytes: usize,
    send_failed: bool,
    _handlers: [Closure<dyn FnMut(JsValue)>; 4],
}

impl core::fmt::Debug for Channel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Channel").field("label", &self.dc.label()).field("parked_bytes", &self.parked_bytes).finish()
    }
}

impl Channel {
    /// Takes over `dc`: its events go to `report` until [`Channel::close`].
    pub fn new(dc: RtcDataChannel, report: Rc<dyn Fn(ChannelEvent)>) -> Self {
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        dc.set_buffered_amount_low_threshold(LOW_WATER as u32);
        let handler = |event: fn(JsValue) -> ChannelEvent| {
            let report = report.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |value: JsValue| report(event(value)))
        };
        let on_open = handler(|_| ChannelEvent::Open);
        let on_message = handler(|event| {
            let data = event.dyn_into::<MessageEvent>().map(|e| e.data()).unwrap_or_default();
            ChannelEvent::Message(match data.dyn_into::<ArrayBuffer>() {
                Ok(buffer) => Uint8Array::new(&buffer).to_vec(),
                // A text message is no message of ours: its bytes go to the node, which rejects them.
                Err(other) => other.as_string().unwrap_or_default().into_bytes(),
            })
        });
        let on_close = handler(|_| ChannelEvent::Closed);
        let on_low = handler(|_| ChannelEvent::Drained);
        dc.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        dc.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        dc.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        dc.set_onbufferedamountlow(Some(on_low.as_ref().unchecked_ref()));
        Channel {
            dc,
            parked: VecDeque::new(),
            parked_bytes: 0,
            send_failed: false,
            _handlers: [on_open, on_message, on_close, on_low],
        }
    }

    /// Whether the browser says the channel is open (a remote channel may be open when it is handed over).
    pub fn is_open(&self) -> bool {
        self.dc.ready_state() == RtcDataChannelState::Open
    }

    /// Bytes parked here, not yet handed to the browser.
    pub fn parked_bytes(&self) -> usize {
        self.parked_bytes
    }

    /// Sends one message now, or parks it behind earlier ones while the browser's buffer is above the mark or the
    /// channel is not open yet: the remote's first message can arrive (and be answered) before this side's `open`
    /// event, notably when the channel is added to a connection that already carries another one.
    pub fn send(&mut self, bytes: Vec<u8>) -> Result<(), Overrun> {
        if self.parked.is_empty() && self.is_open() && (self.dc.buffered_amount() as usize) < HIGH_WATER {
            self.hand_over(&bytes);
            return Ok(());
        }
        if self.parked_bytes + bytes.len() > MAX_QUEUED {
            return Err(Overrun);
        }
        self.parked_bytes += bytes.len();
        self.parked.push_back(bytes);
        Ok(())
    }

    /// Hands parked messages to the browser until its buffer is above the mark again.
    pub fn drain(&mut self) {
        while self.is_open() && (self.dc.buffered_amount() as usize) < HIGH_WATER {
            let Some(bytes) = self.parked.pop_front() else { break };
            self.parked_bytes -= bytes.len();
            self.hand_over(&bytes);
        }
    }

    /// Gives one message to the browser. A failure means the channel is closing or the message is over the
    /// remote's SCTP maximum; either way the stream now has a hole, so nothing more is sent on it (the remote
    /// would read later messages without the lost one, e.g. requests without a handshake) and the channel is
    /// closed: its close event tells the node, which may connect again cleanly. Logged once per channel.
    fn hand_over(&mut self, bytes: &[u8]) {
        if self.send_failed {
            return;
        }
        if let Err(e) = self.dc.send_with_u8_array(bytes) {
            self.send_failed = true;
            let what = format!("data channel send of {} bytes failed, closing it: {}", bytes.len(), describe(&e));
            web_sys::console::warn_1(&what.into());
            self.dc.close();
        }
    }

    /// Closes the channel without any further report. Parked messages (a goodbye, say) are handed over first:
    /// the browser sends what it buffered before the channel closes.
    pub fn close(mut self) {
        if self.is_open() {
            for bytes in std::mem::take(&mut self.parked) {
                self.hand_over(&bytes);
            }
        }
        self.dc.set_onopen(None);
        self.dc.set_onmessage(None);
        self.dc.set_onclose(None);
        self.dc.set_onbufferedamountlow(None);
        self.dc.close();
    }
}
