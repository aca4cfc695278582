//! A download that fails stops (PROTOCOL.md 3.6, "A content that fails"): a file over `Config::max_size`, a write
//! storage refuses, or a failure the shell reports all end the same way: `Event::Failed` once, Goodbye and Close to
//! every peer, and no Request after it, so the uploader sees the peer leave and sends nothing more.
mod common;

use common::{SMALL, file, seeder, small_manifest};
use swarm::bitfield::Bitfield;
use swarm::time::Instant;
use swarm::wire::{self, GoodbyeReason, Message};
use swarm::{Config, ConnId, Event, Failure, Input, Output, StorageError, Swarm};

const CONN: ConnId = ConnId(1);

/// What happened between a seeder of the small file and one downloader, run until both are quiet.
/// What kind of message the downloader sent.
#[derive(Debug, PartialEq)]
enum Sent {
    Request,
    GoodbyeLeaving,
    Other,
}

#[derive(Default)]
struct Run {
    /// Every event of the downloader, in order.
    events: Vec<Event>,
    /// Every message the downloader sent, in order, with whether the downloader had failed by then.
    sent: Vec<(Sent, bool)>,
    /// Whether the downloader closed the channel.
    closed: bool,
}

/// Connects `seeder` and `leecher` and moves their messages until neither has anything more to say. The
/// seeder reads from the small file; the leecher's writes get what `write` answers for the n-th write.
fn run(seeder: &mut Swarm, leecher: &mut Swarm, write: impl FnMut(usize) -> Result<(), StorageError>) -> Run {
    run_file(&file(SMALL), seeder, leecher, write)
}

/// [`run`] with a seeder of `data`.
fn run_file(
    data: &[u8],
    seeder: &mut Swarm,
    leecher: &mut Swarm,
    write: impl FnMut(usize) -> Result<(), StorageError>,
) -> Run {
    common::connect(seeder, CONN);
    common::connect(leecher, CONN);
    pump(data, seeder, leecher, write)
}

/// [`run`] on two swarms connected already: moves what they have to say until both are quiet.
fn run_on(seeder: &mut Swarm, leecher: &mut Swarm, write: impl FnMut(usize) -> Result<(), StorageError>) -> Run {
    pump(&file(SMALL), seeder, leecher, write)
}

fn pump(
    data: &[u8],
    seeder: &mut Swarm,
    leecher: &mut Swarm,
    mut write: impl FnMut(usize) -> Result<(), StorageError>,
) -> Run {
    let now = Instant::ZERO;
    let mut out = Run::default();
    let mut open = true;
    let mut writes = 0;
    // Far more rounds than the largest file here takes; a download that never stops runs into it.
    for _ in 0..10_000 {
        let mut quiet = true;
        while let Some(o) = seeder.poll_output() {
            quiet = false;
            match o {
                Output::Send { bytes, .. } if open => {
                    leecher.handle_input(now, Input::Received { conn: CONN, bytes: &bytes })
                }
                Output::Close { .. } if open => {
                    open = false;
                    leecher.handle_input(now, Input::PeerDisconnected { conn: CONN });
                }
                Output::Read { op, offset, len, headroom } => {
                    let mut buf = vec![0; headroom];
                    buf.extend_from_slice(&data[offset as usize..offset as usize + len as usize]);
                    seeder.handle_input(now, Input::ReadDone { op, result: Ok(buf) });
                }
                _ => {}
            }
        }
        while let Some(o) = leecher.poll_output() {
            quiet = false;
            let failed = out.events.iter().any(|e| matches!(e, Event::Failed(_)));
            match o {
                Output::Send { bytes, .. } => {
                    let sent = match wire::decode(&bytes).expect("the leecher sends wire messages") {
                        Message::Request { .. } => Sent::Request,
                        Message::Goodbye { reason: GoodbyeReason::Leaving } => Sent::GoodbyeLeaving,
                        _ => Sent::Other,
                    };
                    out.sent.push((sent, failed));
                    if open {
                        seeder.handle_input(now, Input::Received { conn: CONN, bytes: &bytes });
                    }
                }
                Output::Close { .. } => {
                    out.closed = true;
                    if open {
                        open = false;
                        seeder.handle_input(now, Input::PeerDisconnected { conn: CONN });
                    }
                }
                Output::Write { op, .. } => {
                    writes += 1;
                    leecher.handle_input(now, Input::WriteDone { op, result: write(writes) });
                }
                Output::Event(e) => out.events.push(e),
                _ => {}
            }
        }
        if quiet {
            return out;
        }
    }
    panic!("the two peers never went quiet: {} events, {} messages sent", out.events.len(), out.sent.len());
}

