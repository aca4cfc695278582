//! PROTOCOL.md 2.11 at the node: a content's name to the signaling server is its swarm key, never its id; a
//! content channel starts with a proof over both DTLS fingerprints, so a server in the middle of a connection is
//! refused before any manifest or piece crosses, and every bad input is a typed refusal.

use core::time::Duration;

use swarm::id::ContentId;
use swarm::node::label::Topic;
use swarm::node::{Config, Event, Input, Node, Output, SdpKind};
use swarm::proof::{Fingerprint, FingerprintError, Proof, SwarmKey};
use swarm::signal::{PeerId, ServerEvent, SignalPayload};
use swarm::sim::make_file;
use swarm::sim::world::World;
use swarm::time::Instant;
use swarm::wire::{self, GoodbyeReason, Message};
use swarm::{Refusal, Stats};

/// A seeder and a downloader of one 256 KiB file in a world whose hub is in the middle or not.
fn transfer(in_the_middle: bool) -> (World, usize, ContentId) {
    let mut world = World::new(Duration::from_millis(20));
    world.in_the_middle = in_the_middle;
    world.record_frames = true;
    let (data, manifest) = make_file(256 * 1024, 5);
    let content = manifest.content_id();
    let seeder = world.add(Config::default(), 1);
    world.share(seeder, data, manifest);
    world.run_for(Duration::from_secs(1));
    let getter = world.add(Config::default(), 2);
    world.download(getter, content);
    (world, getter, content)
}

fn refusals(world: &World, i: usize) -> Vec<Refusal> {
    world.nodes[i]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Content { event: swarm::Event::PeerRefused { why, .. }, .. } => Some(*why),
            _ => None,
        })
        .collect()
}

fn stats(world: &World, i: usize, content: &ContentId) -> Option<Stats> {
    world.nodes[i].node.swarm(content).map(|s| s.stats())
}

#[test]
fn an_honest_hub_introduces_and_the_download_completes_with_no_refusal() {
    let (mut world, getter, content) = transfer(false);
    let done = world.run_until_true(Duration::from_secs(30), |w| {
        w.nodes[getter].node.swarm(&content).is_some_and(|s| s.is_complete())
    });
    assert!(done, "the download did not complete");
    assert_eq!(refusals(&world, getter), []);
    assert_eq!(stats(&world, getter, &content).map(|s| s.proof_failures), Some(0));
}

#[test]
fn a_hub_in_the_middle_is_refused_before_any_manifest_or_piece() {
    let (mut world, getter, content) = transfer(true);
    world.run_for(Duration::from_secs(10));
    let refused = refusals(&world, getter);
    assert!(!refused.is_empty() && refused.iter().all(|r| *r == Refusal::ProofFailed), "{refused:?}");
    let s = stats(&world, getter, &content).expect("still downloading");
    assert!(s.proof_failures > 0);
    // Not even the manifest came over: nothing was exchanged after the handshakes.
    assert_eq!((s.total_pieces, s.verified_pieces, s.downloaded_bytes), (0, 0, 0));
    // The seeder refused the other way too.
    assert!(refusals(&world, 0).contains(&Refusal::ProofFailed));
}

