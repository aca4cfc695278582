//! A deterministic in-memory network of many [`crate::Swarm`] peers (seeded randomness, fake clock).
//!
//! Model: every peer has an upload and a download link of fixed rate (bytes per second) and every message has a
//! one-way latency. A message waits for the sender's upload link (first in, first out), travels for the latency,
//! then waits for the receiver's download link. Storage reads and writes complete at once. Time is counted in
//! microseconds and given to the state machines in milliseconds.
//!
//! Payloads are real: the file is generated from the seed, seeders read real bytes, every block crosses the
//! network as real bytes and every receiver hashes real pieces, so verification is exercised honestly. Writes are
//! compared with the file (a wrong byte written would be a bug in the state machine) and then dropped, and reads
//! are served from the one copy of the file, so memory does not grow with the number of peers.
//!
//! Peer 0 is the seeder; the next `liars` peers claim every piece but corrupt every block they send; the rest
//! join by content id. The client-server baseline is the same run with every peer connected to the seeder only.

pub mod world;

use core::time::Duration;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::id::ContentId;
use crate::manifest::{Manifest, ManifestBuilder};
use crate::time::Instant;
use crate::wire::{self, Message};
use crate::{Config, ConnId, Event, Input, Output, Swarm};

/// Who connects to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// Each joiner connects to up to `connections` random peers already present.
    Swarm { connections: usize },
    /// Each joiner connects to the seeder only (the client-server baseline).
    ClientServer,
}

/// One simulated run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Peers that download (the seeder and liars come on top).
    pub leechers: usize,
    pub liars: usize,
    pub file_size: u64,
    pub seed: u64,
    /// Link rates, in bytes per second.
    pub seeder_up: u64,
    pub peer_up: u64,
    pub peer_down: u64,
    /// One-way latency of every message.
    pub latency: Duration,
    pub topology: Topology,
    /// Joiners arrive spread evenly over this time (zero: a flash crowd).
    pub join_spread: Duration,
    /// The seeder leaves once every piece is on at least one other honest peer.
    pub seeder_leaves_when_replicated: bool,
    /// Give up after this much simulated time.
    pub time_limit: Duration,
    pub config: Config,
    /// Longest data-channel message each node's stack takes, by node index (the seeder is 0, then the liars, then
    /// the leechers); nodes past the end take `wire::MAX_MESSAGE_LEN`. A connection carries the smaller of its
    /// two ends' values, each way (as webrtc-rs and the browsers negotiate it).
    pub max_message: Vec<u32>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            leechers: 1,
            liars: 0,
            file_size: 4 * 1024 * 1024,
            seed: 1,
            seeder_up: 10 * 1024 * 1024,
            peer_up: 2 * 1024 * 1024,
            peer_down: 10 * 1024 * 1024,
            latency: Duration::from_millis(20),
            topology: Topology::Swarm { connections: 16 },
            join_spread: Duration::ZERO,
            seeder_leaves_when_replicated: false,
            time_limit: Duration::from_secs(3600),
            config: Config::default(),
            max_message: Vec::new(),
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub file_size: u64,
    pub piece_count: u32,
    /// Per leecher: time from its join to completion (`None`: did not complete).
    pub completion: Vec<Option<Duration>>,
    /// Per leecher: payload bytes uploaded.
    pub uploaded: Vec<u64>,
    /// Per leecher: payload bytes received, and those thrown away (duplicates, failed verification).
    pub downloaded: Vec<u64>,
    pub wasted: Vec<u64>,
    pub seeder_uploaded: u64,
    /// Time until every leecher completed (`None` if one did not).
    pub all_complete: Option<Duration>,
    /// (banning peer, banned peer) pairs, peers numbered as in the module docs.
    pub bans: Vec<(usize, usize)>,
    /// Pieces written with bytes that differ from the file (must be zero).
    pub corrupt_writes: u64,
    /// Whether the seeder left.
    pub seeder_left: bool,
    /// Messages sent longer than the connection carries (a real stack refuses them): must stay 0.
    pub oversized_messages: u64,
    /// Connections refused, and peers given up, for message size (`Event::PeerRefused`).
    pub refusals: u64,
}

