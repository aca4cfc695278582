//! One peer's discovery state machine among hostile neighbours (docs/PROTOCOL.md 4.3): what one neighbour sends
//! can only cost that neighbour. Driven message by message through the public inputs, on the fake clock.

use std::time::Duration;

use swarm::ConnId;
use swarm::discovery::wire::{self, Entry, Message};
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
    Entry { content: ContentId(content), size: 10, name: name.into(), media_type: "video/mp4".into() }
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
