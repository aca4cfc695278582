//! PROTOCOL.md 2.10 in a swarm: peers whose stacks take different message sizes (256 KiB, 64 KiB, the floor) trade
//! pieces with one another, and no message is ever longer than its connection carries; a peer under the floor is
//! refused by everyone and the others finish without it.
use swarm::sim::{Sim, SimConfig};
use swarm::wire::{MAX_MESSAGE_LEN, MIN_MESSAGE_LEN};

const FULL: u32 = MAX_MESSAGE_LEN as u32;
const FLOOR: u32 = MIN_MESSAGE_LEN as u32;

#[test]
fn peers_of_every_message_size_over_the_floor_all_finish_and_nothing_is_oversized() {
    let r = Sim::new(SimConfig {
        leechers: 5,
        file_size: 6 * 1024 * 1024 + 3,
        max_message: vec![65_536, FULL, 65_536, FLOOR, 100_000, FULL],
        ..SimConfig::default()
    })
    .run();
    assert!(r.all_complete.is_some(), "not every leecher finished: {:?}", r.completion);
    assert_eq!(r.oversized_messages, 0, "a message was longer than its connection carries");
    assert_eq!(r.refusals, 0);
    assert_eq!(r.corrupt_writes, 0);
    assert!(r.uploaded.iter().filter(|&&u| u > 0).count() >= 2, "leechers did not trade: {:?}", r.uploaded);
}

#[test]
fn a_liar_on_a_64_kib_connection_is_banned_though_its_blocks_come_in_parts() {
    let r = Sim::new(SimConfig {
        leechers: 4,
        liars: 1,
        file_size: 4 * 1024 * 1024,
        max_message: vec![FULL, 65_536, FULL, FLOOR],
        ..SimConfig::default()
    })
    .run();
    assert!(r.all_complete.is_some(), "{:?}", r.completion);
    assert_eq!(r.corrupt_writes, 0, "a corrupt part was written");
    assert!(r.bans.iter().any(|&(_, liar)| liar == 1), "the liar was not banned: {:?}", r.bans);
    assert_eq!(r.oversized_messages, 0);
}

#[test]
fn a_peer_under_the_floor_is_refused_and_the_others_finish() {
    let r = Sim::new(SimConfig {
        leechers: 3,
        file_size: 2 * 1024 * 1024,
        max_message: vec![FULL, FULL, FLOOR - 1, FULL],
        time_limit: std::time::Duration::from_secs(120),
        ..SimConfig::default()
    })
    .run();
    assert_eq!(r.completion[1], None, "the peer under the floor downloaded");
    assert!(r.completion[0].is_some() && r.completion[2].is_some(), "{:?}", r.completion);
    assert!(r.refusals >= 2, "refused by fewer than both ends: {}", r.refusals);
    assert_eq!(r.oversized_messages, 0);
}
