//! [`Channel`]: one data channel (one content with one remote peer) and its send path with back-pressure.
//!
//! The browser buffers what `send` is given without limit, so the shell watches `bufferedAmount`: above
//! [`HIGH_WATER`] new messages are parked here, in order, and handed over again when `bufferedamountlow` fires
//! at [`LOW_WATER`]. Parked bytes pause the content's storage reads (see `Core::start_reads`), so parking stays
//! small and the swarm's upload queue remains the only real queue; [`MAX_PARKED`] is the hard stop.

use std::collections::VecDeque;

use js_sys::{ArrayBuffer, Uint8Array};
use swarm::id::ContentId;
use swarm::signal::PeerId;
use swarm::{ConnId, Input};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, RtcDataChannel, RtcDataChannelState, RtcDataChannelType};

use crate::core::{WeakCore, with_core};
use crate::error::describe;

/// Browser-side buffer above which sends are parked, in bytes. 4 MiB keeps a 25 MB/s channel busy for 160 ms
/// (ENVIRONMENT.md's raw-channel measurement used the same mark).
pub const HIGH_WATER: u32 = 4 * 1024 * 1024;
/// Buffer level at which `bufferedamountlow` fires and parked messages flow again, in bytes.
pub const LOW_WATER: u32 = 1024 * 1024;
/// Parked bytes beyond which the peer is dropped: it is not reading what it asked for.
pub const MAX_PARKED: usize = 16 * 1024 * 1024;

/// The remote side is not reading: the channel would need more than [`MAX_PARKED`] bytes parked.
#[derive(Debug)]
pub struct Overrun;

/// One data channel.
#[derive(Debug)]
pub struct Channel {
    pub conn: ConnId,
    pub peer: PeerId,
    pub content: ContentId,
    dc: RtcDataChannel,
    /// Whether the swarm was told `PeerConnected` (so it must be told `PeerDisconnected`).
    pub opened: bool,
    parked: VecDeque<Vec<u8>>,
    pub parked_bytes: usize,
    send_failed: bool,
    _handlers: [Closure<dyn FnMut(JsValue)>; 4],
}

impl Channel {
    pub fn new(weak: WeakCore, conn: ConnId, peer: PeerId, content: ContentId, dc: RtcDataChannel) -> Self {
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        dc.set_buffered_amount_low_threshold(LOW_WATER);
        let on_open = {
            let weak = weak.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                with_core(&weak, |core| {
                    let Some(channel) = core.channels.get_mut(&conn) else { return };
                    // What was sent before the channel opened (see `send`) goes now.
                    channel.drain();
                    if !channel.opened {
                        channel.opened = true;
                        core.input(content, Input::PeerConnected { conn });
                    }
                });
            })
        };
        let on_message = {
            let weak = weak.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let Ok(event) = event.dyn_into::<MessageEvent>() else { return };
                let data = event.data();
                let bytes = match data.dyn_into::<ArrayBuffer>() {
                    Ok(buffer) => Uint8Array::new(&buffer).to_vec(),
                    // A text message is not a wire message: hand its bytes to the swarm, which rejects them.
                    Err(other) => other.as_string().unwrap_or_default().into_bytes(),
                };
                with_core(&weak, |core| {
                    let Some(channel) = core.channels.get_mut(&conn) else { return };
                    // Chromium can deliver the remote's first message before `open` on the side that created the
                    // channel (the remote sent right after the channel announcement): the channel is open then.
                    if !channel.opened {
                        channel.opened = true;
                        core.input(content, Input::PeerConnected { conn });
                    }
                    core.input(content, Input::Received { conn, bytes: &bytes });
                });
            })
        };
        let on_close = {
            let weak = weak.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                with_core(&weak, |core| core.channel_closed(conn));
            })
        };
        let on_low = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            with_core(&weak, |core| {
                let Some(channel) = core.channels.get_mut(&conn) else { return };
                channel.drain();
                core.start_reads(content);
            });
        });
        dc.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        dc.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        dc.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        dc.set_onbufferedamountlow(Some(on_low.as_ref().unchecked_ref()));
        let opened = dc.ready_state() == RtcDataChannelState::Open;
        Channel {
            conn,
            peer,
            content,
            dc,
            opened,
            parked: VecDeque::new(),
            parked_bytes: 0,
            send_failed: false,
            _handlers: [on_open, on_message, on_close, on_low],
        }
    }

    pub fn is_open(&self) -> bool {
        self.opened
    }

    /// Sends one message now, or parks it behind earlier ones while the browser's buffer is above the mark or
    /// the channel is not open yet: the remote's first message can arrive (and the swarm answer it) before this
    /// side's `open` event, notably when the channel is added to a connection that already carries another one,
    /// and `send` throws until then.
    pub fn send(&mut self, bytes: Vec<u8>) -> Result<(), Overrun> {
        if self.parked.is_empty() && self.is_ready() && self.dc.buffered_amount() < HIGH_WATER {
            self.hand_over(&bytes);
            return Ok(());
        }
        if self.parked_bytes + bytes.len() > MAX_PARKED {
            return Err(Overrun);
        }
        self.parked_bytes += bytes.len();
        self.parked.push_back(bytes);
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.dc.ready_state() == RtcDataChannelState::Open
    }

    /// Hands parked messages to the browser until its buffer is above the mark again.
    pub fn drain(&mut self) {
        while self.is_ready() && self.dc.buffered_amount() < HIGH_WATER {
            let Some(bytes) = self.parked.pop_front() else { break };
            self.parked_bytes -= bytes.len();
            self.hand_over(&bytes);
        }
    }

    /// Gives one message to the browser. A failure means the channel is closing or the message is over the
    /// remote's SCTP maximum; either way the stream now has a hole, so nothing more is sent on it (the remote
    /// would read later messages without the lost one, e.g. requests without a handshake) and the channel is
    /// closed: its close event tells the swarm, which may connect again cleanly. Logged once per channel.
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

    /// Closes the channel without any further callback into the shell. Parked messages (a goodbye, say) are
    /// handed over first: the browser sends what it buffered before the channel closes.
    pub fn close(mut self) {
        for bytes in std::mem::take(&mut self.parked) {
            self.hand_over(&bytes);
        }
        self.dc.set_onopen(None);
        self.dc.set_onmessage(None);
        self.dc.set_onclose(None);
        self.dc.set_onbufferedamountlow(None);
        self.dc.close();
    }
}
