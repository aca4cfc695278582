//! One peer's discovery state machine among hostile neighbours (docs/PROTOCOL.md 4.3): what one neighbour sends
//! can only cost that neighbour. Driven message by message through the public inputs, on the fake clock.

use std::time::Duration;

use swarm::ConnId;
use swarm::discovery::wire::{self, Entry, Message, Words};
use swarm::discovery::{Config, Discovery, Event, Input, Output};
use swarm::id::ContentId;
use swarm::time::Instant;

const T0: Instant = Instant::ZERO;
const HONEST: ConnId = ConnId(1);
const FLOODER: ConnId = ConnId(2);
const ASKER: ConnId = ConnId(3);

fn entry(id: u32, name: &str) -> Entry {
    let mut content = [0u8; 32];
    content[..4].copy_from_slice(&id.to_be_bytes());
    Entry {
        content: ContentId(content),
        size: 10,
        name: name.into(),
        media_type: "video/mp4".into(),
        words: Words::none(),
    }
}

fn peer(config: Config, neighbours: &[ConnId]) -> Discovery {
    let mut d = Discovery::new(config, 1);
    for &conn in neighbours {
        d.handle_input(T0, Input::NeighbourConnected { conn });
    }
    drain(&mut d);
    d
}

fn drain(d: &mut Discovery) -> Vec<Output> {
    std::iter::from_fn(|| d.poll_output()).collect()
}

fn receive(d: &mut Discovery, now: Instant, conn: ConnId, msg: &Message) {
    d.handle_input(now, Input::Received { conn, bytes: &wire::encode(msg) });
}

