//! Announce and search without a central index: [`Discovery`], the state machine of one peer's membership in a
//! discovery network.
//!
//! Every peer joins a discovery network (signaling swarm `net:<name>`) and keeps a small, bounded number of
//! neighbours there, each over a data channel labelled `discovery`. A peer announces what it shares to its
//! neighbours, who remember it in a bounded, expiring cache and pass it on while the announcement's hop budget
//! lasts. A search floods a query to neighbours with a hop budget (deduplicated by query id); every peer reached
//! answers from what it shares and what it has heard, and results travel back along the path the query came by.
//! The signaling server sees none of this: it only introduced the neighbours.
//!
//! Like [`crate::Swarm`], this is sans-IO: the shell feeds [`Input`]s with the time, drains
//! [`Discovery::poll_output`], and arms a timer at [`Discovery::poll_timeout`].
//!
//! # Layout
//! - [`wire`]: the messages and their byte layout.
//! - [`words`]: the words of a folder share's inner folders and files that its entry carries for search.
//! - [`cache`]: the bounded, expiring memories (entries heard, ids seen, ways back).
//! - `sim` (feature `sim`): a deterministic network of many peers for tests and the search benchmark.

pub mod cache;
#[cfg(feature = "sim")]
pub mod sim;
pub mod wire;
pub mod words;

use core::time::Duration;
use std::collections::VecDeque;

use rand_core::Rng;

use crate::ConnId;
use crate::bucket::TokenBucket;
use crate::id::ContentId;
use crate::rng::SplitMix64;
use crate::time::Instant;
use crate::vec_map::VecMap;
use cache::{HeardCache, SeenIds};
pub use wire::Entry;
use wire::Message;
pub use words::Words;

/// Tunables. The defaults keep a query under a few thousand messages in a network of any size.
#[derive(Debug, Clone)]
pub struct Config {
    /// Neighbours a peer connects to itself (as the offerer) from the network's member list; it accepts more
    /// from others up to `max_neighbours`. The state machine does not use it: it is the shells' shared setting.
    pub degree: usize,
    /// Most neighbours; more connections are closed.
    pub max_neighbours: usize,
    /// How many times an announcement is passed on after the first neighbour hears it.
    pub announce_hops: u8,
    /// How many times a query is passed on after the first neighbour hears it.
    pub query_hops: u8,
    /// Own files are announced again at this interval, so caches stay fresh.
    pub announce_interval: Duration,
    /// How long a heard entry is remembered after the last announcement of it.
    pub heard_ttl: Duration,
    /// Most entries remembered from announcements.
    pub max_heard: usize,
    /// Most files this peer shares in discovery.
    pub max_local: usize,
    /// How long a message id is remembered for deduplication, and a query's way back kept.
    pub seen_ttl: Duration,
    /// Most message ids remembered.
    pub max_seen: usize,
    /// Most results forwarded back for one query passing through.
    pub max_forwarded_results: u32,
    /// Most distinct results reported for one of this peer's own searches.
    pub max_results_per_search: usize,
    /// Most searches of this peer's own in progress; a new one replaces the oldest.
    pub max_active_searches: usize,
    /// How long one of this peer's searches stays active: it is sent to every neighbour that connects meanwhile,
    /// and matching announcements heard meanwhile are reported as results.
    pub search_ttl: Duration,
    /// Per-neighbour rate limit on what this peer reads: a bucket of `burst` messages refilled at `rate_per_sec`.
    pub burst: u32,
    pub rate_per_sec: u32,
    /// Per neighbour, how many of its messages this peer passes on to the others: a bucket of
    /// `forward_from_burst` messages refilled at `forward_from_rate_per_sec`. A neighbour flooding queries or
    /// announcements spends its own bucket, not the others', and, once its burst is spent, takes at most a
    /// quarter of the rate at which this peer passes messages on to each other neighbour
    /// (`forward_to_rate_per_sec`): up to three flooding neighbours leave room for an honest one's messages.
    pub forward_from_burst: u32,
    pub forward_from_rate_per_sec: u32,
    /// Per neighbour, how many messages passed on from the others this peer sends it: a bucket of
    /// `forward_to_burst` refilled at `forward_to_rate_per_sec`. Half of what the receiver reads (`burst`,
    /// `rate_per_sec`), so this peer's own messages (searches, answers, announcements: never held back) still fit.
    pub forward_to_burst: u32,
    pub forward_to_rate_per_sec: u32,
    /// Malformed messages tolerated from one neighbour before it is dropped.
    pub max_malformed: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            degree: 4,
            max_neighbours: 8,
            announce_hops: 1,
            query_hops: 3,
            announce_interval: Duration::from_secs(120),
            heard_ttl: Duration::from_secs(600),
            max_heard: 4096,
            max_local: 256,
            seen_ttl: Duration::from_secs(30),
            max_seen: 8192,
            max_forwarded_results: 64,
            max_results_per_search: 100,
            max_active_searches: 16,
            search_ttl: Duration::from_secs(600),
            burst: 64,
            rate_per_sec: 16,
            forward_from_burst: 16,
            forward_from_rate_per_sec: 2,
            forward_to_burst: 32,
            forward_to_rate_per_sec: 8,
            max_malformed: 3,
        }
    }
}

/// What goes in.
#[derive(Debug)]
pub enum Input<'a> {
    /// A `discovery` data channel to a neighbour opened.
    NeighbourConnected {
        conn: ConnId,
    },
    NeighbourDisconnected {
        conn: ConnId,
    },
    /// One message from a neighbour, not yet parsed.
    Received {
        conn: ConnId,
        bytes: &'a [u8],
    },
}

/// What comes out.
#[derive(Debug)]
pub enum Output {
    Send {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    /// Close a neighbour that broke the protocol or the limits.
    Close {
        conn: ConnId,
    },
    Event(Event),
}

/// Things the user interface shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A match for one of this peer's searches, or an update of one (more sources). Higher `score` ranks first.
    Result { search: SearchId, entry: Entry, score: u32, sources: u32 },
    /// A neighbour was dropped, with the reason.
    NeighbourDropped { conn: ConnId, reason: &'static str },
}

/// One of this peer's own searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SearchId(pub u64);

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The query has no word to search for.
    EmptyQuery,
    /// Already sharing the most files discovery announces.
    TooManyShared,
}

