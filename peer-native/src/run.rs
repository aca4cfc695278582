//! The run loop: one task that owns the [`Node`] and follows its loop exactly (`swarm::node`): feed one input,
//! drain [`Node::poll_output`] executing each output, arm the timer at [`Node::poll_timeout`], wait.
//!
//! Inputs come from the tasks around it through one bounded queue ([`NodeEvent`]): the signaling socket
//! ([`signaling`]), one task per peer connection ([`peer`]) and one per data channel ([`channel`]). Outputs are
//! executed without waiting: frames and peer commands go into bounded queues with `try_send`, messages into each
//! channel's bounded queue ([`out_queue`]; a channel whose queue would pass the bound is given up and reported
//! closed), storage runs inline ([`Contents`]) and its results are fed back before the loop waits again. The loop
//! never awaits anything but its own queue, its timer and the shutdown future, so a slow remote peer cannot stall
//! it. Time is milliseconds since the loop started.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use swarm::node::label::Topic;
use swarm::node::server::LinkState;
use swarm::node::{Event, Input, Node, Output};
use swarm::signal::PeerId;
use swarm::time::Instant;
use swarm::{ConnId, Swarm};
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;

use crate::channel::{self, sleep_until_some};
use crate::downloads::Contents;
use crate::event::{NODE_QUEUE, NodeEvent, PeerEvent};
use crate::node::{ContentReport, ContentSpec, NodeOptions, Observer, Watched};
use crate::out_queue::{self, OutSender, SendError};
use crate::peer::{self, PeerCommand, PeerHandle};
use crate::progress::Progress;
use crate::search::{OnHit, SearchOutcome, SearchSpec, Searching};
use crate::signaling::{self, Socket};
use crate::transport::RtcSettings;

/// Longest wait at shutdown for the channels to send what is queued (goodbyes) and close; each channel task gives
/// itself 2 s of that.
const STOP_WAIT: Duration = Duration::from_secs(3);

/// What a finished run leaves.
#[derive(Debug)]
pub(crate) struct Ended {
    pub reports: Vec<ContentReport>,
    pub search: Option<SearchOutcome>,
}

/// Runs a node on `specs` (and a search, if any) until it is done or `shutdown` resolves.
pub(crate) async fn drive(
    options: NodeOptions,
    specs: Vec<ContentSpec>,
    search: Option<(SearchSpec, OnHit)>,
    shutdown: impl Future<Output = ()>,
    observer: Option<Observer>,
) -> anyhow::Result<Ended> {
    let (events_tx, mut events) = mpsc::channel(NODE_QUEUE);
    let clock = Clock { epoch: tokio::time::Instant::now() };
    let now = clock.now();
    let progress = Progress::new();
    if options.progress {
        progress.show();
    }
    let mut shell = Shell {
        node: Node::new(options.node_config(), options.seed, now),
        clock,
        events: events_tx,
        socket: None,
        sockets_opened: 0,
        peers: HashMap::new(),
        generations: 0,
        conns: HashMap::new(),
        inputs: VecDeque::new(),
        contents: Contents::new(progress.clone(), options.lie(), options.list),
        search: None,
        watched: Watched::new(observer),
        progress,
        options,
        untrusted: None,
    };
    // Before the first drain: the socket opens after the contents exist.
    for spec in specs {
        shell.contents.add(&mut shell.node, now, spec)?;
    }
    if let Some((spec, on_hit)) = search {
        let id = shell.node.search(now, &spec.text).map_err(anyhow::Error::msg)?;
        let url = shell.options.signaling_url.clone();
        shell.search = Some(Searching::new(spec, id, now, url, on_hit));
    }
    tokio::pin!(shutdown);
    loop {
        shell.drain();
        if shell.finished() || shell.untrusted.is_some() {
            break;
        }
        let deadline = shell.deadline();
        tokio::select! {
            () = &mut shutdown => break,
            event = events.recv() => match event {
                Some(event) => shell.on_event(event),
                None => break,
            },
            () = sleep_until_some(deadline) => shell.on_timeout(),
        }
    }
    shell.stop(&mut events).await;
    if let Some(why) = shell.untrusted {
        anyhow::bail!("{why}");
    }
    Ok(Ended { reports: shell.contents.reports(), search: shell.search.map(Searching::outcome) })
}

/// Milliseconds since the loop started, as the node counts time.
#[derive(Debug, Clone, Copy)]
struct Clock {
    epoch: tokio::time::Instant,
}

