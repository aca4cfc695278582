//! A deterministic network of many [`Discovery`] peers: random neighbour graph, per-link latency, fake clock.
//! Used by the search tests and by `examples/search_sim.rs`, which reports the figures in BENCHMARKS.md.

use core::cmp::Reverse;
use core::time::Duration;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use super::{Config, Discovery, Entry, Event, Input, Output, SearchId, Words};
use crate::ConnId;
use crate::id::ContentId;
use crate::time::Instant;

/// The shape of a simulated network.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub peers: usize,
    /// Neighbours each peer asks for when it joins (it gets fewer when the others are full).
    pub degree: usize,
    pub files_per_peer: usize,
    /// One-way latency of each link, drawn uniformly from this range, in milliseconds.
    pub latency_ms: (u64, u64),
    pub discovery: Config,
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            peers: 200,
            degree: 4,
            files_per_peer: 3,
            latency_ms: (20, 120),
            discovery: Config::default(),
            seed: 1,
        }
    }
}

/// The outcome of one search in the simulation.
#[derive(Debug, Clone)]
pub struct QueryOutcome {
    /// Hops between the searcher and the only peer sharing the file.
    pub distance: usize,
    /// Time from the search to the first result naming the file, if it came at all within the window.
    pub found_after: Option<Duration>,
    /// Queries and results sent by all peers because of this search.
    pub messages: u64,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    at: Instant,
    seq: u64,
    to: usize,
    from: usize,
    bytes: Vec<u8>,
}

/// The simulated network. A peer's connection to peer `j` is `ConnId(j)`.
#[derive(Debug)]
pub struct Network {
    pub nodes: Vec<Discovery>,
    /// Neighbours of each node, with the one-way latency of the link.
    pub links: Vec<Vec<(usize, Duration)>>,
    /// Files each node shares.
    pub files: Vec<Vec<Entry>>,
    now: Instant,
    seq: u64,
    queue: BinaryHeap<Reverse<Delivery>>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// The timer last armed for each node, so the heap holds one live entry per node and few stale ones.
    armed: Vec<Option<Instant>>,
    events: Vec<(usize, Instant, Event)>,
    rng: ChaCha8Rng,
}

/// A link's one-way latency, drawn uniformly from the configured range.
fn latency(config: &SimConfig, rng: &mut ChaCha8Rng) -> Duration {
    let (lo, hi) = config.latency_ms;
    Duration::from_millis(lo + rng.next_u64() % (hi.saturating_sub(lo) + 1))
}

const WORDS: &[&str] = &[
    "alpha", "bravo", "coast", "delta", "ember", "fjord", "grove", "harbor", "island", "jungle", "kettle", "lagoon",
    "meadow", "nebula", "orchid", "prairie", "quartz", "river", "summit", "tundra", "valley", "willow", "yonder",
    "zephyr",
];
const EXTENSIONS: &[(&str, &str)] =
    &[("mp4", "video/mp4"), ("jpg", "image/jpeg"), ("pdf", "application/pdf"), ("zip", "application/zip")];

impl Network {
    /// Builds a random graph and has every peer share its files; nothing has been delivered yet.
    pub fn new(config: &SimConfig) -> Network {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let n = config.peers;
        let max = config.discovery.max_neighbours;
        let mut adjacency: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        let mut links: Vec<Vec<(usize, Duration)>> = vec![Vec::new(); n];
        for a in 0..n {
            // A joiner asks for `degree` random members, as the signaling server's random subset would give.
            for _ in 0..config.degree * 4 {
                if adjacency[a].len() >= config.degree.min(max) || n < 2 {
                    break;
                }
                let b = (rng.next_u64() % n as u64) as usize;
                if b == a || adjacency[a].contains(&b) || adjacency[b].len() >= max {
                    continue;
                }
                let latency = latency(config, &mut rng);
                adjacency[a].insert(b);
                adjacency[b].insert(a);
                links[a].push((b, latency));
                links[b].push((a, latency));
            }
        }
        Network::build(config, links, rng)
    }