fn failures(run: &Run) -> Vec<&Failure> {
    run.events.iter().filter_map(|e| if let Event::Failed(f) = e { Some(f) } else { None }).collect()
}

fn requests_after_failure(run: &Run) -> usize {
    run.sent.iter().filter(|(m, failed)| *failed && *m == Sent::Request).count()
}

fn said_goodbye(run: &Run) -> bool {
    run.sent.iter().any(|(m, _)| *m == Sent::GoodbyeLeaving)
}

fn downloader(config: Config) -> Swarm {
    Swarm::join(small_manifest().content_id(), config, 2, Instant::ZERO)
}

#[test]
fn a_file_over_max_size_fails_from_its_manifest_before_any_request() {
    let mut seeder = seeder();
    let mut leecher = downloader(Config { max_size: 100_000, ..Config::default() });
    let run = run(&mut seeder, &mut leecher, |_| Ok(()));
    assert_eq!(
        failures(&run),
        vec![&Failure::TooLarge { name: "f.bin".into(), size: SMALL as u64, limit: 100_000 }],
        "failed once, for its size"
    );
    assert!(!run.events.iter().any(|e| matches!(e, Event::ManifestKnown(_))), "no storage is prepared for it");
    assert!(!run.sent.iter().any(|(m, _)| *m == Sent::Request), "no piece was ever requested");
    assert!(said_goodbye(&run) && run.closed, "the seeder was told it left, and the channel closed");
    assert_eq!(seeder.stats().uploaded_bytes, 0, "nothing but the manifest crossed");
    assert_eq!(seeder.connections().count(), 0, "the seeder saw the peer leave");
    assert_eq!(leecher.poll_timeout(), None, "nothing left to do");
}

#[test]
fn a_file_at_max_size_downloads() {
    let mut seeder = seeder();
    let mut leecher = downloader(Config { max_size: SMALL as u64, ..Config::default() });
    let run = run(&mut seeder, &mut leecher, |_| Ok(()));
    assert!(failures(&run).is_empty());
    assert!(leecher.is_complete());
}

#[test]
fn a_write_storage_refuses_stops_the_download_and_its_requests() {
    // 8 MiB in 16 KiB pieces: far more than one pipeline, so most of it is still unrequested at the failure.
    let data = file(8 << 20);
    let manifest = common::manifest(&data, 16 * 1024);
    let mut seeder = Swarm::share(manifest.clone(), Config::default(), 7, Instant::ZERO);
    let mut leecher = Swarm::join(manifest.content_id(), Config::default(), 2, Instant::ZERO);
    // The first piece is stored; the second write finds the disk full.
    let run = run_file(&data, &mut seeder, &mut leecher, |n| if n >= 2 { Err(StorageError::Full) } else { Ok(()) });
    assert_eq!(failures(&run), vec![&Failure::Storage(StorageError::Full)], "failed once");
    assert_eq!(requests_after_failure(&run), 0, "a request was sent after the failure");
    assert!(said_goodbye(&run) && run.closed, "the seeder was told it left, and the channel closed");
    assert_eq!(seeder.connections().count(), 0, "the seeder saw the peer leave");
    assert!(!leecher.is_complete());
    assert_eq!(leecher.have().map(Bitfield::count), Some(1), "what was written stays verified, for a resume");
    assert!(
        seeder.stats().uploaded_bytes < data.len() as u64 / 2,
        "the seeder stopped sending before the whole file: {}",
        seeder.stats().uploaded_bytes
    );
}