impl Clock {
    fn now(self) -> Instant {
        Instant::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn at(self, t: Instant) -> tokio::time::Instant {
        self.epoch + Duration::from_millis(t.as_millis())
    }
}

/// Everything the loop owns.
struct Shell {
    node: Node,
    options: NodeOptions,
    clock: Clock,
    /// The tasks' way back into the loop.
    events: mpsc::Sender<NodeEvent>,
    socket: Option<Socket>,
    sockets_opened: u64,
    peers: HashMap<PeerId, PeerHandle>,
    generations: u64,
    /// Each channel's outgoing queue, until its task reports it closed; `None` once the node closed it (what is
    /// queued still goes out) or it was given up.
    conns: HashMap<ConnId, Option<OutSender>>,
    /// Results of outputs executed inline (storage, queues that refused), fed to the node in order.
    inputs: VecDeque<Input<'static>>,
    contents: Contents,
    search: Option<Searching>,
    watched: Watched,
    progress: Progress,
    /// The signaling server's certificate was refused: the run ends with this.
    untrusted: Option<String>,
}

impl Shell {
    /// Executes every output, feeding back the results of those executed inline, until the node has nothing
    /// more to do.
    fn drain(&mut self) {
        loop {
            while let Some(output) = self.node.poll_output() {
                self.execute(output);
            }
            let Some(input) = self.inputs.pop_front() else { break };
            self.node.handle_input(self.clock.now(), input);
        }
        self.contents.refresh(&self.node);
    }

    /// Whether there is nothing left to do: the search ended, or every download is complete and nobody asked to
    /// keep seeding.
    fn finished(&self) -> bool {
        match &self.search {
            Some(s) => s.is_done(),
            None => self.contents.finished(),
        }
    }

    fn deadline(&self) -> Option<tokio::time::Instant> {
        let search = self.search.as_ref().map(Searching::deadline);
        let next = self.node.poll_timeout().into_iter().chain(search).min()?;
        Some(self.clock.at(next))
    }

    fn on_timeout(&mut self) {
        let now = self.clock.now();
        self.node.handle_timeout(now);
        if let Some(s) = &mut self.search {
            s.on_timeout(now);
        }
    }

    fn execute(&mut self, output: Output) {
        match output {
            Output::ConnectSignaling => {
                self.sockets_opened += 1;
                let (url, tls) = (self.options.signaling_url.clone(), self.options.tls.clone());
                self.socket = Some(signaling::connect(url, tls, self.sockets_opened, self.events.clone()));
            }
            Output::DisconnectSignaling => self.socket = None,
            Output::SendToServer(text) => {
                if self.socket.as_ref().is_some_and(|s| s.send(text).is_err()) {
                    tracing::warn!("signaling socket gone or not writing; reconnecting");
                    self.socket = None;
                    self.inputs.push_back(Input::SignalingClosed);
                }
            }
            Output::CreatePeer { peer, polite: _ } => {
                self.generations += 1;
                let handle = peer::spawn(peer.clone(), self.generations, self.rtc_settings(), self.events.clone());
                // A handle replaced is dropped, which closes its connection (the node forgot it already).
                self.peers.insert(peer, handle);
            }
            Output::MakeOffer { peer } => self.command(peer, PeerCommand::MakeOffer),
            Output::AcceptOffer { peer, sdp, rollback } => {
                self.command(peer, PeerCommand::AcceptOffer { sdp, rollback })
            }
            Output::AcceptAnswer { peer, sdp } => self.command(peer, PeerCommand::AcceptAnswer { sdp }),
            Output::AddCandidate { peer, candidate, sdp_mid, sdp_m_line_index } => {
                self.command(peer, PeerCommand::candidate(candidate, sdp_mid, sdp_m_line_index));
            }
            Output::ClosePeer { peer } => {
                self.peers.remove(&peer);
            }
            Output::OpenChannel { peer, conn, label } => {
                let (out, queue) = out_queue::channel();
                self.conns.insert(conn, Some(out));
                self.command(peer, PeerCommand::OpenChannel { conn, label, queue });
            }
            Output::Send { conn, bytes } => self.send(conn, bytes),
            Output::CloseChannel { conn } => {
                if let Some(out) = self.conns.get_mut(&conn) {
                    *out = None;
                }
            }
            Output::Read { content, op, offset, len, headroom } => {
                let result = self.contents.read(content, offset, len, headroom);
                self.inputs.push_back(Input::ReadDone { content, op, result });
            }
            Output::Write { content, op, offset, data } => {
                let result = self.contents.write(content, offset, &data);
                self.inputs.push_back(Input::WriteDone { content, op, result });
            }
            // Given back unhashed: the swarm then hashes it itself (this peer leaves `shell_hashes` off).
            Output::Hash { content, op, data, .. } => {
                self.inputs.push_back(Input::HashDone { content, op, data, digest: None });
            }
            Output::Event(event) => self.on_node_event(event),
        }
    }

