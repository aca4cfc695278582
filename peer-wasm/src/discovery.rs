//! [`Network`]: the page's membership in a discovery network (docs/PROTOCOL.md section 4), a thin shell around
//! [`swarm::discovery::Discovery`].
//!
//! The shell joins the signaling swarm `net:<name>` on every welcome, opens a data channel labelled `discovery`
//! (as the offerer) to up to `degree` members of the `joined` list, accepts such channels from others up to
//! `max_neighbours`, and runs the discovery loop exactly like a content's (`Core::drive`): feed one input, drain
//! the outputs, arm the one timer. The channel rides on the RTCPeerConnection the page already has with that
//! peer, if any (see [`crate::peer`]). Which files are announced, how queries travel and how results rank is
//! all in the core.

use std::collections::VecDeque;

use swarm::VecMap;

use js_sys::{ArrayBuffer, Uint8Array};
use swarm::ConnId;
use swarm::discovery::{CommandError, Config, Discovery, Entry, Event, Input, NetworkName, Output, SearchId};
use swarm::id::ContentId;
use swarm::signal::{PeerId, PeerRequest, SwarmName};
use swarm::time::Instant;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, RtcDataChannel, RtcDataChannelInit, RtcDataChannelState, RtcDataChannelType};

use crate::clock;
use crate::core::{Core, clear_timeout, set_timeout, with_core};
use crate::events::UiEvent;
use crate::signaling::State;

/// The data channel label of a discovery neighbour.
pub const LABEL: &str = "discovery";
/// While below `degree`, the page asks the server for other members again this often, in milliseconds (a
/// `join` of a swarm one is in returns a fresh random subset).
const REJOIN_EVERY_MS: u64 = 10_000;
/// A channel that has not opened after this long is given up, in milliseconds (its slot goes to another member).
const OPEN_LIMIT_MS: u64 = 30_000;
/// Bytes the browser may buffer on a neighbour's channel; beyond, the neighbour is not reading and is dropped.
/// Discovery messages are at most 16 KiB and neighbours rate-limit each other, so a live one never gets near.
const MAX_BUFFERED: u32 = 1024 * 1024;

/// One `discovery` data channel.
#[derive(Debug)]
pub struct Neighbour {
    pub peer: PeerId,
    dc: RtcDataChannel,
    /// Whether the core was told `NeighbourConnected` (so it must be told `NeighbourDisconnected`).
    opened: bool,
    /// Messages for a channel the remote already uses but whose `open` event has not come yet (`send` throws
    /// until then), at most [`MAX_BUFFERED`] bytes; sent on `open`.
    parked: VecDeque<Vec<u8>>,
    parked_bytes: usize,
    /// When it was created, in milliseconds of the shell's clock (for [`OPEN_LIMIT_MS`]).
    created: u64,
    _handlers: [Closure<dyn FnMut(JsValue)>; 3],
}

impl Neighbour {
    fn is_open(&self) -> bool {
        self.dc.ready_state() == RtcDataChannelState::Open
    }

    /// Sends now, or parks until `open`. `Err` when the remote is not reading (too much buffered or parked).
    fn send(&mut self, bytes: Vec<u8>) -> Result<(), ()> {
        if self.dc.buffered_amount() > MAX_BUFFERED || self.parked_bytes + bytes.len() > MAX_BUFFERED as usize {
            return Err(());
        }
        if self.is_open() && self.parked.is_empty() {
            if let Err(e) = self.dc.send_with_u8_array(&bytes) {
                // The channel is closing: its close event follows and tells the core.
                web_sys::console::warn_1(&e);
            }
        } else {
            self.parked_bytes += bytes.len();
            self.parked.push_back(bytes);
        }
        Ok(())
    }

    fn flush(&mut self) {
        while self.is_open() {
            let Some(bytes) = self.parked.pop_front() else { break };
            self.parked_bytes -= bytes.len();
            if let Err(e) = self.dc.send_with_u8_array(&bytes) {
                web_sys::console::warn_1(&e);
            }
        }
    }

    fn close(self) {
        self.dc.set_onopen(None);
        self.dc.set_onmessage(None);
        self.dc.set_onclose(None);
        self.dc.close();
    }
}

/// The armed `setTimeout` for [`Discovery::poll_timeout`].
#[derive(Debug)]
struct Timer {
    handle: i32,
    at: Instant,
    _callback: Closure<dyn FnMut()>,
}

/// The discovery network this page is in.
#[derive(Debug)]
pub struct Network {
    pub name: NetworkName,
    pub discovery: Discovery,
    degree: usize,
    max_neighbours: usize,
    /// Every discovery channel, opened or not, by connection id.
    pub neighbours: VecMap<ConnId, Neighbour>,
    timer: Option<Timer>,
    /// When `join` was last sent, in milliseconds of the shell's clock.
    last_join: u64,
    /// The neighbour count the page was last told.
    reported: Option<usize>,
}

