//! PROTOCOL.md 1.1: a file of no bytes has no pieces and is complete as soon as its manifest is known. A
//! downloader that fetched such a manifest says `Complete` once, right after `ManifestKnown` (with
//! `Config::await_storage`: once its storage is ready), and asks for nothing.
mod common;

use common::{drain, manifest};
use swarm::time::Instant;
use swarm::wire::{self, Message};
use swarm::{Config, ConnId, Event, Input, Output, Swarm};

const CONN: ConnId = ConnId(1);

/// Runs a sharer of the empty file and a downloader with `config` until quiet; the downloader's events.
fn fetch_empty(config: Config, mut on_manifest: impl FnMut(&mut Swarm)) -> (Vec<Event>, usize) {
    let m = manifest(&[], 128 * 1024);
    assert_eq!(m.piece_count(), 0);
    let mut seeder = Swarm::share(m.clone(), Config::default(), 1, Instant::ZERO);
    let mut leecher = Swarm::join(m.content_id(), config, 2, Instant::ZERO);
    common::connect(&mut seeder, CONN);
    common::connect(&mut leecher, CONN);
    let (mut events, mut requests) = (Vec::new(), 0);
    loop {
        let from_seeder = drain(&mut seeder);
        let from_leecher = drain(&mut leecher);
        if from_seeder.is_empty() && from_leecher.is_empty() {
            return (events, requests);
        }
        for out in from_seeder {
            if let Output::Send { bytes, .. } = out {
                leecher.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &bytes });
            }
        }
        for out in from_leecher {
            match out {
                Output::Send { bytes, .. } => {
                    requests += usize::from(matches!(wire::decode(&bytes), Ok(Message::Request { .. })));
                    seeder.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &bytes });
                }
                Output::Event(e) => {
                    let known = matches!(e, Event::ManifestKnown(_));
                    events.push(e);
                    if known {
                        on_manifest(&mut leecher);
                    }
                }
                _ => {}
            }
        }
    }
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ManifestKnown(_) => Some("manifest"),
            Event::Complete => Some("complete"),
            Event::Failed(_) => Some("failed"),
            _ => None,
        })
        .collect()
}

#[test]
fn an_empty_file_is_complete_once_its_manifest_is_known() {
    let (events, requests) = fetch_empty(Config::default(), |_| {});
    assert_eq!(kinds(&events), ["manifest", "complete"]);
    assert_eq!(requests, 0);
}

#[test]
fn with_await_storage_an_empty_file_is_complete_once_its_storage_is_ready() {
    let config = Config { await_storage: true, ..Config::default() };
    let (events, _) = fetch_empty(config.clone(), |_| {});
    assert_eq!(kinds(&events), ["manifest"], "complete before the storage was ready");
    let (events, _) = fetch_empty(config, |s| {
        s.handle_input(Instant::ZERO, Input::StorageReady);
        s.handle_input(Instant::ZERO, Input::StorageReady);
    });
    assert_eq!(kinds(&events), ["manifest", "complete"]);
}