    /// The settings of a new connection: the ICE servers of the command line, else those the server announced.
    fn rtc_settings(&self) -> RtcSettings {
        let mut settings = self.options.rtc.clone();
        if self.options.ice_from_server && settings.ice_servers.is_empty() {
            settings.ice_servers = self.node.ice_servers().iter().cloned().map(Into::into).collect();
        }
        settings
    }

    /// Hands a command to a peer task without waiting. One that does not fit is reported as what it leads to: a
    /// dropped candidate costs nothing, a channel not opened is closed, a lost description ends the negotiation.
    fn command(&mut self, peer: PeerId, command: PeerCommand) {
        let refused = match self.peers.get(&peer) {
            Some(p) => p.commands.try_send(command).err().map(|e| e.into_inner()),
            None => Some(command),
        };
        match refused {
            None | Some(PeerCommand::AddCandidate(_)) => {}
            Some(PeerCommand::OpenChannel { conn, .. }) => {
                self.conns.remove(&conn);
                self.inputs.push_back(Input::ChannelClosed { conn });
            }
            Some(_) => {
                let why = "the connection's task is not keeping up".to_owned();
                self.inputs.push_back(Input::NegotiationFailed { peer, why });
            }
        }
    }

    /// Queues a message on a channel. A channel whose queue would pass its bound (its peer does not read what it
    /// asked for) is given up at once: the queue is freed, the channel closed without flushing it, and the node
    /// told it closed.
    fn send(&mut self, conn: ConnId, bytes: Vec<u8>) {
        let Some(Some(out)) = self.conns.get(&conn) else { return };
        match out.try_send(bytes) {
            Ok(queued) => self.watched.update(|c| c.peak_queued_bytes = c.peak_queued_bytes.max(queued)),
            // The task is ending; its `ChannelClosed` is on the way.
            Err(SendError::Closed) => {}
            Err(e @ SendError::Overrun { .. }) => {
                let peer = self.node.channel(conn).map(|(p, _)| p.0.clone()).unwrap_or_default();
                tracing::warn!(%peer, "{e}; disconnecting it");
                if let Some(out) = self.conns.get_mut(&conn).and_then(Option::take) {
                    out.abandon();
                }
                self.watched.update(|c| c.overruns += 1);
                self.inputs.push_back(Input::ChannelClosed { conn });
            }
        }
    }

    fn on_node_event(&mut self, event: Event) {
        let now = self.clock.now();
        match event {
            Event::Signaling(state) => {
                tracing::info!("signaling {}", state.as_str());
                if state == LinkState::Reconnecting {
                    self.progress.println("signaling server unreachable; retrying");
                }
            }
            Event::ServerError { code, message } => tracing::warn!(?code, "signaling server: {message}"),
            Event::ServerFrameIgnored { why } => tracing::warn!("signaling frame ignored: {why}"),
            Event::Content { content, event } => {
                if matches!(event, swarm::Event::PeerRefused { .. }) {
                    self.watched.update(|c| c.refusals += 1);
                }
                if self.contents.on_event(&mut self.node, now, content, event) {
                    self.watched.update(|c| c.verified += 1);
                }
            }
            Event::PeerBanned { content, peer, reason } => {
                tracing::info!(peer = %peer.0, "banned: {reason}");
                self.contents.on_banned(content, &reason);
                self.watched.update(|c| c.bans += 1);
            }
            Event::Neighbours(count) => {
                tracing::info!(count, "discovery neighbours");
                if let Some(s) = &mut self.search {
                    s.on_neighbours(now, count);
                }
            }
            Event::SearchResult { search, entry, score, sources } => {
                if let Some(s) = &mut self.search {
                    s.on_result(search, entry, score, sources);
                }
            }
            Event::NeighbourDropped { peer, reason } => {
                tracing::info!(peer = %peer.0, "discovery neighbour dropped: {reason}");
            }
            Event::NegotiationFailed { peer, why } => tracing::debug!(peer = %peer.0, "negotiation failed: {why}"),
            // Said once a peer by the node (until a connection to it succeeds).
            Event::PeerUnreachable { peer, why } => {
                tracing::info!(peer = %peer.0, "unreachable");
                self.progress.println(&why.to_string());
            }
        }
    }

