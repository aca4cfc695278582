//! The browser peer: a thin shell that drives one [`swarm::Swarm`] per content over WebRTC data channels, with a
//! WebSocket to the signaling server and the Origin Private File System for storage.
//!
//! The shell translates browser callbacks into the swarm's inputs and executes its outputs, following the run
//! loop documented at the `swarm` crate root: feed one input, drain `poll_output`, arm a `setTimeout` at
//! `poll_timeout`. It holds no protocol logic of its own.
//!
//! # Layout
//! - [`api`]: the JavaScript API ([`Client`], [`qr_svg`]) that `www/app.js` uses.
//! - [`core`]: all state of the page's peer, the entry point for every callback, and the run loop.
//! - [`content`]: one shared or downloading file: its swarm, bytes, timer and [`piece_map`].
//! - [`signaling`]: the WebSocket client, reconnection with [`backoff`] and jitter.
//! - [`discovery`]: the discovery network (announce and search): neighbours over `discovery` channels.
//! - [`peer`]: one RTCPeerConnection per remote peer, perfect negotiation (glare), connection limits.
//! - [`channel`]: one data channel per content and peer; the send path with `bufferedAmount` back-pressure.
//! - [`source`]: reading bytes lazily from `Blob`s (the user's file or stored pieces), blocks in a read worker.
//! - [`storage`]: OPFS piece files and manifests, resume after reload, the in-memory fallback; piece writes in a
//!   [`storage_worker`].
//! - [`worker_client`]: a dedicated worker answering requests by id (the read and storage workers' plumbing).
//! - [`hashing`]: hashing a file to share, in chunks, with progress.
//! - [`link`]: parsing and formatting share links.
//! - [`qr`]: QR codes of links as SVG.
//! - [`events`]: the events sent to the page; [`error`]: typed errors for JS; [`clock`]: time and randomness.

pub mod api;
pub mod channel;
pub mod clock;
pub mod content;
pub mod core;
pub mod discovery;
pub mod error;
pub mod events;
pub mod hashing;
pub mod link;
pub mod peer;
pub mod piece_map;
pub mod qr;
pub mod signaling;
pub mod source;
pub mod storage;
pub mod storage_worker;
pub mod worker_client;

pub use api::{Client, qr_svg};

use wasm_bindgen::prelude::*;

/// Installs a panic hook when the module loads: a panic is a bug, and the page is told so (an `internal` error
/// event on `window`) instead of failing silently.
#[wasm_bindgen(start)]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("Internal error (please reload the page): {info}");
        web_sys::console::error_1(&message.clone().into());
        if let Some(window) = web_sys::window() {
            let init = web_sys::CustomEventInit::new();
            init.set_detail(&JsValue::from_str(&message));
            if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict("peer-panic", &init) {
                let _ = window.dispatch_event(&event);
            }
        }
    }));
}
