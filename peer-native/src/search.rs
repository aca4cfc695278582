//! The `search` command's policy: how long to listen, when to stop, what to keep of the results.
//!
//! The search itself is the node's (`Node::search`: the query goes to every discovery neighbour as it is reached,
//! results come back as `Event::SearchResult`). This decides when a command-line search is over: `wait` after the
//! first neighbour is reached, at the first result with `first`, or after [`NO_NEIGHBOUR_TIMEOUT`] without any
//! neighbour.

use std::collections::HashMap;
use std::time::Duration;

use swarm::discovery::{Entry, SearchId};
use swarm::id::ContentId;
use swarm::time::Instant;

/// A search that reached no member of the network gives up after this long.
pub const NO_NEIGHBOUR_TIMEOUT: Duration = Duration::from_secs(30);

/// One search of the discovery network.
#[derive(Debug, Clone)]
pub struct SearchSpec {
    /// What the user typed; only its words count (letters and digits, case-insensitive).
    pub text: String,
    /// How long to listen for results once the first neighbour is reached.
    pub wait: Duration,
    /// Stop at the first result.
    pub first: bool,
}

/// One file a search found.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// What the answers said: content id, size, name (sanitized for display), media type.
    pub entry: Entry,
    /// How well the name matches the words (higher is better).
    pub score: u32,
    /// How many answers named this file.
    pub sources: u32,
    /// The browser link to fetch it (`http://host:port/#<content id>`), on this node's signaling server.
    pub link: String,
}

/// What a search found when it ended, best first.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    pub hits: Vec<SearchHit>,
    /// Whether any member of the network was reached.
    pub reached: bool,
}

/// Called with every file the first time an answer names it.
pub type OnHit = Box<dyn FnMut(&SearchHit) + Send>;

/// The search a node runs for `swarm-peer search`.
pub(crate) struct Searching {
    spec: SearchSpec,
    id: SearchId,
    /// The signaling server, for the links of the hits.
    signaling_url: String,
    /// When it ends: [`NO_NEIGHBOUR_TIMEOUT`] after the start, until the first neighbour moves it to `wait` after
    /// that.
    deadline: Instant,
    reached: bool,
    done: bool,
    hits: HashMap<ContentId, SearchHit>,
    on_hit: OnHit,
}

impl std::fmt::Debug for Searching {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Searching").field("id", &self.id).field("hits", &self.hits.len()).finish_non_exhaustive()
    }
}

impl Searching {
    /// A search the node started at `now` as `id`.
    pub fn new(spec: SearchSpec, id: SearchId, now: Instant, signaling_url: String, on_hit: OnHit) -> Searching {
        let deadline = now + NO_NEIGHBOUR_TIMEOUT;
        Searching { spec, id, signaling_url, deadline, reached: false, done: false, hits: HashMap::new(), on_hit }
    }

    /// The node's neighbour count changed: the query is out with the first one (the node sends active searches to
    /// each new neighbour), so from then on the search listens for `wait`.
    pub fn on_neighbours(&mut self, now: Instant, count: usize) {
        if count > 0 && !self.reached {
            self.reached = true;
            self.deadline = now + self.spec.wait;
        }
    }

    /// A result of some search of this node.
    pub fn on_result(&mut self, search: SearchId, entry: Entry, score: u32, sources: u32) {
        if search != self.id || self.done {
            return;
        }
        if let Some(hit) = self.hits.get_mut(&entry.content) {
            hit.score = score;
            hit.sources = sources;
            return;
        }
        let link = crate::link::browser_link(&self.signaling_url, entry.content);
        let hit = SearchHit { entry, score, sources, link };
        (self.on_hit)(&hit);
        self.hits.insert(hit.entry.content, hit);
        if self.spec.first {
            self.done = true;
        }
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    pub fn on_timeout(&mut self, now: Instant) {
        if self.deadline <= now {
            self.done = true;
        }
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// What was found, best first: score, then answers, then name.
    pub fn outcome(self) -> SearchOutcome {
        let mut hits: Vec<SearchHit> = self.hits.into_values().collect();
        hits.sort_by(|a, b| {
            b.score.cmp(&a.score).then(b.sources.cmp(&a.sources)).then_with(|| a.entry.name.cmp(&b.entry.name))
        });
        SearchOutcome { hits, reached: self.reached }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(byte: u8, name: &str) -> Entry {
        Entry {
            content: ContentId([byte; 32]),
            size: 1,
            name: name.to_owned(),
            media_type: String::new(),
            words: swarm::discovery::Words::none(),
        }
    }

    fn searching(wait: Duration, first: bool) -> (Searching, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let spec = SearchSpec { text: "x".to_owned(), wait, first };
        let on_hit: OnHit = Box::new(move |hit| log.lock().unwrap().push(hit.entry.name.clone()));
        let s = Searching::new(spec, SearchId(7), Instant::ZERO, "ws://h:1/ws".to_owned(), on_hit);
        (s, seen)
    }

    #[test]
    fn listens_for_wait_from_the_first_neighbour_and_gives_up_without_one() {
        let (mut s, _) = searching(Duration::from_secs(5), false);
        assert_eq!(s.deadline(), Instant::ZERO + NO_NEIGHBOUR_TIMEOUT);
        s.on_neighbours(Instant::from_millis(1_000), 0);
        assert!(!s.outcome_reached());
        s.on_neighbours(Instant::from_millis(2_000), 1);
        s.on_neighbours(Instant::from_millis(3_000), 2);
        assert_eq!(s.deadline(), Instant::from_millis(7_000));
        s.on_timeout(Instant::from_millis(6_999));
        assert!(!s.is_done());
        s.on_timeout(Instant::from_millis(7_000));
        assert!(s.is_done());
    }

    #[test]
    fn each_file_is_reported_once_and_ranked_at_the_end() {
        let (mut s, seen) = searching(Duration::from_secs(5), false);
        s.on_result(SearchId(7), entry(1, "b"), 1, 1);
        s.on_result(SearchId(7), entry(2, "a"), 1, 1);
        s.on_result(SearchId(8), entry(3, "other search"), 9, 9);
        s.on_result(SearchId(7), entry(1, "b"), 1, 3);
        assert_eq!(*seen.lock().unwrap(), ["b", "a"]);
        let names: Vec<String> = s.outcome().hits.into_iter().map(|h| h.entry.name).collect();
        assert_eq!(names, ["b", "a"], "more answers first at the same score");
    }

    #[test]
    fn first_stops_at_the_first_result() {
        let (mut s, _) = searching(Duration::from_secs(5), true);
        s.on_result(SearchId(7), entry(1, "b"), 1, 1);
        assert!(s.is_done());
        s.on_result(SearchId(7), entry(2, "a"), 1, 1);
        assert_eq!(s.outcome().hits.len(), 1);
    }

    impl Searching {
        fn outcome_reached(&self) -> bool {
            self.reached
        }
    }
}