#[test]
fn the_hub_never_hears_the_content_id_in_any_encoding_nor_the_file_name() {
    let (mut world, getter, content) = transfer(false);
    world.run_until_true(Duration::from_secs(30), |w| {
        w.nodes[getter].node.swarm(&content).is_some_and(|s| s.is_complete())
    });
    let heard = world.hub_frames.join("\n");
    assert!(heard.contains(&SwarmKey::of(&content).to_string()), "the hub was not even told the swarm key");
    let id = content.as_bytes();
    let b64 = |alphabet: &[u8; 64]| -> String {
        // Every 3-byte-aligned run of the id, so an encoding at any offset is caught: the first 30 bytes.
        id[..30]
            .chunks(3)
            .flat_map(|c| {
                let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
                (0..4).rev().map(move |i| alphabet[((n >> (6 * i)) & 63) as usize] as char)
            })
            .collect()
    };
    let std = b64(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    let url = b64(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    let hex = content.to_string();
    for (what, needle) in [("hex", hex.clone()), ("HEX", hex.to_ascii_uppercase()), ("base64", std), ("base64url", url)]
    {
        assert!(!heard.contains(&needle), "the hub heard the content id ({what})");
    }
    assert!(!heard.contains("sim.bin"), "the hub heard the file name");
}

// One node and a hand-played remote: every bad input is a typed refusal, and nothing of the content is sent first.

fn frame(event: &ServerEvent) -> String {
    serde_json::to_string(event).expect("a server event serializes")
}

fn drain(node: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

fn fp_line(byte: u8) -> String {
    format!("a=fingerprint:sha-256 {}\r\n", vec![format!("{byte:02X}"); 32].join(":"))
}

/// A node welcomed as `m` sharing one file, answering an offer from `z` whose SDP is `remote`, its own answer
/// `local`, and `z`'s channel for the file accepted and open.
fn channel(remote: &str, local: &str) -> (Node, swarm::ConnId, Vec<Output>) {
    let now = Instant::from_millis(1);
    let mut node = Node::new(Config::default(), 9, Instant::ZERO);
    let welcome = frame(&ServerEvent::Welcome { peer_id: PeerId("m".into()), ice_servers: vec![] });
    node.handle_input(Instant::ZERO, Input::ServerFrame(&welcome));
    let (_, manifest) = make_file(256 * 1024, 1);
    let content = manifest.content_id();
    node.share(Instant::ZERO, manifest).expect("a new content");
    let offer = ServerEvent::Signal { from: PeerId("z".into()), payload: SignalPayload::Offer { sdp: remote.into() } };
    node.handle_input(now, Input::ServerFrame(&frame(&offer)));
    let answer = Input::LocalDescription { peer: PeerId("z".into()), kind: SdpKind::Answer, sdp: local.into() };
    node.handle_input(now, answer);
    drain(&mut node);
    let conn = node.accept_channel(now, &PeerId("z".into()), &Topic::Content(content).label()).expect("accepted");
    node.handle_input(now, Input::ChannelOpened { conn, max_message: wire::MAX_MESSAGE_LEN as u32 });
    let out = drain(&mut node);
    (node, conn, out)
}

/// The Handshake `z` sends `m` on `content`'s channel, from the fingerprints as `z` saw them (its own `fp_line(1)`,
/// `m`'s `fp_line(2)`): the right proof.
fn z_hello(content: &ContentId) -> Vec<u8> {
    let fp = |byte| Fingerprint::from_sdp(&fp_line(byte)).expect("a fingerprint");
    let (z, m) = (PeerId("z".into()), PeerId("m".into()));
    let proof = Proof::new(content, (&fp(1), &z), (&fp(2), &m)).send;
    wire::encode(&Message::Handshake { version: wire::VERSION, proof })
}

/// Whether the node said the channel is ready (both proofs checked).
fn ready(out: &[Output]) -> bool {
    out.iter().any(|o| matches!(o, Output::Event(Event::Content { event: swarm::Event::PeerReady { .. }, .. })))
}

fn sent(out: &[Output], conn: swarm::ConnId) -> Vec<Vec<u8>> {
    out.iter()
        .filter_map(
            |o| if let Output::Send { conn: c, bytes } = o { (*c == conn).then(|| bytes.clone()) } else { None },
        )
        .collect()
}

fn refused(out: &[Output]) -> Vec<Refusal> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(Event::Content { event: swarm::Event::PeerRefused { why, .. }, .. }) => Some(*why),
            _ => None,
        })
        .collect()
}

fn closed(out: &[Output], conn: swarm::ConnId) -> bool {
    out.iter().any(|o| matches!(o, Output::CloseChannel { conn: c } if *c == conn))
}

#[test]
fn an_sdp_without_a_fingerprint_or_with_two_closes_the_channel_before_its_handshake() {
    let two = format!("{}{}", fp_line(1), fp_line(3));
    let malformed = "a=fingerprint:sha-256 XY\r\n";
    for (remote, local, why) in [
        ("v=0\r\n".to_owned(), fp_line(2), FingerprintError::Missing),
        (fp_line(1), "v=0\r\n".to_owned(), FingerprintError::Missing),
        (two, fp_line(2), FingerprintError::Several),
        (malformed.to_owned(), fp_line(2), FingerprintError::Malformed),
    ] {
        let (_, conn, out) = channel(&remote, &local);
        assert_eq!(refused(&out), [Refusal::Fingerprint(why)], "{remote:?}");
        assert!(closed(&out, conn));
        assert_eq!(sent(&out, conn), Vec::<Vec<u8>>::new(), "sent something on an unproven channel");
    }
}