impl core::fmt::Display for CommandError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CommandError::EmptyQuery => f.write_str("type at least one letter or digit to search"),
            CommandError::TooManyShared => f.write_str("too many shared files to announce more"),
        }
    }
}

/// Message counters, for benchmarks and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages sent, of every kind.
    pub sent: u64,
    /// Of which queries and results: the cost of searching, apart from announcements.
    pub sent_search: u64,
    pub received: u64,
    pub rate_limited: u64,
    pub malformed: u64,
    /// Copies of received queries and announcements not passed on to a neighbour: over the forwarding budget of
    /// the neighbour they came from or of the one they were for.
    pub not_forwarded: u64,
}

#[derive(Debug)]
struct Neighbour {
    /// What it may make this peer read.
    receive: TokenBucket,
    /// How many of its messages this peer passes on.
    forward_from: TokenBucket,
    /// How many messages passed on from others this peer sends it.
    forward_to: TokenBucket,
    malformed: u32,
    /// Whether its Hello said it reads the words forms (discovery revision 2): until then it is sent the first
    /// forms, entries without words.
    reads_words: bool,
}

/// The way back for a query passing through, and how many results already went back.
#[derive(Debug)]
struct Route {
    from: Option<ConnId>,
    forwarded: u32,
}

#[derive(Debug)]
struct Search {
    words: Vec<String>,
    results: VecMap<ContentId, Reported>,
    expires: Instant,
}

/// A content reported for one of this peer's searches: as first reported, and how many answers named it.
#[derive(Debug)]
struct Reported {
    entry: Entry,
    score: u32,
    sources: u32,
}

/// One peer's membership in a discovery network.
#[derive(Debug)]
pub struct Discovery {
    config: Config,
    rng: SplitMix64,
    neighbours: VecMap<ConnId, Neighbour>,
    local: Vec<Entry>,
    heard: HeardCache,
    /// Announcement ids seen.
    seen_announces: SeenIds<()>,
    /// Query ids seen, with the way back. Own queries have `from: None`.
    routes: SeenIds<Route>,
    searches: VecMap<u64, Search>,
    search_order: VecDeque<u64>,
    next_announce: Option<Instant>,
    out: VecDeque<Output>,
    stats: Stats,
}