    /// Builds the graph of the given links between peers `0..config.peers` (each pair once; pairs out of range or
    /// repeated are left out) and has every peer share its files; nothing has been delivered yet.
    pub fn with_links(config: &SimConfig, pairs: &[(usize, usize)]) -> Network {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let n = config.peers;
        let mut links: Vec<Vec<(usize, Duration)>> = vec![Vec::new(); n];
        for &(a, b) in pairs {
            if a == b || a >= n || b >= n || links[a].iter().any(|&(x, _)| x == b) {
                continue;
            }
            let latency = latency(config, &mut rng);
            links[a].push((b, latency));
            links[b].push((a, latency));
        }
        Network::build(config, links, rng)
    }

    fn build(config: &SimConfig, links: Vec<Vec<(usize, Duration)>>, mut rng: ChaCha8Rng) -> Network {
        let n = config.peers;
        let mut files = Vec::with_capacity(n);
        let mut counter = 0u64;
        for _ in 0..n {
            let mut mine = Vec::new();
            for _ in 0..config.files_per_peer {
                counter += 1;
                let w1 = WORDS[(rng.next_u64() % WORDS.len() as u64) as usize];
                let w2 = WORDS[(rng.next_u64() % WORDS.len() as u64) as usize];
                let (ext, media) = EXTENSIONS[(rng.next_u64() % EXTENSIONS.len() as u64) as usize];
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&counter.to_be_bytes());
                id[8..16].copy_from_slice(&rng.next_u64().to_be_bytes());
                mine.push(Entry {
                    content: ContentId(id),
                    size: rng.next_u64() % (1 << 32),
                    name: format!("{w1}-{w2}-{counter}.{ext}"),
                    media_type: media.into(),
                    words: Words::none(),
                });
            }
            files.push(mine);
        }
        let nodes =
            (0..n).map(|i| Discovery::new(config.discovery.clone(), config.seed ^ (i as u64 + 1) << 20)).collect();
        let mut net = Network {
            nodes,
            links,
            files,
            now: Instant::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            timers: BinaryHeap::new(),
            armed: vec![None; n],
            events: Vec::new(),
            rng,
        };
        for i in 0..n {
            for (j, _) in net.links[i].clone() {
                net.nodes[i].handle_input(Instant::ZERO, Input::NeighbourConnected { conn: ConnId(j as u64) });
            }
            for e in net.files[i].clone() {
                // Within max_local by construction of the config; a refusal would show as a missed search.
                let _ = net.nodes[i].share(Instant::ZERO, e);
            }
            net.flush(i);
        }
        net
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Delivers `bytes` to `to` as if `from` had sent them at `at` (no earlier than now) over their link: how a
    /// test plays a hostile peer, which the receiver cannot tell from `from`'s own messages. Nothing happens
    /// without a link.
    pub fn inject(&mut self, at: Instant, from: usize, to: usize, bytes: Vec<u8>) {
        let Some(&(_, latency)) = self.links.get(from).and_then(|l| l.iter().find(|(j, _)| *j == to)) else {
            return;
        };
        self.seq += 1;
        self.queue.push(Reverse(Delivery { at: at.max(self.now) + latency, seq: self.seq, to, from, bytes }));
    }

    /// Queries and results sent so far by all peers.
    pub fn search_messages_sent(&self) -> u64 {
        self.nodes.iter().map(|d| d.stats().sent_search).sum()
    }

    /// Hop distance between two peers (breadth-first), `None` if unconnected.
    pub fn distance(&self, a: usize, b: usize) -> Option<usize> {
        let mut dist = vec![usize::MAX; self.nodes.len()];
        let mut queue = VecDeque::from([a]);
        dist[a] = 0;
        while let Some(x) = queue.pop_front() {
            if x == b {
                return Some(dist[x]);
            }
            for &(y, _) in &self.links[x] {
                if dist[y] == usize::MAX {
                    dist[y] = dist[x] + 1;
                    queue.push_back(y);
                }
            }
        }
        None
    }