impl Network {
    pub fn new(name: NetworkName) -> Self {
        let config = Config::default();
        Network {
            name,
            degree: config.degree,
            max_neighbours: config.max_neighbours,
            discovery: Discovery::new(config, clock::random_u64()),
            neighbours: VecMap::new(),
            timer: None,
            last_join: 0,
            reported: None,
        }
    }

    fn swarm(&self) -> Option<SwarmName> {
        SwarmName::parse(&self.name.swarm()).ok()
    }

    /// Whether `swarm` is this network's signaling swarm.
    pub fn is_swarm(&self, swarm: &SwarmName) -> bool {
        swarm.as_str() == self.name.swarm()
    }

    /// Neighbours the core accepted (channel open).
    pub fn neighbour_count(&self) -> usize {
        self.discovery.neighbours().count()
    }
}

impl Core {
    /// Joins the network's signaling swarm (on every welcome, and again while short of neighbours).
    pub fn network_join(&mut self) {
        if let Some(swarm) = self.network.swarm() {
            self.network.last_join = clock::now().as_millis();
            self.signaling.send(&PeerRequest::Join { swarm });
        }
    }

    /// The server listed members of the network: open a `discovery` channel to each, up to `degree` channels.
    pub fn network_joined(&mut self, peers: Vec<PeerId>) {
        for id in peers {
            if self.network.neighbours.len() >= self.network.degree {
                return;
            }
            let Some(peer) = self.peer_or_connect(&id) else { continue };
            if peer.discovery.is_some() {
                continue;
            }
            let init = RtcDataChannelInit::new();
            init.set_ordered(true);
            let dc = peer.pc.create_data_channel_with_data_channel_dict(LABEL, &init);
            self.add_neighbour(&id, dc);
        }
    }

    /// A `discovery` channel the remote peer opened: kept if there is room. When both sides opened one at once,
    /// both keep the impolite peer's, as for content channels.
    pub fn on_neighbour_channel(&mut self, from: &PeerId, dc: RtcDataChannel) {
        let Some(peer) = self.peers.get(from) else {
            dc.close();
            return;
        };
        if let Some(ours) = peer.discovery {
            if !peer.polite {
                dc.close();
                return;
            }
            self.neighbour_closed(ours);
        } else if self.network.neighbours.len() >= self.network.max_neighbours {
            dc.close();
            return;
        }
        self.add_neighbour(from, dc);
    }