#[test]
fn a_failure_the_shell_reports_stops_the_download_the_same_way() {
    // A write refused for another reason than space (another tab holds the file) fails the download as well.
    let mut seeder = seeder();
    let mut leecher = downloader(Config::default());
    let run = run(&mut seeder, &mut leecher, |_| Err(StorageError::Other("open in another tab".into())));
    assert_eq!(failures(&run), vec![&Failure::Storage(StorageError::Other("open in another tab".into()))]);
    assert_eq!(requests_after_failure(&run), 0);

    // The same through `Input::Fail`, on a download that has not failed.
    let mut seeder = common::seeder();
    let mut leecher = downloader(Config::default());
    common::connect(&mut seeder, CONN);
    common::connect(&mut leecher, CONN);
    let failure = Failure::Storage(StorageError::Other("the data file is gone".into()));
    leecher.handle_input(Instant::ZERO, Input::Fail(failure.clone()));
    let outputs: Vec<Output> = std::iter::from_fn(|| leecher.poll_output()).collect();
    let failed_at = outputs.iter().position(|o| matches!(o, Output::Event(Event::Failed(_)))).expect("failed");
    assert_eq!(failed_at, outputs.len() - 1, "the failure is the last output, after the goodbyes");
    assert!(outputs.iter().any(|o| matches!(o, Output::Close { conn } if *conn == CONN)));
    leecher.handle_input(Instant::ZERO, Input::Fail(failure));
    assert!(leecher.poll_output().is_none(), "a second failure says nothing more");
}

#[test]
fn resuming_a_download_over_max_size_fails_at_once_but_a_share_is_not_limited() {
    let config = Config { max_size: 100_000, ..Config::default() };
    let manifest = small_manifest();
    let count = manifest.piece_count();
    let mut resumed = Swarm::resume(manifest.clone(), Bitfield::new(count), config.clone(), 3, Instant::ZERO);
    assert!(matches!(resumed.poll_output(), Some(Output::Event(Event::Failed(Failure::TooLarge { .. })))));
    common::connect(&mut resumed, CONN);
    let sent: Vec<Output> = std::iter::from_fn(|| resumed.poll_output()).collect();
    assert!(
        sent.iter().all(|o| match o {
            Output::Send { bytes, .. } => matches!(wire::decode(bytes), Ok(Message::Goodbye { .. })),
            _ => true,
        }),
        "a failed download only says goodbye to a new peer"
    );

    let mut shared = Swarm::share(manifest, config, 3, Instant::ZERO);
    assert!(shared.poll_output().is_none(), "a share of a file over the limit is not refused");
}

#[test]
fn with_await_storage_nothing_is_requested_before_storage_is_ready_nor_after_it_failed() {
    let config = Config { await_storage: true, ..Config::default() };
    // Storage ready: the download completes, and no Request preceded the `StorageReady`.
    let mut seeder = seeder();
    let mut leecher = downloader(config.clone());
    let waiting = run(&mut seeder, &mut leecher, |_| Ok(()));
    assert!(waiting.events.iter().any(|e| matches!(e, Event::ManifestKnown(_))));
    assert!(!waiting.sent.iter().any(|(m, _)| *m == Sent::Request), "a piece was requested before storage was ready");
    assert_eq!(seeder.stats().uploaded_bytes, 0);
    leecher.handle_input(Instant::ZERO, Input::StorageReady);
    let ready = run_on(&mut seeder, &mut leecher, |_| Ok(()));
    assert!(ready.sent.iter().any(|(m, _)| *m == Sent::Request));
    assert!(leecher.is_complete(), "the download did not complete once storage was ready");

    // Storage refused (a private window's limit): failed before any piece.
    let mut seeder = common::seeder();
    let mut leecher = downloader(config);
    let waiting = run(&mut seeder, &mut leecher, |_| Ok(()));
    assert!(!waiting.sent.iter().any(|(m, _)| *m == Sent::Request));
    leecher.handle_input(Instant::ZERO, Input::Fail(Failure::Storage(StorageError::Full)));
    let refused = run_on(&mut seeder, &mut leecher, |_| Ok(()));
    assert!(!refused.sent.iter().any(|(m, _)| *m == Sent::Request), "a piece was requested after the refusal");
    assert_eq!(seeder.stats().uploaded_bytes, 0, "a piece crossed");
    assert_eq!(seeder.connections().count(), 0, "the seeder did not see the peer leave");
}
