//! The network side of [`Core`]: the signaling socket, the peer connections and the data channels the node asks
//! for, and their events fed back as the node's inputs.

use std::rc::Rc;

use swarm::ConnId;
use swarm::node::Input;
use swarm::node::label::Topic;
use swarm::signal::PeerId;
use web_sys::RtcDataChannel;

use super::{Core, Wire, with_core};
use crate::channel::{Channel, ChannelEvent};
use crate::clock;
use crate::error::ErrorKind;
use crate::peer::{PeerConnection, PeerEvent};
use crate::socket::SocketEvent;

impl Core {
    pub(super) fn connect_signaling(&mut self) {
        let weak = self.weak.clone();
        let report = Rc::new(move |event| {
            with_core(&weak, |core| core.on_socket(event));
        });
        if let Err(e) = self.socket.connect(report) {
            web_sys::console::warn_1(&e);
            self.node.handle_input(clock::now(), Input::SignalingClosed);
        }
    }

    fn on_socket(&mut self, event: SocketEvent) {
        match event {
            SocketEvent::Frame(text) => self.input(Input::ServerFrame(&text)),
            SocketEvent::Closed => {
                self.socket.disconnect();
                self.input(Input::SignalingClosed);
            }
        }
    }

    pub(super) fn create_peer(&mut self, peer: PeerId) {
        let weak = self.weak.clone();
        let id = peer.clone();
        let report = Rc::new(move |event| {
            with_core(&weak, |core| core.on_peer(&id, event));
        });
        match PeerConnection::new(self.node.ice_servers(), report) {
            Ok(pc) => {
                self.peers.insert(peer, pc);
            }
            Err(why) => self.node.handle_input(clock::now(), Input::NegotiationFailed { peer, why }),
        }
    }

    fn on_peer(&mut self, peer: &PeerId, event: PeerEvent) {
        let peer = peer.clone();
        match event {
            PeerEvent::Description { kind, sdp } => self.input(Input::LocalDescription { peer, kind, sdp }),
            PeerEvent::NegotiationFailed(why) => self.input(Input::NegotiationFailed { peer, why }),
            PeerEvent::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
                self.input(Input::LocalCandidate { peer, candidate, sdp_mid, sdp_m_line_index });
            }
            PeerEvent::Channel(dc) => self.remote_channel(peer, dc),
            PeerEvent::Connected => self.input(Input::PeerConnected { peer }),
            PeerEvent::Path { relayed } => self.input(Input::PeerPath { peer, relayed }),
            PeerEvent::TurnRefused(code, text) => {
                // Once a page: every connection would say the same.
                if !self.turn_refused {
                    self.turn_refused = true;
                    let message = format!(
                        "The relay server (TURN) refused the credentials this site gave ({code} {text}), so files can \
                         only go between browsers that reach each other directly. If it keeps happening, tell the \
                         site's operator."
                    );
                    self.emit_error(None, ErrorKind::Turn, message);
                }
            }
            PeerEvent::Closed => {
                self.drop_peer(&peer);
                self.input(Input::PeerClosed { peer });
            }
        }
    }

    /// Closes a connection and its channels, without reports (the node knows they are gone).
    pub(super) fn drop_peer(&mut self, peer: &PeerId) {
        let conns: Vec<ConnId> = self.wires.iter().filter(|(_, w)| w.peer == *peer).map(|(c, _)| *c).collect();
        for conn in conns {
            if let Some(wire) = self.wires.remove(&conn) {
                wire.channel.close();
            }
        }
        // Dropping it closes it.
        self.peers.remove(peer);
    }

    /// A channel the remote peer opened: kept under the id the node gives it, or closed.
    fn remote_channel(&mut self, peer: PeerId, dc: RtcDataChannel) {
        match self.node.accept_channel(clock::now(), &peer, &dc.label()) {
            Some(conn) => {
                self.keep_channel(peer, conn, dc);
                if self.wires.get(&conn).is_some_and(|w| w.channel.is_open()) {
                    self.opened(conn);
                }
            }
            None => dc.close(),
        }
        self.drive();
    }

    /// Tells the node a channel is open, once, with the message size of its connection.
    fn opened(&mut self, conn: ConnId) {
        let Some(wire) = self.wires.get_mut(&conn) else { return };
        if wire.opened {
            return;
        }
        wire.opened = true;
        let peer = wire.peer.clone();
        let max_message = self.max_message(&peer);
        self.node.handle_input(clock::now(), Input::ChannelOpened { conn, max_message });
    }

    /// The longest message `peer`'s connection carries to it (PROTOCOL.md 2.10).
    fn max_message(&self, peer: &PeerId) -> u32 {
        self.peers.get(peer).map_or(swarm::wire::DEFAULT_MAX_MESSAGE, PeerConnection::max_message)
    }

    pub(super) fn open_channel(&mut self, peer: PeerId, conn: ConnId, label: &str) {
        let Some(pc) = self.peers.get(&peer) else {
            self.node.handle_input(clock::now(), Input::ChannelClosed { conn });
            return;
        };
        let dc = pc.open_channel(label);
        self.keep_channel(peer, conn, dc);
    }

    fn keep_channel(&mut self, peer: PeerId, conn: ConnId, dc: RtcDataChannel) {
        let weak = self.weak.clone();
        let report = Rc::new(move |event| {
            with_core(&weak, |core| core.on_channel(conn, event));
        });
        let content = match self.node.channel(conn) {
            Some((_, Topic::Content(id))) => Some(id),
            _ => None,
        };
        self.wires.insert(conn, Wire { channel: Channel::new(dc, report), peer, content, opened: false });
    }

    fn on_channel(&mut self, conn: ConnId, event: ChannelEvent) {
        match event {
            ChannelEvent::Open => {
                let Some(wire) = self.wires.get_mut(&conn) else { return };
                // What was sent before the channel opened goes now.
                wire.channel.drain();
                self.opened(conn);
                self.drive();
            }
            ChannelEvent::Message(bytes) => {
                // A remote's first message can come before this side's `open` event: the node hears the channel
                // open first, with its real message size (its own guess would be RFC 8841's default).
                if self.wires.get(&conn).is_some_and(|w| !w.opened) {
                    self.opened(conn);
                }
                self.input(Input::ChannelMessage { conn, bytes: &bytes });
            }
            ChannelEvent::Closed => {
                if let Some(wire) = self.wires.remove(&conn) {
                    wire.channel.close();
                    self.input(Input::ChannelClosed { conn });
                }
            }
            ChannelEvent::Drained => {
                let Some(wire) = self.wires.get_mut(&conn) else { return };
                wire.channel.drain();
                if let Some(id) = wire.content {
                    self.start_reads(id);
                }
            }
        }
    }

    /// Sends one message; a peer that does not read what it asked for is given up (its channel closed).
    pub(super) fn send(&mut self, conn: ConnId, bytes: Vec<u8>) {
        let Some(wire) = self.wires.get_mut(&conn) else { return };
        let content = wire.content;
        if let Some(id) = content {
            self.note_request(id, &bytes);
        }
        let Some(wire) = self.wires.get_mut(&conn) else { return };
        if wire.channel.send(bytes).is_err()
            && let Some(wire) = self.wires.remove(&conn)
        {
            wire.channel.close();
            self.node.handle_input(clock::now(), Input::ChannelClosed { conn });
        }
    }
}