#[test]
fn a_wrong_proof_gets_goodbye_proof_failed_and_nothing_else() {
    let (mut node, conn, out) = channel(&fp_line(1), &fp_line(2));
    // The node's own handshake went first, and only it.
    let first = sent(&out, conn);
    assert!(matches!(&first[..], [m] if matches!(wire::decode(m), Ok(Message::Handshake { .. }))), "{first:?}");
    let forged = wire::encode(&Message::Handshake { version: wire::VERSION, proof: [0xee; 32] });
    node.handle_input(Instant::from_millis(2), Input::ChannelMessage { conn, bytes: &forged });
    let out = drain(&mut node);
    assert_eq!(refused(&out), [Refusal::ProofFailed]);
    let bye = wire::encode(&Message::Goodbye { reason: GoodbyeReason::ProofFailed });
    assert_eq!(sent(&out, conn), [bye], "only the goodbye");
    assert!(closed(&out, conn));
}

#[test]
fn a_handshake_of_the_wrong_length_or_a_second_one_is_a_violation() {
    // 34 bytes: a proof one byte short.
    let (mut node, conn, _) = channel(&fp_line(1), &fp_line(2));
    let mut short = wire::encode(&Message::Handshake { version: wire::VERSION, proof: [0; 32] });
    short.pop();
    node.handle_input(Instant::from_millis(2), Input::ChannelMessage { conn, bytes: &short });
    let out = drain(&mut node);
    assert!(out.iter().any(|o| matches!(o, Output::Event(Event::PeerBanned { .. }))), "{out:?}");
    assert!(closed(&out, conn));
    assert_eq!(refused(&out), []);

    // The right proof (what `z` would send, from the fingerprints as it saw them), then a second handshake.
    let (mut node, conn, _) = channel(&fp_line(1), &fp_line(2));
    let hello = z_hello(&make_file(256 * 1024, 1).1.content_id());
    node.handle_input(Instant::from_millis(2), Input::ChannelMessage { conn, bytes: &hello });
    assert!(ready(&drain(&mut node)));
    node.handle_input(Instant::from_millis(3), Input::ChannelMessage { conn, bytes: &hello });
    let out = drain(&mut node);
    assert!(out.iter().any(|o| matches!(o, Output::Event(Event::PeerBanned { .. }))), "{out:?}");
}

#[test]
fn after_a_signaling_reconnection_a_connection_keeps_proving_under_the_id_it_was_made_with() {
    let now = Instant::from_millis(1);
    let mut node = Node::new(Config::default(), 9, Instant::ZERO);
    let welcome = |id: &str| frame(&ServerEvent::Welcome { peer_id: PeerId(id.into()), ice_servers: vec![] });
    node.handle_input(Instant::ZERO, Input::ServerFrame(&welcome("m")));
    let (_, manifest) = make_file(256 * 1024, 1);
    let content = manifest.content_id();
    node.share(Instant::ZERO, manifest).expect("a new content");
    let offer = ServerEvent::Signal { from: PeerId("z".into()), payload: SignalPayload::Offer { sdp: fp_line(1) } };
    node.handle_input(now, Input::ServerFrame(&frame(&offer)));
    node.handle_input(
        now,
        Input::LocalDescription { peer: PeerId("z".into()), kind: SdpKind::Answer, sdp: fp_line(2) },
    );
    // The signaling server restarts: this side is `m2` now; the connection to `z` (made as `m`) stays up.
    node.handle_input(now, Input::SignalingClosed);
    node.handle_input(now, Input::ServerFrame(&welcome("m2")));
    drain(&mut node);
    let conn = node.accept_channel(now, &PeerId("z".into()), &Topic::Content(content).label()).expect("accepted");
    node.handle_input(now, Input::ChannelOpened { conn, max_message: wire::MAX_MESSAGE_LEN as u32 });
    drain(&mut node);
    // `z` proves itself to `m`, the id it connected to.
    node.handle_input(Instant::from_millis(2), Input::ChannelMessage { conn, bytes: &z_hello(&content) });
    let out = drain(&mut node);
    assert_eq!(refused(&out), [], "refused as tampered after a reconnection");
    assert!(ready(&out));
}
