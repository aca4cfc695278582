//! The signaling server: introduces the peers of a swarm to each other, relays the few messages that set up a
//! WebRTC connection between two of them, and serves the web app. File contents, file names and searches never
//! pass through it.
//!
//! A peer opens one WebSocket on `/ws`, receives [`ServerEvent::Welcome`](swarm::signal::ServerEvent) with the
//! id the server chose for it and the ICE servers to use, joins swarms (a content id, or `net:<name>`), gets a
//! random subset of each swarm's members, and relays offers, answers and ICE candidates to members of a swarm it
//! shares. The JSON messages are the types of `swarm::signal`; the protocol is specified in docs/PROTOCOL.md,
//! section 3.
//!
//! Everything a remote party can grow is bounded (see [`Limits`]): frame size, message rate, swarms per
//! connection, members per swarm, connections per IP and in total, each peer's queue of messages from others
//! and each sender's share of it (a relay that does not fit is refused to its sender, never held against the
//! receiver), and the departures announced per swarm per second.
//!
//! # Layout
//! - [`config`]: [`Config`] and [`Limits`], the command-line flags (with environment equivalents) and their
//!   defaults.
//! - [`server`]: [`serve`], the accept loop (connection admission, a deadline for each request head counted
//!   from accept or idle, HTTP/1 with upgrades, graceful shutdown) and the routes: `/ws`, `/healthz`, `/metrics`,
//!   and `www/`, with security headers on every response.
//! - [`admission`]: counts TCP connections per client address, per network prefix and in total; a
//!   [`admission::Slot`] is held for as long as its connection lives.
//! - [`deadline`]: the deadline of an HTTP connection, from accept or idle to a complete request head.
//! - [`origin`]: the `Origin` header of a WebSocket upgrade, parsed, and checked against `--allowed-origin`.
//! - [`connection`]: the task that drives one WebSocket: parses requests, enforces the rate limit and the
//!   strike count, writes replies and queued events, pings, and times out idle peers.
//! - [`hub`]: [`hub::Hub`], the shared state (peers, swarms and their members): join, leave, relay, departure.
//! - [`cluster`]: `--redis`, several instances as one service: membership leased in Redis, relays and
//!   departures between instances by Redis pub/sub.
//! - [`outbox`]: one peer's bounded queues of relays and departures, with each sender's share of them.
//! - [`id`]: the server's compact peer id and its text form.
//! - [`rate`]: the token bucket of the per-connection message rate limit.
//! - [`metrics`]: counters and gauges, rendered for `/metrics` in the Prometheus (OpenMetrics) text format.
//! - `bin/loadgen.rs`: the load generator behind BENCHMARKS.md's signaling section.

pub mod admission;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod deadline;
pub mod hub;
pub mod id;
pub mod metrics;
pub mod origin;
pub mod outbox;
pub mod proxy;
pub mod rate;
pub mod server;
pub mod tls;
pub mod turn;

pub use crate::config::{Config, Limits};
pub use crate::server::{Server, serve};