    fn add_neighbour(&mut self, peer: &PeerId, dc: RtcDataChannel) {
        let conn = self.next_conn_id();
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        let weak = self.weak.clone();
        let on_open = {
            let weak = weak.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                with_core(&weak, |core| {
                    if let Some(n) = core.network.neighbours.get_mut(&conn) {
                        n.flush();
                    }
                    core.neighbour_opened(conn);
                });
            })
        };
        let on_message = {
            let weak = weak.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let Ok(event) = event.dyn_into::<MessageEvent>() else { return };
                let bytes = match event.data().dyn_into::<ArrayBuffer>() {
                    Ok(buffer) => Uint8Array::new(&buffer).to_vec(),
                    // A text message is not a discovery message: the core counts it as malformed.
                    Err(other) => other.as_string().unwrap_or_default().into_bytes(),
                };
                with_core(&weak, |core| {
                    // The remote's first message can arrive before `open` on the side that created the channel:
                    // the core hears it now, and what it answers is parked until `open`.
                    core.neighbour_opened(conn);
                    core.network_input(Input::Received { conn, bytes: &bytes });
                });
            })
        };
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            with_core(&weak, |core| core.neighbour_closed(conn));
        });
        dc.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        dc.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        dc.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let open = dc.ready_state() == RtcDataChannelState::Open;
        let neighbour = Neighbour {
            peer: peer.clone(),
            dc,
            opened: false,
            parked: VecDeque::new(),
            parked_bytes: 0,
            created: clock::now().as_millis(),
            _handlers: [on_open, on_message, on_close],
        };
        self.network.neighbours.insert(conn, neighbour);
        if let Some(p) = self.peers.get_mut(peer) {
            p.discovery = Some(conn);
            p.idle_since = None;
        }
        if open {
            self.neighbour_opened(conn);
        }
    }

    fn neighbour_opened(&mut self, conn: ConnId) {
        let Some(n) = self.network.neighbours.get_mut(&conn) else { return };
        if !n.opened {
            n.opened = true;
            self.network_input(Input::NeighbourConnected { conn });
        }
    }

    /// Closes a discovery channel and forgets it, without telling the core (it already knows, or never knew).
    fn close_neighbour(&mut self, conn: ConnId) -> bool {
        let Some(n) = self.network.neighbours.remove(&conn) else { return false };
        if let Some(p) = self.peers.get_mut(&n.peer)
            && p.discovery == Some(conn)
        {
            p.discovery = None;
        }
        let opened = n.opened;
        n.close();
        opened
    }

    /// A discovery channel closed (by the other side, the network, or its connection dropping): tell the core.
    pub fn neighbour_closed(&mut self, conn: ConnId) {
        if self.close_neighbour(conn) {
            self.network_input(Input::NeighbourDisconnected { conn });
        }
    }

    /// Feeds one input to the discovery core and runs its loop.
    pub fn network_input(&mut self, input: Input<'_>) {
        self.network.discovery.handle_input(clock::now(), input);
        self.network_drive();
    }

    /// The run loop's second and third steps for discovery: drain the outputs, then arm the timer.
    pub fn network_drive(&mut self) {
        let mut gone = Vec::new();
        while let Some(output) = self.network.discovery.poll_output() {
            match output {
                Output::Send { conn, bytes } => {
                    let Some(n) = self.network.neighbours.get_mut(&conn) else { continue };
                    if n.send(bytes).is_err() {
                        gone.push(conn);
                    }
                }
                Output::Close { conn } => {
                    self.close_neighbour(conn);
                }
                Output::Event(Event::Result { search, entry, score, sources }) => {
                    self.emit(search_result(search, entry, score, sources));
                }
                Output::Event(Event::NeighbourDropped { conn, reason }) => {
                    let what = format!("discovery: neighbour {} dropped: {reason}", conn.0);
                    web_sys::console::warn_1(&what.into());
                }
            }
        }
        for conn in gone {
            if self.close_neighbour(conn) {
                self.network.discovery.handle_input(clock::now(), Input::NeighbourDisconnected { conn });
            }
        }
        // Outputs of the disconnections above (none today) wait for the next input or timer.
        self.arm_network_timer();
        self.report_neighbours();
    }

    fn arm_network_timer(&mut self) {
        let next = self.network.discovery.poll_timeout();
        if self.network.timer.as_ref().map(|t| t.at) == next {
            return;
        }
        if let Some(old) = self.network.timer.take() {
            clear_timeout(old.handle);
        }
        let Some(at) = next else { return };
        let weak = self.weak.clone();
        let callback = Closure::<dyn FnMut()>::new(move || {
            with_core(&weak, |core| {
                core.network.timer = None;
                core.network.discovery.handle_timeout(clock::now());
                core.network_drive();
            });
        });
        let delay = at.saturating_since(clock::now()).as_millis().min(i32::MAX as u128) as i32;
        if let Some(handle) = set_timeout(&callback, delay) {
            self.network.timer = Some(Timer { handle, at, _callback: callback });
        }
    }

    /// Tells the page the network and its neighbour count when the count changed.
    pub fn report_neighbours(&mut self) {
        let count = self.network.neighbour_count();
        if self.network.reported != Some(count) {
            self.network.reported = Some(count);
            self.emit(UiEvent::Network { name: self.network.name.to_string(), neighbours: count });
        }
    }

    /// Housekeeping on the page's tick: give up channels that never opened, ask for members while short.
    pub fn network_tick(&mut self) {
        let now = clock::now().as_millis();
        let stale: Vec<ConnId> = self
            .network
            .neighbours
            .iter()
            .filter(|(_, n)| !n.opened && now.saturating_sub(n.created) > OPEN_LIMIT_MS)
            .map(|(c, _)| *c)
            .collect();
        for conn in stale {
            self.close_neighbour(conn);
        }
        if self.signaling.state == State::Connected
            && self.network.neighbours.len() < self.network.degree
            && now.saturating_sub(self.network.last_join) > REJOIN_EVERY_MS
        {
            self.network_join();
        }
    }

    /// Announces a content this page can serve in full (a share, or a completed download that seeds).
    pub fn network_share(&mut self, id: ContentId) {
        let Some(content) = self.contents.get(&id) else { return };
        let Some(manifest) = content.swarm.manifest().filter(|_| content.swarm.is_complete()) else { return };
        let entry = Entry {
            content: id,
            size: manifest.size(),
            name: manifest.name().to_owned(),
            media_type: manifest.media_type().to_owned(),
        };
        if let Err(e) = self.network.discovery.share(clock::now(), entry) {
            web_sys::console::warn_1(&format!("discovery: {e}").into());
        }
        self.network_drive();
    }

    pub fn network_unshare(&mut self, id: ContentId) {
        self.network.discovery.unshare(id);
        self.network_drive();
    }

    pub fn network_search(&mut self, text: &str) -> Result<SearchId, CommandError> {
        let result = self.network.discovery.search(clock::now(), text);
        self.network_drive();
        result
    }
}

/// A search id as the page sees it: 16 hex digits.
pub fn search_id_text(id: SearchId) -> String {
    format!("{:016x}", id.0)
}

fn search_result(search: SearchId, entry: Entry, score: u32, sources: u32) -> UiEvent {
    UiEvent::SearchResult {
        search: search_id_text(search),
        content: entry.content.to_string(),
        name: entry.name,
        size: entry.size,
        media_type: entry.media_type,
        score,
        sources,
    }
}