impl Report {
    /// Seeder upload divided by the file size.
    pub fn seeder_ratio(&self) -> f64 {
        self.seeder_uploaded as f64 / self.file_size as f64
    }
}

/// The fluid-model lower bound on the time for `n` peers to download `file` bytes: max(F/u_seed, F/d_min,
/// n*F/(u_seed + sum of u_peers)), in seconds.
pub fn fluid_bound(file: u64, n: usize, seeder_up: u64, peer_up: u64, peer_down: u64) -> f64 {
    let f = file as f64;
    let total_up = seeder_up as f64 + n as f64 * peer_up as f64;
    (f / seeder_up as f64).max(f / peer_down as f64).max(n as f64 * f / total_up)
}

/// The file of a run: bytes from the seed, so a run needs nothing but its config.
// Fixed, valid name and media type, and exactly `size` bytes fed: the builder cannot refuse them.
#[allow(clippy::expect_used)]
pub fn make_file(size: u64, seed: u64) -> (Vec<u8>, Manifest) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_f11e);
    let mut data = vec![0u8; size as usize];
    rng.fill_bytes(&mut data);
    let mut b = ManifestBuilder::new("sim.bin", size, "application/octet-stream").expect("valid sim manifest input");
    b.update(&data);
    (data, b.finish().expect("the builder got exactly `size` bytes"))
}

#[derive(Debug)]
enum Ev {
    Join(usize),
    Connect(usize, usize),
    /// A message reaches the receiver's download link.
    Arrive {
        to: usize,
        conn: ConnId,
        bytes: Vec<u8>,
    },
    /// A message is fully received.
    Deliver {
        to: usize,
        conn: ConnId,
        bytes: Vec<u8>,
    },
    Disconnect {
        to: usize,
        conn: ConnId,
    },
    Timer(usize),
    Leave(usize),
}

#[derive(Debug)]
struct Node {
    swarm: Option<Swarm>,
    up: u64,
    down: u64,
    /// Microseconds when the links are next free.
    up_free: u64,
    down_free: u64,
    joined_at: u64,
    complete_at: Option<u64>,
    liar: bool,
    /// Our connection -> (peer node, its connection).
    conns: BTreeMap<ConnId, (usize, ConnId)>,
    timer: Option<u64>,
    uploaded: u64,
}

/// The simulator: build with [`Sim::new`], run with [`Sim::run`].
#[derive(Debug)]
pub struct Sim {
    cfg: SimConfig,
    file: Vec<u8>,
    manifest: Manifest,
    nodes: Vec<Node>,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: BTreeMap<usize, Ev>,
    seq: u64,
    now: u64,
    rng: ChaCha8Rng,
    next_conn: u64,
    /// Honest non-seeder peers holding each piece.
    replicas: Vec<u32>,
    report: Report,
}

fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Sim {
        let (file, manifest) = make_file(cfg.file_size, cfg.seed);
        let n = 1 + cfg.liars + cfg.leechers;
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let seeder = i == 0;
            let liar = !seeder && i <= cfg.liars;
            nodes.push(Node {
                swarm: None,
                up: if seeder { cfg.seeder_up } else { cfg.peer_up }.max(1),
                down: if seeder { cfg.seeder_up } else { cfg.peer_down }.max(1),
                up_free: 0,
                down_free: 0,
                joined_at: 0,
                complete_at: None,
                liar,
                conns: BTreeMap::new(),
                timer: None,
                uploaded: 0,
            });
        }
        let pieces = manifest.piece_count();
        let report = Report {
            file_size: cfg.file_size,
            piece_count: pieces,
            completion: vec![None; cfg.leechers],
            uploaded: vec![0; cfg.leechers],
            downloaded: vec![0; cfg.leechers],
            wasted: vec![0; cfg.leechers],
            seeder_uploaded: 0,
            all_complete: None,
            bans: Vec::new(),
            corrupt_writes: 0,
            seeder_left: false,
            oversized_messages: 0,
            refusals: 0,
        };
        let rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        Sim {
            file,
            manifest,
            nodes,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            seq: 0,
            now: 0,
            rng,
            next_conn: 0,
            replicas: vec![0; pieces as usize],
            report,
            cfg,
        }
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.events.insert(self.seq as usize, ev);
        self.queue.push(Reverse((at, self.seq, self.seq as usize)));
    }

    fn leecher_index(&self, node: usize) -> Option<usize> {
        node.checked_sub(1 + self.cfg.liars)
    }

    /// Runs until every leecher completed, nothing is left to happen, or the time limit.
    pub fn run(mut self) -> Report {
        let n = self.nodes.len();
        for i in 0..=self.cfg.liars.min(n - 1) {
            self.push(0, Ev::Join(i));
        }
        let spread = micros(self.cfg.join_spread);
        let leechers = self.cfg.leechers as u64;
        for k in 0..self.cfg.leechers {
            // One microsecond apart at least, so joins have an order.
            let at = 1 + k as u64 + spread * k as u64 / leechers.max(1);
            self.push(at, Ev::Join(1 + self.cfg.liars + k));
        }
        let limit = micros(self.cfg.time_limit);
        while let Some(Reverse((at, _, key))) = self.queue.pop() {
            if at > limit {
                break;
            }
            self.now = at;
            let Some(ev) = self.events.remove(&key) else { continue };
            self.handle(ev);
            if self.report.completion.iter().all(Option::is_some) {
                break;
            }
        }
        if self.report.completion.iter().all(Option::is_some) {
            self.report.all_complete = self
                .report
                .completion
                .iter()
                .zip(self.nodes.iter().skip(1 + self.cfg.liars))
                .map(|(c, node)| c.map(|d| micros(d) + node.joined_at))
                .max()
                .flatten()
                .map(Duration::from_micros);
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let up = node.swarm.as_ref().map_or(node.uploaded, |s| s.stats().uploaded_bytes);
            if i == 0 {
                self.report.seeder_uploaded = up;
            } else if let Some(k) = self.leecher_index(i) {
                self.report.uploaded[k] = up;
                if let Some(s) = &node.swarm {
                    self.report.downloaded[k] = s.stats().downloaded_bytes;
                    self.report.wasted[k] = s.stats().wasted_bytes;
                }
            }
        }
        self.report
    }

    fn handle(&mut self, ev: Ev) {
        let now_ms = Instant::from_millis(self.now / 1000);
        match ev {
            Ev::Join(i) => {
                let seed = self.cfg.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
                let mut config = self.cfg.config.clone();
                if i == 0 && self.cfg.topology == Topology::ClientServer {
                    config.max_peers = self.nodes.len();
                }
                let swarm = if i == 0 || self.nodes[i].liar {
                    Swarm::share(self.manifest.clone(), config, seed, now_ms)
                } else {
                    Swarm::join(self.manifest.content_id(), config, seed, now_ms)
                };
                self.nodes[i].swarm = Some(swarm);
                self.nodes[i].joined_at = self.now;
                let targets: Vec<usize> = match self.cfg.topology {
                    Topology::ClientServer => vec![0],
                    Topology::Swarm { connections } => {
                        let mut present: Vec<usize> = (0..i).filter(|&j| self.nodes[j].swarm.is_some()).collect();
                        let k = connections.min(present.len());
                        for x in 0..k {
                            let y = x + (self.rng.next_u64() % (present.len() - x) as u64) as usize;
                            present.swap(x, y);
                        }
                        present.truncate(k);
                        present
                    }
                };
                // Signaling takes a round trip to the server and one to the other peer.
                let at = self.now + 4 * micros(self.cfg.latency);
                for j in targets {
                    if j != i {
                        self.push(at, Ev::Connect(i, j));
                    }
                }
                self.drain(i);
            }
            Ev::Connect(a, b) => {
                if self.nodes[a].swarm.is_none() || self.nodes[b].swarm.is_none() {
                    return;
                }
                let ca = ConnId(self.next_conn);
                let cb = ConnId(self.next_conn + 1);
                self.next_conn += 2;
                self.nodes[a].conns.insert(ca, (b, cb));
                self.nodes[b].conns.insert(cb, (a, ca));
                let max_message = self.max_message(a).min(self.max_message(b));
                let content = self.nodes[a].swarm.as_ref().map(Swarm::content_id).unwrap_or(ContentId([0; 32]));
                let (pa, pb) = crate::proof::simulated_pair(&content, a as u64, b as u64);
                self.input(a, Input::PeerConnected { conn: ca, max_message, proof: pa });
                self.input(b, Input::PeerConnected { conn: cb, max_message, proof: pb });
            }
            Ev::Arrive { to, conn, bytes } => {
                let node = &mut self.nodes[to];
                let start = self.now.max(node.down_free);
                node.down_free = start + bytes.len() as u64 * 1_000_000 / node.down;
                let at = node.down_free;
                self.push(at, Ev::Deliver { to, conn, bytes });
            }
            Ev::Deliver { to, conn, bytes } => {
                if self.nodes[to].conns.contains_key(&conn) {
                    self.input(to, Input::Received { conn, bytes: &bytes });
                }
            }
            Ev::Disconnect { to, conn } => {
                if self.nodes[to].conns.remove(&conn).is_some() {
                    self.input(to, Input::PeerDisconnected { conn });
                }
            }
            Ev::Timer(i) => {
                if self.nodes[i].timer == Some(self.now) {
                    self.nodes[i].timer = None;
                    if let Some(s) = self.nodes[i].swarm.as_mut() {
                        s.handle_timeout(now_ms);
                    }
                    self.drain(i);
                }
            }
            Ev::Leave(i) => {
                if let Some(s) = self.nodes[i].swarm.as_mut() {
                    s.handle_input(now_ms, Input::Stop);
                }
                self.drain(i);
                let conns: Vec<(usize, ConnId)> = self.nodes[i].conns.values().copied().collect();
                let at = self.nodes[i].up_free.max(self.now) + micros(self.cfg.latency);
                for (j, cj) in conns {
                    self.push(at, Ev::Disconnect { to: j, conn: cj });
                }
                self.nodes[i].conns.clear();
                self.nodes[i].uploaded = self.nodes[i].swarm.as_ref().map_or(0, |s| s.stats().uploaded_bytes);
                self.nodes[i].swarm = None;
                if i == 0 {
                    self.report.seeder_left = true;
                }
            }
        }
    }

    fn input(&mut self, i: usize, input: Input<'_>) {
        let now_ms = Instant::from_millis(self.now / 1000);
        if let Some(s) = self.nodes[i].swarm.as_mut() {
            s.handle_input(now_ms, input);
        }
        self.drain(i);
    }

    /// Executes node `i`'s outputs until it has none, then re-arms its timer.
    fn drain(&mut self, i: usize) {
        let now_ms = Instant::from_millis(self.now / 1000);
        while let Some(out) = self.nodes[i].swarm.as_mut().and_then(Swarm::poll_output) {
            match out {
                Output::Send { conn, bytes } => self.transmit(i, conn, bytes),
                Output::Close { conn } => {
                    if let Some((j, cj)) = self.nodes[i].conns.remove(&conn) {
                        let at = self.nodes[i].up_free.max(self.now) + micros(self.cfg.latency);
                        self.push(at, Ev::Disconnect { to: j, conn: cj });
                    }
                }
                Output::Read { op, offset, len, headroom } => {
                    let start = offset as usize;
                    let end = (start + len as usize).min(self.file.len());
                    let mut buf = vec![0u8; headroom];
                    buf.extend_from_slice(&self.file[start.min(end)..end]);
                    if let Some(s) = self.nodes[i].swarm.as_mut() {
                        s.handle_input(now_ms, Input::ReadDone { op, result: Ok(buf) });
                    }
                }
                Output::Write { op, offset, data } => {
                    let start = offset as usize;
                    if self.file.get(start..start + data.len()) != Some(&data[..]) {
                        self.report.corrupt_writes += 1;
                    }
                    if let Some(s) = self.nodes[i].swarm.as_mut() {
                        s.handle_input(now_ms, Input::WriteDone { op, result: Ok(()) });
                    }
                }
                // A shell that hashes (`Config::shell_hashes`): here at once, as the browser's native hash would.
                Output::Hash { op, data, .. } => {
                    let digest = <sha2::Sha256 as sha2::Digest>::digest(&data).into();
                    if let Some(s) = self.nodes[i].swarm.as_mut() {
                        s.handle_input(now_ms, Input::HashDone { op, data, digest: Some(digest) });
                    }
                }
                Output::Event(e) => self.on_event(i, e),
            }
        }
        let wake = self.nodes[i].swarm.as_ref().and_then(Swarm::poll_timeout).map(|t| t.as_millis() * 1000);
        if let Some(t) = wake {
            let t = t.max(self.now + 1);
            if self.nodes[i].timer != Some(t) {
                self.nodes[i].timer = Some(t);
                self.push(t, Ev::Timer(i));
            }
        }
    }

    fn on_event(&mut self, i: usize, e: Event) {
        match e {
            Event::Complete if self.nodes[i].complete_at.is_none() => {
                self.nodes[i].complete_at = Some(self.now);
                if let Some(k) = self.leecher_index(i) {
                    self.report.completion[k] = Some(Duration::from_micros(self.now - self.nodes[i].joined_at));
                }
            }
            Event::PeerBanned { conn, .. } => {
                // The connection is already forgotten by the state machine, not yet by the simulator.
                if let Some(&(j, _)) = self.nodes[i].conns.get(&conn) {
                    self.report.bans.push((i, j));
                }
            }
            Event::PeerRefused { .. } => self.report.refusals += 1,
            Event::PieceVerified { piece } if i != 0 && !self.nodes[i].liar => {
                if let Some(r) = self.replicas.get_mut(piece as usize) {
                    *r += 1;
                }
                if self.cfg.seeder_leaves_when_replicated
                    && !self.report.seeder_left
                    && self.nodes[0].swarm.is_some()
                    && self.replicas.iter().all(|&r| r > 0)
                {
                    self.push(self.now, Ev::Leave(0));
                }
            }
            _ => {}
        }
    }

    /// Longest message node `i`'s stack takes.
    fn max_message(&self, i: usize) -> u32 {
        self.cfg.max_message.get(i).copied().unwrap_or(wire::MAX_MESSAGE_LEN as u32)
    }

    fn transmit(&mut self, i: usize, conn: ConnId, mut bytes: Vec<u8>) {
        let Some(&(j, cj)) = self.nodes[i].conns.get(&conn) else { return };
        if bytes.len() > self.max_message(i).min(self.max_message(j)) as usize {
            // A real stack refuses to send it: it never arrives.
            self.report.oversized_messages += 1;
            return;
        }
        if self.nodes[i].liar
            && bytes.len() > wire::BLOCK_HEADER_LEN
            && matches!(wire::decode(&bytes), Ok(Message::Block { .. }))
        {
            // A liar flips a byte of every block it sends.
            bytes[wire::BLOCK_HEADER_LEN] ^= 0xff;
        }
        let node = &mut self.nodes[i];
        let start = self.now.max(node.up_free);
        node.up_free = start + bytes.len() as u64 * 1_000_000 / node.up;
        let at = node.up_free + micros(self.cfg.latency);
        self.push(at, Ev::Arrive { to: j, conn: cj, bytes });
    }
}
