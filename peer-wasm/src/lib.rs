//! The browser peer: a thin shell that drives one [`swarm::node::Node`] (its swarms, its discovery membership, its
//! signaling schedule, its peer and channel rules) over WebRTC data channels, with a WebSocket to the signaling
//! server and the Origin Private File System for storage.
//!
//! The shell translates browser callbacks into the node's inputs and executes its outputs, following the run loop
//! documented in `swarm::node`: feed one input, drain `poll_output`, arm one `setTimeout` at `poll_timeout`. It
//! holds no peer-level rule of its own: storage, hashing, the page's events and the JavaScript API are its part.
//!
//! # Layout
//! From the top down; a module uses only modules below it.
//! - [`api`]: the JavaScript API ([`Client`]) that `www/app.js` uses. (QR codes of links are a module of their own,
//!   `peer-wasm/qr`, loaded when first shown.)
//! - [`core`]: [`core::Core`], the node and the browser objects that execute its outputs, the entry point for every
//!   callback, and the run loop; `core/net.rs` (socket, connections, channels) and `core/files.rs` (storage
//!   operations, each content's news for the page) are its parts.
//! - [`socket`]: the WebSocket to the signaling server.
//! - [`peer`]: one RTCPeerConnection doing the negotiation steps the node asks for.
//! - [`channel`]: one data channel; the send path with `bufferedAmount` back-pressure.
//! - [`content`]: the shell's side of one shared or downloading file: its bytes, pending storage operations and
//!   [`piece_map`].
//! - [`storage`]: OPFS piece files and manifests, resume after reload, the in-memory fallback; piece writes in a
//!   [`storage_worker`].
//! - [`source`]: where a content's bytes are (the user's file or stored pieces), read lazily from `Blob`s, blocks in
//!   a read worker.
//! - [`worker_client`]: a dedicated worker answering requests by id (the read and storage workers' plumbing).
//! - [`hashing`]: hashing a file to share, in chunks, with progress.
//! - [`link`]: share links for the page (`swarm::link` parses them).
//! - [`events`]: the events sent to the page; [`error`]: typed errors for JS; [`clock`]: time and randomness.

pub mod api;
pub mod channel;
pub mod clock;
pub mod content;
pub mod core;
pub mod error;
pub mod events;
pub mod hashing;
pub mod link;
pub mod peer;
pub mod piece_map;
pub mod socket;
pub mod source;
pub mod storage;
pub mod storage_worker;
pub mod worker_client;

pub use api::Client;

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
