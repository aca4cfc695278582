//! Selective download of a tree (`Input::Select`, PROTOCOL.md 1.8): a joiner that selects some files between
//! `ManifestKnown` and `StorageReady` asks for no piece outside them, completes when they are here, and can widen
//! its selection afterwards.
#![allow(clippy::unwrap_used)]

mod common;

use common::PROOF;
use swarm::bitfield::Bitfield;
use swarm::manifest::{MIN_PIECE_SIZE, Manifest, TreeBuilder};
use swarm::time::Instant;
use swarm::wire::{self, Message};
use swarm::{Config, ConnId, Event, Input, Output, Swarm};

const CONN: ConnId = ConnId(1);

/// A tree of five files over 16 KiB pieces, with its piece stream: small files sharing pieces, a large one, an
/// empty one.
fn tree() -> (Manifest, Vec<u8>) {
    tree_with(200_000)
}

/// [`tree`] with a large file of `big` bytes.
fn tree_with(big: u32) -> (Manifest, Vec<u8>) {
    let files: Vec<(Vec<String>, Vec<u8>)> = vec![
        (vec!["a.txt".into()], vec![1; 10_000]),
        (vec!["b".into(), "big.bin".into()], (0..big).map(|i| (i % 251) as u8).collect()),
        (vec!["b".into(), "c.txt".into()], vec![3; 30_000]),
        (vec!["d".into()], vec![4; 5]),
        (vec!["empty".into()], Vec::new()),
    ];
    let listed = files.iter().map(|(p, d)| (p.clone(), d.len() as u64)).collect();
    let mut b = TreeBuilder::with_piece_size("share", listed, MIN_PIECE_SIZE).unwrap();
    let mut stream = Vec::new();
    for &i in b.given_order() {
        stream.extend_from_slice(&files[i].1);
    }
    b.update(&stream);
    (b.finish().unwrap(), stream)
}

/// Two swarms on one connection: the seeder serves reads from `stream`, the joiner's writes succeed.
struct Pair {
    seeder: Swarm,
    joiner: Swarm,
    stream: Vec<u8>,
    now: Instant,
    /// Pieces the joiner asked the seeder for.
    asked: Vec<u32>,
    /// Events the joiner said.
    events: Vec<Event>,
}

impl Pair {
    fn new() -> (Pair, Manifest) {
        Pair::of(tree())
    }

    fn of((manifest, stream): (Manifest, Vec<u8>)) -> (Pair, Manifest) {
        let content = manifest.content_id();
        let now = Instant::ZERO;
        let seeder = Swarm::share(manifest.clone(), Config::default(), 1, now);
        let config = Config { await_storage: true, ..Config::default() };
        let joiner = Swarm::join(content, config, 2, now);
        let mut pair = Pair { seeder, joiner, stream, now, asked: Vec::new(), events: Vec::new() };
        for s in [&mut pair.seeder, &mut pair.joiner] {
            s.handle_input(
                now,
                Input::PeerConnected { conn: CONN, max_message: wire::MAX_MESSAGE_LEN as u32, proof: PROOF },
            );
        }
        (pair, manifest)
    }