    fn on_event(&mut self, event: NodeEvent) {
        let now = self.clock.now();
        let current = |socket: u64| self.socket.as_ref().is_some_and(|s| s.id() == socket);
        match event {
            NodeEvent::ServerFrame { socket, text } => {
                if current(socket) {
                    self.node.handle_input(now, Input::ServerFrame(&text));
                }
            }
            NodeEvent::SignalingUntrusted { url, why } => {
                self.untrusted = Some(format!(
                    "the signaling server {url} showed a certificate this peer does not trust ({why}); if it uses a \
                     private certificate authority, pass its certificate with --ca-cert FILE"
                ));
            }
            NodeEvent::SignalingClosed { socket } => {
                if current(socket) {
                    self.socket = None;
                    self.node.handle_input(now, Input::SignalingClosed);
                }
            }
            NodeEvent::Peer { peer, generation, event } => self.on_peer(now, peer, generation, event),
            NodeEvent::ChannelOpened { conn, max_message } => {
                self.node.handle_input(now, Input::ChannelOpened { conn, max_message })
            }
            NodeEvent::ChannelMessage { conn, bytes } => {
                let content = match self.node.channel(conn) {
                    Some((_, Topic::Content(content))) => Some(content),
                    _ => None,
                };
                let counts = |node: &Node| content.and_then(|c| node.swarm(&c)).map(Swarm::manifest_request_counts);
                let before = counts(&self.node);
                self.node.handle_input(now, Input::ChannelMessage { conn, bytes: &bytes });
                if let (Some((asked_before, refused_before)), Some((asked, refused))) = (before, counts(&self.node))
                    && asked > asked_before
                {
                    self.watched.update(|c| {
                        c.manifest_requests += asked - asked_before;
                        c.manifest_requests_refused += refused - refused_before;
                    });
                }
            }
            NodeEvent::ChannelClosed { conn } => {
                self.conns.remove(&conn);
                self.node.handle_input(now, Input::ChannelClosed { conn });
            }
        }
    }

    fn on_peer(&mut self, now: Instant, peer: PeerId, generation: u64, event: PeerEvent) {
        if self.peers.get(&peer).map(|p| p.generation) != Some(generation) {
            // A connection the node closed already.
            if let PeerEvent::RemoteChannel { dc, .. } = event {
                close_channel(dc);
            }
            return;
        }
        let input = match event {
            PeerEvent::LocalDescription { kind, sdp } => Input::LocalDescription { peer, kind, sdp },
            PeerEvent::Connected => Input::PeerConnected { peer },
            PeerEvent::Path(path) => Input::PeerPath { peer, relayed: path.relayed() },
            PeerEvent::Closed => {
                self.peers.remove(&peer);
                Input::PeerClosed { peer }
            }
            PeerEvent::NegotiationFailed { why } => Input::NegotiationFailed { peer, why },
            PeerEvent::RemoteChannel { label, dc, link } => {
                match self.node.accept_channel(now, &peer, &label) {
                    Some(conn) => {
                        let (out, queue) = out_queue::channel();
                        self.conns.insert(conn, Some(out));
                        channel::spawn(dc, link, conn, queue, self.events.clone());
                    }
                    None => {
                        tracing::debug!(peer = %peer.0, label, "data channel refused");
                        close_channel(dc);
                    }
                }
                return;
            }
        };
        self.node.handle_input(now, input);
    }

    /// Says goodbye on every content, lets the channels send what is queued (at most [`STOP_WAIT`]), and closes
    /// everything.
    async fn stop(&mut self, events: &mut mpsc::Receiver<NodeEvent>) {
        self.contents.stop(&mut self.node, self.clock.now());
        self.drain();
        for out in self.conns.values_mut() {
            *out = None;
        }
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        while !self.conns.is_empty() {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(NodeEvent::ChannelClosed { conn })) => {
                    self.conns.remove(&conn);
                }
                Ok(Some(NodeEvent::Peer { event: PeerEvent::RemoteChannel { dc, .. }, .. })) => close_channel(dc),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        self.peers.clear();
        self.socket = None;
    }
}

/// Closes a data channel the node did not take, without waiting for it.
fn close_channel(dc: Arc<dyn DataChannel>) {
    tokio::spawn(async move {
        if let Err(e) = dc.close().await {
            tracing::debug!("closing a refused data channel: {e}");
        }
    });
}
