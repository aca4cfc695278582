//! What the `engine_*` tests share: they drive one `Swarm` (or two) by hand, with these files and manifests and
//! these steps. Each test file has `mod common;` and uses a part of it, so the rest is dead code there.
#![allow(dead_code)]

use swarm::manifest::{Manifest, ManifestBuilder, piece_size_for};
use swarm::proof::Proof;
use swarm::time::Instant;
use swarm::wire::{self, Message};
use swarm::{Config, ConnId, Input, Output, Swarm};

/// Length of the small file most tests share, in bytes: three pieces at the policy's piece size (128 KiB).
pub const SMALL: usize = 300_000;

/// `len` bytes of a test file: a pattern with a period of 251 bytes, so that pieces fewer than 251 apart differ.
pub fn file(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// The manifest of `data`, shared as `f.bin`, in pieces of `piece_size` bytes.
pub fn manifest(data: &[u8], piece_size: u32) -> Manifest {
    let mut b = ManifestBuilder::with_piece_size("f.bin", data.len() as u64, "application/octet-stream", piece_size)
        .expect("valid manifest input");
    b.update(data);
    b.finish().expect("exactly the announced size")
}

/// The manifest of the [`SMALL`] file, in pieces of the size the policy picks.
pub fn small_manifest() -> Manifest {
    manifest(&file(SMALL), piece_size_for(SMALL as u64))
}

/// A peer sharing the [`SMALL`] file, with the default config and seed 7.
pub fn seeder() -> Swarm {
    Swarm::share(small_manifest(), Config::default(), 7, Instant::ZERO)
}

/// Everything `s` has to output now, in order.
pub fn drain(s: &mut Swarm) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

/// The handshake proofs of every engine-level test connection: the same both ways, so two engines connected with
/// it accept each other (the node computes real ones, `swarm::proof::Proof::new`; tests of the proof are there and in
/// node_proof.rs).
pub const PROOF: Proof = Proof { send: [0x5a; 32], expect: [0x5a; 32] };

/// The Handshake a remote peer must send `s` on a channel connected with [`PROOF`]: what `s` sends first, too.
pub fn handshake(_s: &Swarm) -> Vec<u8> {
    wire::encode(&Message::Handshake { version: wire::VERSION, proof: PROOF.expect })
}

/// Opens `conn` to `s` at `Instant::ZERO`, on a connection that carries the longest messages
/// (`wire::MAX_MESSAGE_LEN`).
pub fn connect(s: &mut Swarm, conn: ConnId) {
    s.handle_input(
        Instant::ZERO,
        Input::PeerConnected { conn, max_message: wire::MAX_MESSAGE_LEN as u32, proof: PROOF },
    );
}

/// Connects `conn` and completes its handshake at `Instant::ZERO`; what `s` outputs meanwhile is dropped.
pub fn ready(s: &mut Swarm, conn: ConnId) {
    connect(s, conn);
    let hs = handshake(s);
    s.handle_input(Instant::ZERO, Input::Received { conn, bytes: &hs });
    drain(s);
}
