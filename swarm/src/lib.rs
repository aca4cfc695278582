//! The swarm protocol core: everything a peer does, minus the network and the disk.
//!
//! This crate is a deterministic state machine in the style of `quinn-proto` and `str0m`. It has no clock, no
//! IO and no async runtime: time, received bytes and storage results go in; bytes to send, storage operations,
//! the next timer and events come out. The browser peer (`peer-wasm`) and the native peer (`peer-native`) are thin
//! shells that move bytes between this crate and the world, and the simulator (`sim`) drives a thousand of them
//! in one process with a fake clock.
//!
//! # Layout
//! - [`time`]: the crate's own [`time::Instant`] (milliseconds from an epoch the shell chooses).
//! - [`id`]: [`id::ContentId`], the SHA-256 of a manifest's canonical encoding, and its text form for links.
//! - [`manifest`]: [`manifest::Manifest`] (name, size, piece size, media type, piece hashes), its canonical
//!   encoding, the piece-size policy and the incremental [`manifest::ManifestBuilder`].
//! - [`media`]: the media type of a shared file, from its name's extension (the same on every peer).
//! - [`bitfield`]: the set of pieces a peer has.
//! - [`bucket`]: [`bucket::TokenBucket`], a rate limit on the core's clock (discovery messages, manifest requests).
//! - `codec` (private): what the decoders of untrusted bytes share: a `Reader` whose every read is checked, and
//!   [`wire::DecodeError`], the error of both message decoders (the peer wire protocol's and discovery's).
//! - [`wire`]: the peer wire protocol: [`wire::Message`], `encode` and `decode` with hard limits.
//! - [`swarm`]: [`Swarm`], the state machine of one content (one file) shared with many remote peers; its parts
//!   are in `swarm/`: `peer` (one remote peer), `picker` (rarest-first blocks, assembly, endgame, blame), `fetch`
//!   (the manifest fetch for a swarm joined by id).
//! - [`discovery`]: announce and search without a central index ([`discovery::Discovery`]), and its simulator
//!   (`discovery::sim`, feature `sim`).
//! - [`signal`]: the JSON messages between a peer and the signaling server (types only).
//! - [`node`]: [`node::Node`], one whole peer: its swarms, its discovery membership, its signaling connection and
//!   its remote peers and channels; the one state machine the shells drive.
//! - [`proof`]: the swarm key a content is named by outside its swarm, and the handshake proof that keeps the
//!   signaling server out of a content channel.
//! - [`link`]: share links (`http://host:port/#<content id>`) read and written.
//! - `sim`: the deterministic in-memory networks used by tests, examples and benchmarks (`examples/simulate.rs`,
//!   and `sim::world`, whole nodes over a simulated hub and WebRTC). Both simulators, and their `rand_chacha`, are
//!   behind the `sim` feature: this crate's dev-dependency on itself turns it on for its own tests, examples and
//!   benches, and no shell enables it.
//! - [`rng`]: [`rng::SplitMix64`], the engines' seeded random number generator.
//! - [`vec_map`]: [`VecMap`], the sorted-`Vec` map of the small bounded maps (less wasm code than `BTreeMap`).
//!
//! # The run loop
//! A shell owns one [`Swarm`] per content and drives it like this, and only like this:
//!
//! 1. Feed one input: [`Swarm::handle_input`] with an [`Input`] (peer connected or disconnected, bytes received,
//!    storage result, user command) and the current time, or [`Swarm::handle_timeout`] when the timer fires.
//! 2. Drain [`Swarm::poll_output`] until it returns `None`, executing each [`Output`]: send bytes on the named
//!    connection, start the named storage read or write (its result comes back later as an input), close a
//!    connection, or show an event to the user. With [`Config::shell_hashes`] the shell also hashes complete
//!    pieces ([`Output::Hash`], answered with [`Input::HashDone`]); otherwise the engine hashes them itself.
//! 3. Arm the timer with [`Swarm::poll_timeout`]; wait for the timer or the next input; go to 1.
//!
//! The same inputs at the same times with the same seed give the same outputs: that is what makes the simulator
//! reproducible.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod bitfield;
pub mod bucket;
mod codec;
pub mod discovery;
pub mod id;
pub mod link;
pub mod manifest;
pub mod media;
pub mod node;
pub mod proof;
pub mod rng;
pub mod signal;
#[cfg(feature = "sim")]
pub mod sim;
pub mod swarm;
pub mod time;
pub mod vec_map;
pub mod wire;

pub use crate::swarm::{
    BanReason, Config, ConnId, Event, Failure, Input, OpId, Output, Refusal, Stats, StorageError, Swarm,
};
pub use crate::vec_map::VecMap;