impl Discovery {
    pub fn new(config: Config, seed: u64) -> Self {
        Discovery {
            heard: HeardCache::new(config.max_heard),
            seen_announces: SeenIds::new(config.max_seen),
            routes: SeenIds::new(config.max_seen),
            config,
            rng: SplitMix64::seed_from_u64(seed),
            neighbours: VecMap::new(),
            local: Vec::new(),
            searches: VecMap::new(),
            search_order: VecDeque::new(),
            next_announce: None,
            out: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    // Getters.

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn neighbours(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.neighbours.keys().copied()
    }

    /// Entries heard from others and still remembered.
    pub fn heard_len(&self) -> usize {
        self.heard.len()
    }

    // Commands.

    /// Starts announcing a file. Sharing the same content again updates its entry.
    pub fn share(&mut self, now: Instant, entry: Entry) -> Result<(), CommandError> {
        if let Some(e) = self.local.iter_mut().find(|e| e.content == entry.content) {
            *e = entry.clone();
        } else if self.local.len() >= self.config.max_local {
            return Err(CommandError::TooManyShared);
        } else {
            self.local.push(entry.clone());
        }
        let conns: Vec<_> = self.neighbours.keys().copied().collect();
        self.announce(now, &conns, vec![entry]);
        self.next_announce.get_or_insert(now + self.config.announce_interval);
        Ok(())
    }

    /// Stops announcing a file, and tells the neighbours to forget it now (a Withdraw, passed on as far as the
    /// announcements went: PROTOCOL.md 4.3).
    pub fn unshare(&mut self, now: Instant, content: ContentId) {
        let before = self.local.len();
        self.local.retain(|e| e.content != content);
        if self.local.len() == before {
            return;
        }
        let conns: Vec<_> = self.neighbours.keys().copied().collect();
        if conns.is_empty() {
            return;
        }
        let id = self.rng.next_u64();
        self.seen_announces.insert(id, (), now + self.config.seen_ttl);
        let bytes = wire::encode(&Message::Withdraw { id, hops: self.config.announce_hops, contents: vec![content] });
        for conn in conns {
            self.send(conn, bytes.clone());
        }
    }

    /// Whether this peer announces `content`.
    pub fn is_shared(&self, content: &ContentId) -> bool {
        self.local.iter().any(|e| e.content == *content)
    }

    /// Starts a search; results arrive as [`Event::Result`]s.
    pub fn search(&mut self, now: Instant, text: &str) -> Result<SearchId, CommandError> {
        let words = words(text);
        if words.is_empty() {
            return Err(CommandError::EmptyQuery);
        }
        let id = self.rng.next_u64();
        if self.search_order.len() >= self.config.max_active_searches
            && let Some(old) = self.search_order.pop_front()
        {
            self.searches.remove(&old);
        }
        self.search_order.push_back(id);
        let expires = now + self.config.search_ttl;
        self.searches.insert(id, Search { words: words.clone(), results: VecMap::new(), expires });
        self.routes.insert(id, Route { from: None, forwarded: 0 }, now + self.config.seen_ttl);
        // What this peer already knows answers at once.
        let known = self.matches(&words);
        self.deliver_results(id, known);
        let msg = wire::encode(&Message::Query { id, hops: self.config.query_hops, text: words.join(" ") });
        let conns: Vec<_> = self.neighbours.keys().copied().collect();
        for conn in conns {
            self.send(conn, msg.clone());
        }
        Ok(SearchId(id))
    }

    // Inputs.

    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        match input {
            Input::NeighbourConnected { conn } => {
                if self.neighbours.len() >= self.config.max_neighbours {
                    self.out.push_back(Output::Close { conn });
                    return;
                }
                let c = &self.config;
                let neighbour = Neighbour {
                    receive: TokenBucket::full(c.burst, c.rate_per_sec, now),
                    forward_from: TokenBucket::full(c.forward_from_burst, c.forward_from_rate_per_sec, now),
                    forward_to: TokenBucket::full(c.forward_to_burst, c.forward_to_rate_per_sec, now),
                    malformed: 0,
                    reads_words: false,
                };
                self.neighbours.insert(conn, neighbour);
                // First, so the neighbour knows at once that it may send this peer the words forms.
                self.send(conn, wire::encode(&Message::Hello { revision: wire::REVISION }));
                let local = self.local.clone();
                self.announce(now, &[conn], local);
                // A search is one flood: a neighbour that arrives while it is active gets it too, so a search
                // typed before the network was reached (or while it was small) still finds what is there.
                let active: Vec<(u64, String)> = self
                    .search_order
                    .iter()
                    .filter_map(|id| Some((*id, self.searches.get(id)?.words.join(" "))))
                    .collect();
                for (id, text) in active {
                    self.routes.insert(id, Route { from: None, forwarded: 0 }, now + self.config.seen_ttl);
                    self.send(conn, wire::encode(&Message::Query { id, hops: self.config.query_hops, text }));
                }
            }
            Input::NeighbourDisconnected { conn } => {
                self.neighbours.remove(&conn);
            }
            Input::Received { conn, bytes } => self.handle_message(now, conn, bytes),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.heard.expire(now);
        self.seen_announces.expire(now);
        self.routes.expire(now);
        self.searches.retain(|_, s| s.expires > now);
        let searches = &self.searches;
        self.search_order.retain(|id| searches.contains_key(id));
        if self.next_announce.is_some_and(|t| t <= now) {
            let conns: Vec<_> = self.neighbours.keys().copied().collect();
            let local = self.local.clone();
            self.announce(now, &conns, local);
            self.next_announce = (!self.local.is_empty()).then(|| now + self.config.announce_interval);
        }
    }

    // Outputs.

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let search = self.search_order.front().and_then(|id| self.searches.get(id)).map(|s| s.expires);
        [
            self.next_announce,
            self.heard.next_expiry(),
            self.seen_announces.next_expiry(),
            self.routes.next_expiry(),
            search,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // Internals.

    fn handle_message(&mut self, now: Instant, conn: ConnId, bytes: &[u8]) {
        let Some(n) = self.neighbours.get_mut(&conn) else { return };
        self.stats.received += 1;
        if !n.receive.try_take(now) {
            self.stats.rate_limited += 1;
            return;
        }
        let msg = match wire::decode(bytes) {
            Ok(m) => m,
            Err(_) => {
                self.stats.malformed += 1;
                n.malformed += 1;
                if n.malformed >= self.config.max_malformed {
                    self.neighbours.remove(&conn);
                    self.out.push_back(Output::Close { conn });
                    self.out.push_back(Output::Event(Event::NeighbourDropped { conn, reason: "malformed messages" }));
                }
                return;
            }
        };
        match msg {
            Message::Announce { id, hops, entries } => {
                if !self.seen_announces.insert(id, (), now + self.config.seen_ttl) {
                    return;
                }
                let expires = now + self.config.heard_ttl;
                for e in &entries {
                    if !self.local.iter().any(|l| l.content == e.content) {
                        self.heard.insert(e.clone(), conn, expires);
                    }
                }
                // Active searches keep listening: a matching file announced now is a new result (once: a
                // re-announcement is not another source), under the name this peer knows it by (a content known
                // already keeps its first name).
                let known: Vec<Entry> = entries.iter().map(|e| self.known(e).clone()).collect();
                let searching: Vec<u64> = self.search_order.iter().copied().collect();
                for query in searching {
                    let Some(search) = self.searches.get(&query) else { continue };
                    let new: Vec<Entry> =
                        known.iter().filter(|e| !search.results.contains_key(&e.content)).cloned().collect();
                    self.deliver_results(query, new);
                }
                if let Some(hops) = forward_hops(hops, self.config.announce_hops) {
                    self.forward(now, conn, &Message::Announce { id, hops, entries });
                }
            }
            Message::Withdraw { id, hops, contents } => {
                // A copy seen already still withdraws what its sender announced: the entry may be charged to the
                // neighbour this copy came by, not to the one the first copy came by.
                let fresh = self.seen_announces.insert(id, (), now + self.config.seen_ttl);
                for content in &contents {
                    self.heard.withdraw(content, conn);
                }
                if !fresh {
                    return;
                }
                if let Some(hops) = forward_hops(hops, self.config.announce_hops) {
                    self.forward(now, conn, &Message::Withdraw { id, hops, contents });
                }
            }
            Message::Hello { .. } => {
                let Some(n) = self.neighbours.get_mut(&conn) else { return };
                if n.reads_words {
                    return;
                }
                n.reads_words = true;
                // It was sent the first forms until now: what this peer lists with words goes again with them.
                let folders: Vec<Entry> = self.local.iter().filter(|e| !e.words.is_empty()).cloned().collect();
                self.announce(now, &[conn], folders);
            }
            Message::Query { id, hops, text } => {
                // One of this peer's own searches coming round again (also after its way back expired).
                if self.searches.contains_key(&id) {
                    return;
                }
                if !self.routes.insert(id, Route { from: Some(conn), forwarded: 0 }, now + self.config.seen_ttl) {
                    return;
                }
                let words = words(&text);
                let mut found = self.matches(&words);
                if !self.reads_words(conn) {
                    // Its searcher could not check a match on words it is not sent, and would drop it.
                    found.retain(|e| score(&words, &e.name).is_some());
                }
                let mut rest = &found[..];
                while !rest.is_empty() {
                    let (chunk, tail) = rest.split_at(wire::entries_that_fit(rest, wire::MAX_RESULT_ENTRIES));
                    rest = tail;
                    self.send_to(&[conn], &Message::Results { query: id, entries: chunk.to_vec() });
                }
                if let Some(hops) = forward_hops(hops, self.config.query_hops)
                    && !words.is_empty()
                {
                    self.forward(now, conn, &Message::Query { id, hops, text: words.join(" ") });
                }
            }
            Message::Results { query, entries } => {
                if self.searches.contains_key(&query) {
                    self.deliver_results(query, entries);
                    return;
                }
                let cap = self.config.max_forwarded_results;
                let Some(route) = self.routes.get_mut(query) else { return };
                match route.from {
                    None => self.deliver_results(query, entries),
                    Some(back) => {
                        let room = cap.saturating_sub(route.forwarded) as usize;
                        let entries: Vec<_> = entries.into_iter().take(room).collect();
                        if entries.is_empty() || back == conn {
                            return;
                        }
                        route.forwarded += entries.len() as u32;
                        // Fewer entries than it came with, at most as long: one message still carries them.
                        self.send_to(&[back], &Message::Results { query, entries });
                    }
                }
            }
        }
    }

    /// Reports results of one of this peer's searches, scored against its words; entries that do not match
    /// (a lying or sloppy peer) are dropped. A content reported already is reported again as it was first (name,
    /// size, media type, score) with one more source: a later answer naming it differently does not rename it.
    fn deliver_results(&mut self, query: u64, entries: Vec<Entry>) {
        let cap = self.config.max_results_per_search;
        let Some(search) = self.searches.get_mut(&query) else { return };
        for entry in entries {
            let Some(score) = score_entry(&search.words, &entry) else { continue };
            let known = search.results.len();
            let (entry, score, sources) = match search.results.get_mut(&entry.content) {
                Some(first) => {
                    first.sources = first.sources.saturating_add(1);
                    (first.entry.clone(), first.score, first.sources)
                }
                None if known < cap => {
                    search.results.insert(entry.content, Reported { entry: entry.clone(), score, sources: 1 });
                    (entry, score, 1)
                }
                None => continue,
            };
            self.out.push_back(Output::Event(Event::Result { search: SearchId(query), entry, score, sources }));
        }
    }

    /// The entry this peer knows for `e`'s content: its own, or the first heard, or else `e`.
    fn known<'a>(&'a self, e: &'a Entry) -> &'a Entry {
        self.local.iter().find(|l| l.content == e.content).or_else(|| self.heard.get(&e.content)).unwrap_or(e)
    }

    /// Own and heard entries matching every word, best first, at most one message's worth.
    fn matches(&self, words: &[String]) -> Vec<Entry> {
        if words.is_empty() {
            return Vec::new();
        }
        // The best few kept in order as they are found (score descending, then content id; equals in the order
        // found): less code than sorting every match, and the same result.
        let mut best: Vec<(u32, &Entry)> = Vec::new();
        for e in self.local.iter().chain(self.heard.iter()) {
            let Some(s) = score_entry(words, e) else { continue };
            let at = best.partition_point(|&(bs, be)| bs > s || (bs == s && be.content <= e.content));
            if at < wire::MAX_RESULT_ENTRIES {
                best.insert(at, (s, e));
                best.truncate(wire::MAX_RESULT_ENTRIES);
            }
        }
        best.into_iter().map(|(_, e)| e.clone()).collect()
    }

    fn announce(&mut self, now: Instant, conns: &[ConnId], entries: Vec<Entry>) {
        if conns.is_empty() || entries.is_empty() {
            return;
        }
        let mut rest = &entries[..];
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(wire::entries_that_fit(rest, wire::MAX_ANNOUNCE_ENTRIES));
            rest = tail;
            let id = self.rng.next_u64();
            self.seen_announces.insert(id, (), now + self.config.seen_ttl);
            self.send_to(conns, &Message::Announce { id, hops: self.config.announce_hops, entries: chunk.to_vec() });
        }
    }

    /// Whether `conn` is sent the words forms (its Hello said it reads them).
    fn reads_words(&self, conn: ConnId) -> bool {
        self.neighbours.get(&conn).is_some_and(|n| n.reads_words)
    }

    /// Sends `msg` to each of `conns` that is still a neighbour, in the form it reads.
    fn send_to(&mut self, conns: &[ConnId], msg: &Message) {
        let forms = Forms::new(msg);
        for &conn in conns {
            if self.neighbours.contains_key(&conn) {
                self.send(conn, forms.for_neighbour(self.reads_words(conn)));
            }
        }
    }

    /// Passes a message from `from` on to every other neighbour, in the form each reads, within the forwarding
    /// budgets: `from`'s (one token for the message, or it goes nowhere) and each receiver's (one token per copy).
    fn forward(&mut self, now: Instant, from: ConnId, msg: &Message) {
        let others = self.neighbours.len().saturating_sub(1) as u64;
        if others == 0 {
            return;
        }
        if !self.neighbours.get_mut(&from).is_some_and(|n| n.forward_from.try_take(now)) {
            self.stats.not_forwarded += others;
            return;
        }
        let forms = Forms::new(msg);
        let conns: Vec<_> = self.neighbours.keys().copied().filter(|&c| c != from).collect();
        for conn in conns {
            if self.neighbours.get_mut(&conn).is_some_and(|n| n.forward_to.try_take(now)) {
                self.send(conn, forms.for_neighbour(self.reads_words(conn)));
            } else {
                self.stats.not_forwarded += 1;
            }
        }
    }

    fn send(&mut self, conn: ConnId, bytes: Vec<u8>) {
        self.stats.sent += 1;
        if bytes.first().is_some_and(|t| [wire::TAG_QUERY, wire::TAG_RESULTS, wire::TAG_RESULTS_WORDS].contains(t)) {
            self.stats.sent_search += 1;
        }
        self.out.push_back(Output::Send { conn, bytes });
    }
}

/// A message encoded for both kinds of neighbour: those that read the words forms and those that do not.
struct Forms {
    words: Vec<u8>,
    /// The first form, when it differs.
    plain: Option<Vec<u8>>,
}

impl Forms {
    fn new(msg: &Message) -> Forms {
        Forms { words: wire::encode(msg), plain: msg.without_words().map(|m| wire::encode(&m)) }
    }

    fn for_neighbour(&self, reads_words: bool) -> Vec<u8> {
        match &self.plain {
            Some(plain) if !reads_words => plain.clone(),
            _ => self.words.clone(),
        }
    }
}

/// The hop count a received message is passed on with, if it is passed on at all: one less than the smaller of
/// what it carries and this peer's own budget for its kind (`own`: `announce_hops` or `query_hops`). A sender that
/// asks for more hops than the receiver would give its own messages gains nothing (docs/PROTOCOL.md 4.3, Hops).
fn forward_hops(received: u8, own: u8) -> Option<u8> {
    received.min(own).checked_sub(1)
}

/// The network a peer joins when it is given no name.
pub const DEFAULT_NETWORK: &str = "default";
/// Longest network name, in bytes: `net:` and the name stay within the signaling server's 80-byte swarm names.
pub const MAX_NETWORK_NAME_LEN: usize = 76;

/// The name of a discovery network: 1 to [`MAX_NETWORK_NAME_LEN`] bytes of `[a-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetworkName(String);

impl NetworkName {
    pub fn parse(s: &str) -> Result<NetworkName, NetworkNameError> {
        if s.is_empty() || s.len() > MAX_NETWORK_NAME_LEN {
            return Err(NetworkNameError);
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-') {
            return Err(NetworkNameError);
        }
        Ok(NetworkName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The signaling swarm of this network: `net:<name>`.
    pub fn swarm(&self) -> String {
        format!("net:{}", self.0)
    }
}

impl Default for NetworkName {
    fn default() -> Self {
        NetworkName(DEFAULT_NETWORK.to_owned())
    }
}

impl core::fmt::Display for NetworkName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A network name that is empty, too long, or has a character other than `a-z`, `0-9`, `_` and `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkNameError;

impl core::fmt::Display for NetworkNameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "a network name has 1 to {MAX_NETWORK_NAME_LEN} characters, only a-z, 0-9, '_' and '-'")
    }
}

impl std::error::Error for NetworkNameError {}

/// The words of a query: lowercase runs of letters and digits (lowercase as [`fold_case`]), at most 8.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(8).map(lowercase).collect()
}

pub use crate::manifest::fold_case;

fn lowercase(word: &str) -> String {
    word.chars().map(fold_case).collect()
}

/// How well `name` matches `words`: `None` unless every word occurs in the name; per word 3 when it is a whole
/// word of the name, 2 when a word of the name starts with it, 1 when it occurs inside one.
pub fn score(words: &[String], name: &str) -> Option<u32> {
    let tokens = self::words_unbounded(name);
    let mut total = 0;
    for w in words {
        let s = best_match(w, tokens.iter().map(String::as_str));
        if s == 0 {
            return None;
        }
        total += s;
    }
    Some(total)
}

/// How well `entry` matches `words` (PROTOCOL.md 4.3, Matching and ranking): its name's [`score`] when the name
/// matches every word; otherwise, when each word occurs in one of the name's words or of the entry's [`Words`] (a
/// folder's inner folder and file names), the number of words the name matches. That is less than the number of
/// words, the least a name match scores, so a share whose name matches ranks above one found by its inner words.
pub fn score_entry(words: &[String], entry: &Entry) -> Option<u32> {
    if let Some(s) = score(words, &entry.name) {
        return Some(s);
    }
    if entry.words.is_empty() {
        return None;
    }
    let name = words_unbounded(&entry.name);
    let mut in_name = 0;
    for w in words {
        if best_match(w, name.iter().map(String::as_str)) > 0 {
            in_name += 1;
        } else if best_match(w, entry.words.iter()) == 0 {
            return None;
        }
    }
    Some(in_name)
}

/// How well `word` matches the best of `tokens`: 3 equal, 2 a prefix of one, 1 inside one, 0 in none.
fn best_match<'a>(word: &str, tokens: impl Iterator<Item = &'a str>) -> u32 {
    // On bytes (the same answers for UTF-8): `str::contains` with a `&str` pattern brings a substring searcher
    // and the panic path of `str` slicing, some 5 KB of the browser's wasm, for words of a few letters.
    let w = word.as_bytes();
    tokens
        .map(|t| {
            let t = t.as_bytes();
            if t == w {
                3
            } else if t.starts_with(w) {
                2
            } else if !w.is_empty() && t.windows(w.len()).any(|part| part == w) {
                1
            } else {
                0
            }
        })
        .max()
        .unwrap_or(0)
}

fn words_unbounded(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8, name: &str) -> Entry {
        Entry {
            content: ContentId([n; 32]),
            size: 10,
            name: name.into(),
            media_type: "video/mp4".into(),
            words: Words::none(),
        }
    }

    fn drain(d: &mut Discovery) -> Vec<Output> {
        std::iter::from_fn(|| d.poll_output()).collect()
    }

    fn sends(outs: &[Output]) -> Vec<(ConnId, Message)> {
        outs.iter()
            .filter_map(|o| match o {
                Output::Send { conn, bytes } => Some((*conn, wire::decode(bytes).expect("own messages decode"))),
                _ => None,
            })
            .collect()
    }

    const T0: Instant = Instant::ZERO;

    #[test]
    fn scoring_prefers_whole_words_and_requires_every_word() {
        let w = words("Holiday video");
        assert_eq!(score(&w, "holiday-video.mp4"), Some(6));
        assert_eq!(score(&words("ÉTÉ łódź"), "Été à Łódź.jpg"), Some(6));
        assert_eq!(score(&words("σοφία москва"), "ΣΟΦΊΑ-МОСКВА.png"), Some(6));
        assert_eq!(score(&w, "holidays-videos.mp4"), Some(4));
        assert_eq!(score(&w, "holiday.jpg"), None);
    }

    #[test]
    fn a_withdrawal_forgets_only_its_senders_entries_also_from_a_copy_seen_before() {
        let mut d = Discovery::new(Config::default(), 1);
        for c in 1..=2 {
            d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(c) });
        }
        // Heard first from neighbour 2 (passed on by it), then from its announcer, neighbour 1: charged to 2.
        let announce = |id| wire::encode(&Message::Announce { id, hops: 0, entries: vec![entry(9, "x.mp4")] });
        d.handle_input(T0, Input::Received { conn: ConnId(2), bytes: &announce(1) });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &announce(2) });
        assert_eq!(d.heard_len(), 1);
        let withdraw = wire::encode(&Message::Withdraw { id: 7, hops: 1, contents: vec![ContentId([9; 32])] });
        // From its announcer directly: not the neighbour it is charged to, so kept (and passed on once).
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &withdraw });
        assert_eq!(d.heard_len(), 1);
        assert!(sends(&drain(&mut d)).iter().any(|(c, m)| *c == ConnId(2) && matches!(m, Message::Withdraw { .. })));
        // The copy neighbour 2 passes on, seen already: still withdraws what 2 announced, and is not passed on.
        d.handle_input(T0, Input::Received { conn: ConnId(2), bytes: &withdraw });
        assert_eq!(d.heard_len(), 0);
        assert!(sends(&drain(&mut d)).is_empty());
    }

    #[test]
    fn a_new_neighbour_hears_what_this_peer_shares() {
        let mut d = Discovery::new(Config::default(), 1);
        d.share(T0, entry(1, "a.mp4")).expect("share");
        d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(5) });
        let sent = sends(&drain(&mut d));
        assert!(matches!(&sent[..], [
            (ConnId(5), Message::Hello { revision: wire::REVISION }),
            (ConnId(5), Message::Announce { entries, .. }),
        ] if entries[0].name == "a.mp4"));
    }

    #[test]
    fn announcements_are_passed_on_once_with_one_hop_less() {
        let mut d = Discovery::new(Config { announce_hops: 3, ..Config::default() }, 1);
        for c in 1..=3 {
            d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(c) });
        }
        drain(&mut d);
        let msg = wire::encode(&Message::Announce { id: 42, hops: 2, entries: vec![entry(9, "x.mp4")] });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &msg });
        d.handle_input(T0, Input::Received { conn: ConnId(2), bytes: &msg });
        let sent = sends(&drain(&mut d));
        let targets: Vec<_> = sent.iter().map(|(c, _)| c.0).collect();
        assert_eq!(targets, [2, 3]);
        assert!(sent.iter().all(|(_, m)| matches!(m, Message::Announce { id: 42, hops: 1, .. })));
        assert_eq!(d.heard_len(), 1);
    }

    #[test]
    fn a_message_with_more_hops_than_our_own_budget_is_passed_on_with_our_budget_less_one() {
        let config = Config::default();
        let (query_hops, announce_hops) = (config.query_hops, config.announce_hops);
        let mut d = Discovery::new(config, 1);
        for c in 1..=2 {
            d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(c) });
        }
        drain(&mut d);
        let q = wire::encode(&Message::Query { id: 7, hops: wire::MAX_HOPS, text: "x".into() });
        let a = wire::encode(&Message::Announce { id: 8, hops: wire::MAX_HOPS, entries: vec![entry(9, "x.mp4")] });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &q });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &a });
        let sent = sends(&drain(&mut d));
        assert!(
            matches!(&sent[..], [
            (ConnId(2), Message::Query { id: 7, hops: q, .. }),
            (ConnId(2), Message::Announce { id: 8, hops: a, .. }),
        ] if *q == query_hops - 1 && *a == announce_hops - 1),
            "{sent:?}"
        );
        // A budget of zero forwards nothing, whatever the message asks for.
        let mut d = Discovery::new(Config { query_hops: 0, ..Config::default() }, 1);
        for c in 1..=2 {
            d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(c) });
        }
        drain(&mut d);
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &q });
        assert!(sends(&drain(&mut d)).is_empty());
    }

    #[test]
    fn a_query_is_answered_from_heard_entries_and_results_go_back_the_way_it_came() {
        let mut d = Discovery::new(Config::default(), 1);
        for c in 1..=2 {
            d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(c) });
        }
        let ann = wire::encode(&Message::Announce { id: 1, hops: 0, entries: vec![entry(9, "holiday-video.mp4")] });
        d.handle_input(T0, Input::Received { conn: ConnId(2), bytes: &ann });
        drain(&mut d);
        let q = wire::encode(&Message::Query { id: 77, hops: 1, text: "holiday".into() });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &q });
        let sent = sends(&drain(&mut d));
        assert!(matches!(&sent[0], (ConnId(1), Message::Results { query: 77, entries }) if entries.len() == 1));
        assert!(matches!(&sent[1], (ConnId(2), Message::Query { id: 77, hops: 0, .. })));
        // A result from further away for the same query goes back to neighbour 1.
        let res = wire::encode(&Message::Results { query: 77, entries: vec![entry(8, "holiday.mkv")] });
        d.handle_input(T0, Input::Received { conn: ConnId(2), bytes: &res });
        let sent = sends(&drain(&mut d));
        assert!(matches!(&sent[..], [(ConnId(1), Message::Results { query: 77, .. })]));
    }

    #[test]
    fn a_neighbour_over_its_rate_is_ignored() {
        let config = Config { burst: 5, rate_per_sec: 1, ..Config::default() };
        let mut d = Discovery::new(config, 1);
        d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(1) });
        for id in 0..20 {
            let q = wire::encode(&Message::Query { id, hops: 0, text: "x".into() });
            d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &q });
        }
        assert_eq!(d.stats().rate_limited, 15);
        // A second later one more token has been earned.
        let q = wire::encode(&Message::Query { id: 99, hops: 0, text: "x".into() });
        d.handle_input(Instant::from_millis(1000), Input::Received { conn: ConnId(1), bytes: &q });
        assert_eq!(d.stats().rate_limited, 15);
    }

    #[test]
    fn a_neighbour_sending_garbage_is_dropped() {
        let mut d = Discovery::new(Config::default(), 1);
        d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(1) });
        for _ in 0..3 {
            d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &[0xff, 1, 2] });
        }
        let outs = drain(&mut d);
        assert!(outs.iter().any(|o| matches!(o, Output::Close { conn: ConnId(1) })));
        assert_eq!(d.neighbours().count(), 0);
    }

    #[test]
    fn neighbours_beyond_the_limit_are_closed() {
        let mut d = Discovery::new(Config { max_neighbours: 2, ..Config::default() }, 1);
        for c in 1..=3 {
            d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(c) });
        }
        assert!(drain(&mut d).iter().any(|o| matches!(o, Output::Close { conn: ConnId(3) })));
        assert_eq!(d.neighbours().count(), 2);
    }

    #[test]
    fn own_search_reports_each_content_once_with_a_growing_source_count() {
        let mut d = Discovery::new(Config::default(), 1);
        d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(1) });
        d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(2) });
        let SearchId(id) = d.search(T0, "holiday").expect("search");
        drain(&mut d);
        let res = wire::encode(&Message::Results {
            query: id,
            entries: vec![entry(8, "holiday.mkv"), entry(7, "other.txt")],
        });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &res });
        d.handle_input(T0, Input::Received { conn: ConnId(2), bytes: &res });
        let events: Vec<_> = drain(&mut d)
            .into_iter()
            .filter_map(|o| match o {
                Output::Event(Event::Result { entry, sources, .. }) => Some((entry.name, sources)),
                _ => None,
            })
            .collect();
        assert_eq!(events, [("holiday.mkv".to_string(), 1), ("holiday.mkv".to_string(), 2)]);
    }

    #[test]
    fn a_search_reaches_a_neighbour_that_connects_while_it_is_active() {
        let mut d = Discovery::new(Config::default(), 1);
        let SearchId(id) = d.search(T0, "Holiday!").expect("search");
        assert!(sends(&drain(&mut d)).is_empty(), "no neighbour yet");
        d.handle_input(T0 + Duration::from_secs(40), Input::NeighbourConnected { conn: ConnId(3) });
        let sent = sends(&drain(&mut d));
        assert!(matches!(&sent[..], [
            (ConnId(3), Message::Hello { .. }),
            (ConnId(3), Message::Query { id: q, hops: 3, text }),
        ] if *q == id && text == "holiday"));
        // Results come back after the query's way back would have expired: still this search's.
        let res = wire::encode(&Message::Results { query: id, entries: vec![entry(8, "holiday.mkv")] });
        d.handle_input(T0 + Duration::from_secs(80), Input::Received { conn: ConnId(3), bytes: &res });
        assert!(drain(&mut d).iter().any(|o| matches!(o, Output::Event(Event::Result { .. }))));
    }

    #[test]
    fn an_active_search_reports_a_matching_announcement_once() {
        let mut d = Discovery::new(Config::default(), 1);
        d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(1) });
        let SearchId(id) = d.search(T0, "holiday").expect("search");
        drain(&mut d);
        for (ann, name) in [(1, "holiday-video.mp4"), (2, "holiday-video.mp4"), (3, "other.mp4")] {
            let n = if name == "other.mp4" { 7 } else { 9 };
            let msg = wire::encode(&Message::Announce { id: ann, hops: 0, entries: vec![entry(n, name)] });
            d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &msg });
        }
        let results: Vec<_> = drain(&mut d)
            .into_iter()
            .filter_map(|o| match o {
                Output::Event(Event::Result { search, entry, sources, .. }) => Some((search.0, entry.name, sources)),
                _ => None,
            })
            .collect();
        assert_eq!(results, [(id, "holiday-video.mp4".to_string(), 1)]);
    }

    #[test]
    fn a_search_stops_listening_after_its_time_to_live() {
        let config = Config::default();
        let ttl = config.search_ttl;
        let mut d = Discovery::new(config, 1);
        let SearchId(id) = d.search(T0, "holiday").expect("search");
        assert!(d.poll_timeout().is_some_and(|t| t <= T0 + ttl));
        d.handle_timeout(T0 + ttl);
        d.handle_input(T0 + ttl, Input::NeighbourConnected { conn: ConnId(1) });
        let res = wire::encode(&Message::Results { query: id, entries: vec![entry(8, "holiday.mkv")] });
        d.handle_input(T0 + ttl, Input::Received { conn: ConnId(1), bytes: &res });
        let outs = drain(&mut d);
        assert!(!outs.iter().any(|o| matches!(o, Output::Event(_))));
        assert!(!sends(&outs).iter().any(|(_, m)| matches!(m, Message::Query { .. })));
    }

    /// A folder share named `name` with one file at `path`, as the node announces it.
    fn folder(n: u8, name: &str, path: &str) -> Entry {
        Entry { words: Words::of_tree(name, [path]), ..entry(n, name) }
    }

    /// A peer with `conns` as neighbours that each said Hello of revision 2, its outputs drained.
    fn with_neighbours_reading_words(conns: &[u64]) -> Discovery {
        let mut d = Discovery::new(Config::default(), 1);
        for &c in conns {
            d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(c) });
            let hello = wire::encode(&Message::Hello { revision: wire::REVISION });
            d.handle_input(T0, Input::Received { conn: ConnId(c), bytes: &hello });
        }
        drain(&mut d);
        d
    }

    fn results_to(outs: &[Output], to: ConnId) -> Vec<Entry> {
        sends(outs)
            .into_iter()
            .filter_map(|(c, m)| match m {
                Message::Results { entries, .. } if c == to => Some(entries),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// `d` hears `entry` announced by neighbour `from`, in an announcement of id `id`, passed on nowhere.
    fn hear(d: &mut Discovery, from: u64, id: u64, entry: &Entry) {
        let ann = wire::encode(&Message::Announce { id, hops: 0, entries: vec![entry.clone()] });
        d.handle_input(T0, Input::Received { conn: ConnId(from), bytes: &ann });
        drain(d);
    }

    /// What `d` answers neighbour `from` for a query of `text` with id `id`.
    fn answer(d: &mut Discovery, from: u64, id: u64, text: &str) -> Vec<Entry> {
        let q = wire::encode(&Message::Query { id, hops: 0, text: text.into() });
        d.handle_input(T0, Input::Received { conn: ConnId(from), bytes: &q });
        results_to(&drain(d), ConnId(from))
    }

    #[test]
    fn a_query_for_a_file_inside_a_heard_folder_finds_the_folder() {
        let mut d = with_neighbours_reading_words(&[1, 2]);
        let holiday = folder(9, "Holiday", "2024/beach/sunset.jpg");
        hear(&mut d, 2, 1, &holiday);
        // Answered with the folder, its words along so the searcher can check the match.
        assert_eq!(answer(&mut d, 1, 77, "sunset"), [holiday]);
    }

    #[test]
    fn a_search_for_a_file_inside_an_own_folder_finds_it_here_and_for_a_neighbour() {
        let mut d = with_neighbours_reading_words(&[1]);
        d.share(T0, folder(9, "Holiday", "2024/beach/sunset.jpg")).expect("share");
        drain(&mut d);
        d.search(T0, "beach").expect("search");
        let found: Vec<_> = drain(&mut d)
            .into_iter()
            .filter_map(|o| match o {
                Output::Event(Event::Result { entry, score, .. }) => Some((entry.name, score)),
                _ => None,
            })
            .collect();
        assert_eq!(found, [("Holiday".to_string(), 0)]);
        let names: Vec<_> = answer(&mut d, 1, 77, "2024 sunset").into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["Holiday"]);
        // A word in none of its names finds nothing.
        assert!(answer(&mut d, 1, 78, "sunrise").is_empty());
    }

    #[test]
    fn a_match_on_the_name_ranks_above_a_match_only_on_inner_words() {
        let q = words("beach sunset");
        let by_name = entry(1, "sunset-beach.jpg");
        let weak_name = entry(2, "sunsets-beaches.jpg");
        let half = folder(3, "Beach", "2024/sunset.jpg");
        let inner = folder(4, "Holiday", "beach/sunset.jpg");
        let scores: Vec<_> = [&by_name, &weak_name, &half, &inner].map(|e| score_entry(&q, e)).to_vec();
        // Name matches keep their scores (3 per whole word, 2 per prefix); a match needing inner words scores the
        // number of words the name matches, under the number of words.
        assert_eq!(scores, [Some(6), Some(4), Some(1), Some(0)]);
        assert_eq!(score_entry(&q, &folder(5, "Holiday", "beach/noon.jpg")), None);
        // The answer to a query lists them in that order.
        let mut d = with_neighbours_reading_words(&[1]);
        for e in [&inner, &half, &weak_name, &by_name] {
            d.share(T0, e.clone()).expect("share");
        }
        drain(&mut d);
        let order: Vec<u8> = answer(&mut d, 1, 77, "beach sunset").iter().map(|e| e.content.0[0]).collect();
        assert_eq!(order, [1, 2, 3, 4]);
    }

    #[test]
    fn a_neighbour_that_said_no_hello_gets_the_first_forms_only() {
        let mut d = Discovery::new(Config::default(), 1);
        d.share(T0, folder(9, "Holiday", "beach/sunset.jpg")).expect("share");
        d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(1) });
        let first = drain(&mut d);
        assert!(first.iter().all(|o| match o {
            Output::Send { bytes, .. } => [wire::TAG_HELLO, wire::TAG_ANNOUNCE].contains(&bytes[0]),
            _ => true,
        }));
        // A query it sends: only name matches come back, in the first form (it could not check the others).
        let q = wire::encode(&Message::Query { id: 77, hops: 0, text: "sunset".into() });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &q });
        assert!(sends(&drain(&mut d)).is_empty());
        let q = wire::encode(&Message::Query { id: 78, hops: 0, text: "holiday".into() });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &q });
        let outs = drain(&mut d);
        assert!(matches!(&outs[..], [Output::Send { bytes, .. }] if bytes[0] == wire::TAG_RESULTS));
        // Its Hello brings the folder again, with its words.
        let hello = wire::encode(&Message::Hello { revision: wire::REVISION });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &hello });
        let sent = sends(&drain(&mut d));
        assert!(
            matches!(&sent[..], [(ConnId(1), Message::Announce { entries, .. })] if entries[0].words.as_str() == "beach jpg sunset"),
            "{sent:?}"
        );
    }

    #[test]
    fn many_folders_are_announced_and_answered_in_as_many_messages_as_fit() {
        // 32 folders whose entries are each near the largest (a long name, 512 bytes of words).
        let words: Vec<String> = (0..102).map(|i| format!("w{i:03}")).collect();
        let mut d = with_neighbours_reading_words(&[1]);
        for n in 0..32u8 {
            let name = format!("{}{n:02}", "n".repeat(200));
            let paths: Vec<String> = words.iter().map(|w| format!("{w}/x")).collect();
            let e = Entry { words: Words::of_tree(&name, paths.iter().map(String::as_str)), ..entry(n, &name) };
            assert!(e.words.as_str().len() > 500);
            d.share(T0, e).expect("share");
        }
        drain(&mut d);
        d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(2) });
        let hello = wire::encode(&Message::Hello { revision: wire::REVISION });
        d.handle_input(T0, Input::Received { conn: ConnId(2), bytes: &hello });
        let q = wire::encode(&Message::Query { id: 77, hops: 0, text: "w050".into() });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &q });
        let outs = drain(&mut d);
        assert!(outs.iter().all(|o| !matches!(o, Output::Send { bytes, .. } if bytes.len() > wire::MAX_MESSAGE_LEN)));
        let announced: usize = sends(&outs)
            .iter()
            .map(|(c, m)| match m {
                Message::Announce { entries, .. } if *c == ConnId(2) => entries.len(),
                _ => 0,
            })
            .sum();
        // Once before its Hello (the first form, one message), once after it (the words form, two messages).
        assert_eq!(announced, 64);
        assert_eq!(results_to(&outs, ConnId(1)).len(), wire::MAX_RESULT_ENTRIES);
    }

    #[test]
    fn an_announcers_words_form_gives_a_heard_entry_its_words() {
        let mut d = with_neighbours_reading_words(&[1, 2]);
        let holiday = folder(9, "Holiday", "beach/sunset.jpg");
        hear(&mut d, 2, 1, &Entry { words: Words::none(), ..holiday.clone() });
        assert!(answer(&mut d, 1, 76, "sunset").is_empty());
        hear(&mut d, 2, 2, &holiday);
        assert_eq!(answer(&mut d, 1, 77, "sunset"), [holiday]);
    }

    #[test]
    fn fold_case_is_unicode_lowercase_on_the_scripts_it_covers_and_identity_elsewhere() {
        let covered = (0..=0x17f).chain(0x386..=0x3ab).chain(0x400..=0x42f).filter(|&u| u != 0x130);
        for c in covered.filter_map(char::from_u32) {
            let lower: Vec<char> = c.to_lowercase().collect();
            assert_eq!(vec![fold_case(c)], lower, "{c:?}");
        }
        for c in ['İ', 'ẞ', 'Ա', '日', '1', 'ß'] {
            assert_eq!(fold_case(c), c);
        }
    }

    #[test]
    fn network_names_are_lowercase_letters_digits_dash_and_underscore() {
        assert_eq!(NetworkName::parse("my-net_2").map(|n| n.swarm()), Ok("net:my-net_2".to_string()));
        assert_eq!(NetworkName::default().as_str(), "default");
        for bad in ["", "Caps", "a b", "a:b", "ü", &"x".repeat(MAX_NETWORK_NAME_LEN + 1)] {
            assert_eq!(NetworkName::parse(bad), Err(NetworkNameError), "{bad:?}");
        }
        assert!(NetworkName::parse(&"x".repeat(MAX_NETWORK_NAME_LEN)).is_ok());
    }

    #[test]
    fn heard_entries_expire() {
        let config = Config::default();
        let ttl = config.heard_ttl;
        let mut d = Discovery::new(config, 1);
        d.handle_input(T0, Input::NeighbourConnected { conn: ConnId(1) });
        let ann = wire::encode(&Message::Announce { id: 1, hops: 0, entries: vec![entry(9, "a.mp4")] });
        d.handle_input(T0, Input::Received { conn: ConnId(1), bytes: &ann });
        assert_eq!(d.heard_len(), 1);
        d.handle_timeout(T0 + ttl);
        assert_eq!(d.heard_len(), 0);
    }
}
