//! Events for the page: one JS callback receives plain objects `{ type, ... }` (built from JSON so the page gets
//! ordinary objects, not wasm handles).

use serde::Serialize;
use wasm_bindgen::JsValue;

/// Everything the page is told. Field names are the page's contract with this crate (see www/app.js).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UiEvent {
    /// Signaling connection state: `connecting`, `connected` or `reconnecting`.
    Signaling { state: &'static str },
    /// Progress of hashing a file to share; `token` matches the `share` call that started it.
    Hashing { token: u32, name: String, hashed: u64, size: u64 },
    /// A content was added: `role` is `share` or `download`.
    Added { id: String, role: &'static str, name: Option<String>, size: Option<u64>, pieces: Option<u32> },
    /// The manifest of a download is known (name, size, piece count).
    Manifest { id: String, name: String, size: u64, pieces: u32 },
    /// Counters, sent a few times a second for each content. `state`: `waiting`, `downloading`, `complete`,
    /// `seeding` or `error`.
    Stats { id: String, state: &'static str, downloaded: u64, uploaded: u64, verified: u32, total: u32, peers: usize },
    /// Every piece is verified and stored.
    Complete { id: String },
    /// A content was stopped and forgotten.
    Removed { id: String },
    /// Something the user should read. `id` names the content it is about, if any.
    Error { id: Option<String>, kind: &'static str, message: String },
}

impl UiEvent {
    /// The event as a plain JS object.
    pub fn to_js(&self) -> JsValue {
        serde_json::to_string(self).ok().and_then(|s| js_sys::JSON::parse(&s).ok()).unwrap_or(JsValue::NULL)
    }
}