    /// Moves messages both ways until nothing moves.
    fn run(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(output) = self.seeder.poll_output() {
                match output {
                    Output::Send { bytes, .. } => {
                        self.joiner.handle_input(self.now, Input::Received { conn: CONN, bytes: &bytes });
                        moved = true;
                    }
                    Output::Read { op, offset, len, headroom } => {
                        let mut data = vec![0; headroom];
                        data.extend_from_slice(&self.stream[offset as usize..offset as usize + len as usize]);
                        self.seeder.handle_input(self.now, Input::ReadDone { op, result: Ok(data) });
                        moved = true;
                    }
                    _ => {}
                }
            }
            while let Some(output) = self.joiner.poll_output() {
                match output {
                    Output::Send { bytes, .. } => {
                        if let Ok(Message::Request { piece, .. }) = wire::decode(&bytes) {
                            self.asked.push(piece);
                        }
                        self.seeder.handle_input(self.now, Input::Received { conn: CONN, bytes: &bytes });
                        moved = true;
                    }
                    Output::Write { op, .. } => {
                        self.joiner.handle_input(self.now, Input::WriteDone { op, result: Ok(()) });
                        moved = true;
                    }
                    Output::Event(event) => self.events.push(event),
                    _ => {}
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the exchange did not settle");
    }

    fn completions(&self) -> usize {
        self.events.iter().filter(|e| matches!(e, Event::Complete)).count()
    }
}

/// The pieces of `files` (indices into the manifest's files).
fn pieces_of(manifest: &Manifest, files: &[usize]) -> Bitfield {
    manifest.pieces_of_files(files.iter().copied())
}

#[test]
fn a_selection_made_before_storage_is_ready_fetches_no_other_piece() {
    let (mut pair, manifest) = Pair::new();
    pair.run();
    assert!(pair.events.iter().any(|e| matches!(e, Event::ManifestKnown(_))));
    assert!(pair.asked.is_empty(), "nothing is asked before storage is ready");
    // "b/c.txt" only: its pieces, shared at their edges with "b/big.bin" and "d".
    let c = manifest.files().iter().position(|f| f.path() == "b/c.txt").unwrap();
    let wanted = pieces_of(&manifest, &[c]);
    pair.joiner.handle_input(pair.now, Input::Select(Some(wanted.clone())));
    pair.joiner.handle_input(pair.now, Input::StorageReady);
    pair.run();
    assert!(!pair.asked.is_empty());
    for piece in &pair.asked {
        assert!(wanted.get(*piece), "piece {piece} is outside the selection {:?}", manifest.pieces_of_file(c));
    }
    assert_eq!(pair.completions(), 1, "complete once the selection is here");
    assert!(pair.joiner.is_complete());
    let have = pair.joiner.have().unwrap();
    assert_eq!(have.count(), wanted.count());
    assert!(!have.is_full(), "and nothing more");

    // Widening the selection fetches the rest and says complete again, once.
    pair.asked.clear();
    pair.joiner.handle_input(pair.now, Input::Select(None));
    pair.run();
    assert!(pair.asked.iter().all(|p| !wanted.get(*p)), "no verified piece is asked again");
    assert_eq!(pair.completions(), 2);
    assert!(pair.joiner.have().unwrap().is_full());
}

#[test]
fn selecting_only_empty_files_completes_without_fetching() {
    let (mut pair, manifest) = Pair::new();
    pair.run();
    let empty = manifest.files().iter().position(|f| f.size() == 0).unwrap();
    pair.joiner.handle_input(pair.now, Input::Select(Some(pieces_of(&manifest, &[empty]))));
    pair.joiner.handle_input(pair.now, Input::StorageReady);
    pair.run();
    assert!(pair.asked.is_empty());
    assert_eq!(pair.completions(), 1);
}

#[test]
fn a_selection_of_the_wrong_length_means_everything() {
    let (mut pair, manifest) = Pair::new();
    pair.run();
    pair.joiner.handle_input(pair.now, Input::Select(Some(Bitfield::new(manifest.piece_count() + 1))));
    pair.joiner.handle_input(pair.now, Input::StorageReady);
    pair.run();
    assert!(pair.joiner.have().unwrap().is_full());
    assert_eq!(pair.completions(), 1);
}

/// A link whose manifest matches its id but breaks a path rule: the download stops with the decoder's reason,
/// before anything is written, and the peer that served it is not banned (any peer would serve those bytes).
#[test]
fn a_manifest_that_matches_its_id_but_breaks_a_path_rule_stops_the_download_with_the_reason() {
    use sha2::{Digest, Sha256};
    use swarm::manifest::{ManifestError, TREE_VERSION};
    use swarm::{Failure, id::ContentId};
    // A tree whose one file is "../escape": laid out by hand, as a hostile sharer would.
    let path = b"../escape";
    let mut bad = vec![TREE_VERSION, 1, b's'];
    bad.extend_from_slice(&MIN_PIECE_SIZE.to_be_bytes());
    bad.extend_from_slice(&1u32.to_be_bytes());
    bad.extend_from_slice(&(path.len() as u16).to_be_bytes());
    bad.extend_from_slice(path);
    bad.push(0);
    bad.extend_from_slice(&0u64.to_be_bytes());
    bad.extend_from_slice(&0u32.to_be_bytes());
    let content = ContentId(Sha256::digest(&bad).into());
    let config = Config { await_storage: true, ..Config::default() };
    let mut joiner = Swarm::join(content, config, 3, Instant::ZERO);
    common::ready(&mut joiner, CONN);
    let data = wire::encode(&Message::ManifestData { total_len: bad.len() as u32, offset: 0, data: &bad });
    joiner.handle_input(Instant::ZERO, Input::Received { conn: CONN, bytes: &data });
    let outputs = common::drain(&mut joiner);
    let failed: Vec<&Failure> =
        outputs.iter().filter_map(|o| if let Output::Event(Event::Failed(f)) = o { Some(f) } else { None }).collect();
    assert_eq!(failed, [&Failure::BadManifest(ManifestError::BadPath(0))]);
    assert!(!outputs.iter().any(|o| matches!(o, Output::Event(Event::ManifestKnown(_)) | Output::Write { .. })));
    assert!(!outputs.iter().any(|o| matches!(o, Output::Event(Event::PeerBanned { .. }))));
    assert_eq!(
        Failure::BadManifest(ManifestError::BadPath(0)).to_string(),
        "the link names an invalid share: the path of file 0 is not a valid relative path"
    );
}

#[test]
fn a_seeder_that_shows_pieces_a_few_at_a_time_shows_a_selective_downloader_what_it_wants() {
    // 3 MB over 16 KiB pieces: far more pieces than a seeder shows a downloader at once (PROTOCOL.md 2.9), so
    // without `Want` the pieces shown first are not the ones chosen, and the downloader, never fetching them,
    // would never be shown more.
    let (mut pair, manifest) = Pair::of(tree_with(3_000_000));
    pair.run();
    let c = manifest.files().iter().position(|f| f.path() == "b/c.txt").unwrap();
    let wanted = pieces_of(&manifest, &[c]);
    pair.joiner.handle_input(pair.now, Input::Select(Some(wanted.clone())));
    pair.joiner.handle_input(pair.now, Input::StorageReady);
    pair.run();
    assert_eq!(pair.completions(), 1, "the chosen file arrived");
    assert!(pair.asked.iter().all(|p| wanted.get(*p)), "and nothing else was asked");
    // Choosing everything afterwards: the seeder is told, shows the rest, and all of it arrives.
    pair.joiner.handle_input(pair.now, Input::Select(None));
    pair.run();
    assert!(pair.joiner.have().unwrap().is_full());
}

#[test]
fn a_want_of_the_wrong_length_is_a_violation() {
    let (mut pair, manifest) = Pair::new();
    pair.run();
    let bits = vec![0xff; manifest.piece_count().div_ceil(8) as usize + 1];
    pair.seeder
        .handle_input(pair.now, Input::Received { conn: CONN, bytes: &wire::encode(&Message::Want { bits: &bits }) });
    let said: Vec<_> = std::iter::from_fn(|| pair.seeder.poll_output()).collect();
    assert!(said.iter().any(|o| matches!(o, Output::Event(Event::PeerBanned { .. }))), "{said:?}");
}