    /// Runs every delivery and timer up to and including `until`.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            let next_msg = self.queue.peek().map(|Reverse(d)| d.at);
            let next_timer = self.timers.peek().map(|Reverse((t, _))| *t);
            let next = match (next_msg, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            self.now = next;
            if next_msg == Some(next) {
                let Some(Reverse(d)) = self.queue.pop() else { break };
                self.nodes[d.to].handle_input(d.at, Input::Received { conn: ConnId(d.from as u64), bytes: &d.bytes });
                self.flush(d.to);
            } else {
                let Some(Reverse((t, i))) = self.timers.pop() else { break };
                // Stale timer entries (the node re-armed since) are skipped.
                if self.nodes[i].poll_timeout() == Some(t) {
                    self.armed[i] = None;
                    self.nodes[i].handle_timeout(t);
                    self.flush(i);
                }
            }
        }
        self.now = self.now.max(until);
    }

    /// Has `node` share `entry` from now on: it announces it to its neighbours as the network runs.
    pub fn share(&mut self, node: usize, entry: Entry) {
        // Within max_local by construction of the config; a refusal would show as a missed search.
        let _ = self.nodes[node].share(self.now, entry.clone());
        self.files[node].push(entry);
        self.flush(node);
    }

    /// Searches from `searcher` for the name of a file only `holder` has, and reports how it went within `window`.
    pub fn search_for(&mut self, searcher: usize, holder: usize, window: Duration) -> QueryOutcome {
        let target = self.files[holder][0].clone();
        let text = target.name.replace(['-', '.'], " ");
        self.search(searcher, &text, holder, target.content, window)
    }

    /// Searches from `searcher` for `text`, and reports how finding `content`, which only `holder` shares, went
    /// within `window`.
    pub fn search(
        &mut self,
        searcher: usize,
        text: &str,
        holder: usize,
        content: ContentId,
        window: Duration,
    ) -> QueryOutcome {
        let distance = self.distance(searcher, holder).unwrap_or(usize::MAX);
        let start = self.now;
        let sent_before = self.search_messages_sent();
        self.events.clear();
        let search = match self.nodes[searcher].search(start, text) {
            Ok(id) => id,
            Err(_) => return QueryOutcome { distance, found_after: None, messages: 0 },
        };
        self.flush(searcher);
        self.run_until(start + window);
        let found_after = self.first_result(searcher, search, content).map(|t| t - start);
        QueryOutcome { distance, found_after, messages: self.search_messages_sent() - sent_before }
    }

    fn first_result(&self, node: usize, search: SearchId, content: ContentId) -> Option<Instant> {
        self.events
            .iter()
            .filter(|(n, _, e)| {
                *n == node
                    && matches!(e, Event::Result { search: s, entry, .. } if *s == search && entry.content == content)
            })
            .map(|(_, t, _)| *t)
            .min()
    }

    /// Picks a random searcher and the peer farthest from it (ties broken at random), as the holder.
    pub fn pick_distant_pair(&mut self) -> (usize, usize) {
        let n = self.nodes.len();
        let searcher = (self.rng.next_u64() % n as u64) as usize;
        let mut best = (0, searcher);
        for _ in 0..n {
            let h = (self.rng.next_u64() % n as u64) as usize;
            let d = self.distance(searcher, h).unwrap_or(0);
            if d > best.0 {
                best = (d, h);
            }
        }
        (searcher, best.1)
    }

    fn flush(&mut self, i: usize) {
        while let Some(out) = self.nodes[i].poll_output() {
            match out {
                Output::Send { conn, bytes } => {
                    let to = conn.0 as usize;
                    if let Some(&(_, latency)) = self.links[i].iter().find(|(j, _)| *j == to) {
                        self.seq += 1;
                        self.queue.push(Reverse(Delivery {
                            at: self.now + latency,
                            seq: self.seq,
                            to,
                            from: i,
                            bytes,
                        }));
                    }
                }
                Output::Close { conn } => {
                    let j = conn.0 as usize;
                    self.links[i].retain(|(x, _)| *x != j);
                    self.links[j].retain(|(x, _)| *x != i);
                    let now = self.now;
                    self.nodes[j].handle_input(now, Input::NeighbourDisconnected { conn: ConnId(i as u64) });
                }
                Output::Event(e) => self.events.push((i, self.now, e)),
            }
        }
        let t = self.nodes[i].poll_timeout();
        if t != self.armed[i] {
            self.armed[i] = t;
            if let Some(t) = t {
                self.timers.push(Reverse((t, i)));
            }
        }
    }
}