/// The names of the results events among `outs`, in order.
fn result_names(outs: &[Output]) -> Vec<String> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Event(Event::Result { entry, .. }) => Some(entry.name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn announcements_flooded_by_one_neighbour_do_not_evict_entries_heard_from_others() {
    let config = Config::default();
    let (max_heard, rate) = (config.max_heard, config.rate_per_sec);
    let mut d = peer(config, &[HONEST, FLOODER]);
    let honest: Vec<Entry> = (0..10).map(|i| entry(i, &format!("honest-{i}.mp4"))).collect();
    receive(&mut d, T0, HONEST, &Message::Announce { id: 1, hops: 0, entries: honest });
    // Twice the cache's worth of fresh entries, paced at half the flooder's receive rate so none is dropped unread,
    // each heard later than the honest entries (which would therefore expire first).
    let per_message = wire::MAX_ANNOUNCE_ENTRIES;
    let messages = 2 * max_heard / per_message;
    let gap = Duration::from_millis(2 * 1000 / u64::from(rate));
    let mut now = T0;
    for m in 0..messages {
        now = now + gap;
        let entries = (0..per_message).map(|i| entry((1000 + m * per_message + i) as u32, "junk.mp4")).collect();
        receive(&mut d, now, FLOODER, &Message::Announce { id: 100 + m as u64, hops: 0, entries });
    }
    assert_eq!(d.stats().rate_limited, 0, "the flood was paced within the receive rate");
    assert_eq!(d.heard_len(), max_heard);
    drain(&mut d);
    d.search(now, "honest").expect("a word");
    assert_eq!(result_names(&drain(&mut d)).len(), 10, "every honest entry is still known");
}

#[test]
fn a_second_neighbour_renaming_a_known_content_does_not_change_its_name_in_search_results() {
    let mut d = peer(Config::default(), &[HONEST, FLOODER, ASKER]);
    let later = T0 + Duration::from_secs(1);
    receive(&mut d, T0, HONEST, &Message::Announce { id: 1, hops: 0, entries: vec![entry(7, "holiday.mp4")] });
    // A search listening before the rename is not told of the new name either.
    d.search(T0, "virus").expect("a word");
    let renamed = entry(7, "holiday virus.exe");
    receive(&mut d, later, FLOODER, &Message::Announce { id: 2, hops: 0, entries: vec![renamed.clone()] });
    assert_eq!(result_names(&drain(&mut d)), Vec::<String>::new());

    // This peer's own search, answered from what it heard.
    d.search(later, "holiday").expect("a word");
    assert_eq!(result_names(&drain(&mut d)), ["holiday.mp4"]);

    // A neighbour's query, answered from what this peer heard.
    receive(&mut d, later, ASKER, &Message::Query { id: 99, hops: 0, text: "holiday".into() });
    let answers: Vec<String> = drain(&mut d)
        .iter()
        .filter_map(|o| match o {
            Output::Send { conn: ASKER, bytes } => match wire::decode(bytes) {
                Ok(Message::Results { entries, .. }) => Some(entries.into_iter().map(|e| e.name)),
                _ => None,
            },
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(answers, ["holiday.mp4"]);
}

#[test]
fn answers_naming_a_reported_content_differently_add_a_source_but_do_not_rename_it() {
    let mut d = peer(Config::default(), &[HONEST, FLOODER]);
    let search = d.search(T0, "holiday").expect("a word");
    let query = match drain(&mut d).first() {
        Some(Output::Send { bytes, .. }) => match wire::decode(bytes) {
            Ok(Message::Query { id, .. }) => id,
            other => panic!("a query goes out first, not {other:?}"),
        },
        other => panic!("a query goes out first, not {other:?}"),
    };
    receive(&mut d, T0, HONEST, &Message::Results { query, entries: vec![entry(7, "holiday.mp4")] });
    receive(&mut d, T0, FLOODER, &Message::Results { query, entries: vec![entry(7, "holiday virus.exe")] });
    let events: Vec<(String, u32)> = drain(&mut d)
        .into_iter()
        .filter_map(|o| match o {
            Output::Event(Event::Result { search: s, entry, sources, .. }) if s == search => {
                Some((entry.name, sources))
            }
            _ => None,
        })
        .collect();
    assert_eq!(events, [("holiday.mp4".to_string(), 1), ("holiday.mp4".to_string(), 2)]);
}

/// A query matching nothing, asking for the most hops the wire allows.
fn flood_query(id: u64) -> Message {
    Message::Query { id, hops: wire::MAX_HOPS, text: "zzz".into() }
}

/// The ids of the queries `d` sent to `to` among `outs`.
fn queries_to(outs: &[Output], to: ConnId) -> Vec<u64> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send { conn, bytes } if *conn == to => match wire::decode(bytes) {
                Ok(Message::Query { id, .. }) => Some(id),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[test]
fn what_flooding_neighbours_make_this_peer_pass_on_stays_within_the_forwarding_budgets() {
    let config = Config::default();
    let c = config.clone();
    let flooders = [ConnId(10), ConnId(11), ConnId(12)];
    let observer = ConnId(20);
    let mut d = peer(config, &[flooders[0], flooders[1], flooders[2], observer]);
    // Each flooder sends as fast as its receive bucket lets it be read, for `seconds`.
    let seconds = 10;
    let gap = Duration::from_millis(1000 / u64::from(c.rate_per_sec));
    let mut outs = Vec::new();
    let mut now = T0;
    let mut sent = 0u64;
    while now <= T0 + Duration::from_secs(seconds) {
        for (f, &conn) in flooders.iter().enumerate() {
            receive(&mut d, now, conn, &flood_query((f as u64) << 32 | sent));
        }
        sent += 1;
        outs.extend(drain(&mut d));
        now = now + gap;
    }
    assert_eq!(d.stats().rate_limited, 0, "every flooded query was read");
    let to_observer = queries_to(&outs, observer);
    let budget = |burst: u32, rate: u32| u64::from(burst) + seconds * u64::from(rate);
    // What one neighbour floods, this peer passes on within that neighbour's budget...
    for f in 0..flooders.len() as u64 {
        let passed = to_observer.iter().filter(|&&id| id >> 32 == f).count() as u64;
        assert!(passed <= budget(c.forward_from_burst, c.forward_from_rate_per_sec), "{passed} from flooder {f}");
    }
    // ...and what it passes on to one neighbour, within that neighbour's budget, whoever sent it.
    let passed = to_observer.len() as u64;
    assert!(passed <= budget(c.forward_to_burst, c.forward_to_rate_per_sec), "{passed} of {sent} per flooder");
    assert!(passed > 0, "messages within the budgets are still passed on");
}

#[test]
fn an_honest_query_during_a_flood_is_passed_on_and_answered() {
    let config = Config::default();
    let rate = config.rate_per_sec;
    let observer = ConnId(20);
    let mut d = peer(config, &[HONEST, FLOODER, observer]);
    d.share(T0, entry(7, "holiday.mp4")).expect("room to share");
    drain(&mut d);
    let gap = Duration::from_millis(1000 / u64::from(rate));
    let mut now = T0;
    for id in 0..100 {
        receive(&mut d, now, FLOODER, &flood_query(id));
        now = now + gap;
    }
    drain(&mut d);
    receive(&mut d, now, HONEST, &Message::Query { id: 1 << 40, hops: 3, text: "holiday".into() });
    let outs = drain(&mut d);
    assert_eq!(queries_to(&outs, observer), [1 << 40], "the honest query is passed on");
    let answered = outs.iter().any(|o| {
        matches!(o, Output::Send { conn: HONEST, bytes }
            if matches!(wire::decode(bytes), Ok(Message::Results { query, .. }) if query == 1 << 40))
    });
    assert!(answered, "the honest query is answered");
}

#[test]
fn flooding_neighbours_of_a_relay_do_not_stop_honest_searches_passing_through_it() {
    use swarm::discovery::sim::{Network, SimConfig};
    // searcher 0 - relay 1 - 5 - holder 2, and two flooders, 3 and 4, on the relay. Announcements go one hop
    // only, so only peer 5 knows the holder's file: a search must pass through the relay both ways.
    let (searcher, relay, holder, flooders, near_holder) = (0, 1, 2, [3, 4], 5);
    let mut config = SimConfig { peers: 6, files_per_peer: 1, latency_ms: (50, 50), seed: 3, ..SimConfig::default() };
    config.discovery.announce_hops = 0;
    let read_rate = config.discovery.rate_per_sec;
    let links =
        [(searcher, relay), (relay, near_holder), (near_holder, holder), (flooders[0], relay), (flooders[1], relay)];
    let mut net = Network::with_links(&config, &links);
    net.run_until(Instant::ZERO + Duration::from_secs(10));
    // Each flooder sends twice as fast as the relay reads, for the rest of the test.
    let flood_start = net.now();
    let gap = Duration::from_millis(1000 / u64::from(2 * read_rate));
    let searches = 10;
    let flood_len = 2 * read_rate as usize * (5 + 2 * searches);
    for k in 0..flood_len {
        for (f, &from) in flooders.iter().enumerate() {
            let at = flood_start + gap * k as u32;
            net.inject(at, from, relay, wire::encode(&flood_query((f as u64 + 1) << 32 | k as u64)));
        }
    }
    // Let the flooders spend their bursts, then search again and again while they go on.
    net.run_until(flood_start + Duration::from_secs(5));
    let mut found = 0;
    for _ in 0..searches {
        let q = net.search_for(searcher, holder, Duration::from_secs(2));
        assert_eq!(q.distance, 3);
        found += usize::from(q.found_after.is_some());
    }
    assert_eq!(found, searches, "searches through the flooded relay that found the file");
    assert!(net.nodes[relay].stats().not_forwarded > 0, "the flood was held back, not absent");
}

#[test]
fn own_messages_go_out_when_nothing_may_be_passed_on() {
    let config = Config { forward_to_burst: 0, forward_to_rate_per_sec: 0, ..Config::default() };
    let observer = ConnId(20);
    let mut d = peer(config, &[HONEST, observer]);
    d.share(T0, entry(7, "holiday.mp4")).expect("room to share");
    d.search(T0, "own").expect("a word");
    receive(&mut d, T0, HONEST, &Message::Query { id: 1 << 40, hops: 3, text: "holiday".into() });
    let outs = drain(&mut d);
    let to = |conn: ConnId| -> Vec<Message> {
        outs.iter()
            .filter_map(|o| match o {
                Output::Send { conn: c, bytes } if *c == conn => wire::decode(bytes).ok(),
                _ => None,
            })
            .collect()
    };
    let observed = to(observer);
    assert!(observed.iter().any(|m| matches!(m, Message::Announce { .. })), "own announcement: {observed:?}");
    assert!(observed.iter().any(|m| matches!(m, Message::Query { text, .. } if text == "own")), "own search");
    assert!(!observed.iter().any(|m| matches!(m, Message::Query { text, .. } if text == "holiday")), "passed on");
    assert!(to(HONEST).iter().any(|m| matches!(m, Message::Results { query, .. } if *query == 1 << 40)), "answer");
    assert_eq!(d.stats().not_forwarded, 1);
}
