//! Events for the page: one JS callback receives plain objects `{ type, ... }` (ordinary objects, not wasm
//! handles). They are built field by field with `Reflect.set`: serializing to JSON and parsing it again would
//! cost a JSON serializer in the wasm.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// Everything the page is told. Field names are the page's contract with this crate (see www/app.js).
#[derive(Debug, Clone)]
pub enum UiEvent {
    /// Signaling connection state: `connecting`, `connected` or `reconnecting`.
    Signaling { state: &'static str },
    /// Progress of hashing a file to share; `token` matches the `share` call that started it.
    Hashing { token: u32, name: String, hashed: u64, size: u64 },
    /// A content was added: `role` is `share` or `download`.
    Added { id: String, role: &'static str, name: Option<String>, size: Option<u64>, pieces: Option<u32> },
    /// The manifest of a download is known (name, size, piece count, and how many files for a folder: 0 for one
    /// file).
    Manifest { id: String, name: String, size: u64, pieces: u32, files: u32 },
    /// Counters, sent a few times a second for each content. `state`: `waiting`, `choosing` (a folder waiting
    /// for its user to choose files), `downloading`, `complete`, `seeding`, `paused` or `error`.
    Stats {
        id: String,
        state: &'static str,
        downloaded: u64,
        uploaded: u64,
        verified: u32,
        total: u32,
        peers: usize,
        relayed: usize,
        /// Connections refused as tampered with (PROTOCOL.md 2.11).
        tampered: u32,
    },
    /// Every piece is verified and stored.
    Complete { id: String },
    /// Whether a content is listed in search now.
    Listed { id: String, listed: bool },
    /// A content was stopped and forgotten.
    Removed { id: String },
    /// Something the user should read. `id` names the content it is about, if any; a `too_large`, `storage_full`
    /// or `storage` error with an `id` means that download failed and stopped (`Event::Failed`).
    Error { id: Option<String>, kind: &'static str, message: String },
    /// The discovery network and how many neighbours the page has in it (sent at start and on every change).
    Network { name: String, neighbours: usize },
    /// A match for a search (`search` is the id `Client.search` returned), or an update of one with more
    /// `sources`. `name` is sanitized for display by the core; higher `score` ranks first.
    SearchResult {
        search: String,
        content: String,
        name: String,
        size: u64,
        media_type: String,
        score: u32,
        sources: u32,
    },
}

impl UiEvent {
    /// The event as a plain JS object; numbers are JS numbers (exact up to 2^53 bytes).
    pub fn to_js(&self) -> JsValue {
        let o = Fields(Object::new());
        match self {
            UiEvent::Signaling { state } => o.kind("signaling").str("state", state),
            UiEvent::Hashing { token, name, hashed, size } => o
                .kind("hashing")
                .num("token", *token as f64)
                .str("name", name)
                .num("hashed", *hashed as f64)
                .num("size", *size as f64),
            UiEvent::Added { id, role, name, size, pieces } => {
                let o = o.kind("added").str("id", id).str("role", role);
                let o = match name {
                    Some(n) => o.str("name", n),
                    None => o,
                };
                let o = match size {
                    Some(s) => o.num("size", *s as f64),
                    None => o,
                };
                match pieces {
                    Some(p) => o.num("pieces", *p as f64),
                    None => o,
                }
            }
            UiEvent::Manifest { id, name, size, pieces, files } => o
                .kind("manifest")
                .str("id", id)
                .str("name", name)
                .num("size", *size as f64)
                .num("pieces", *pieces as f64)
                .num("files", f64::from(*files)),
            UiEvent::Stats { id, state, downloaded, uploaded, verified, total, peers, relayed, tampered } => o
                .kind("stats")
                .str("id", id)
                .str("state", state)
                .num("downloaded", *downloaded as f64)
                .num("uploaded", *uploaded as f64)
                .num("verified", *verified as f64)
                .num("total", *total as f64)
                .num("peers", *peers as f64)
                .num("relayed", *relayed as f64)
                .num("tampered", f64::from(*tampered)),
            UiEvent::Complete { id } => o.kind("complete").str("id", id),
            UiEvent::Listed { id, listed } => o.kind("listed").str("id", id).bool("listed", *listed),
            UiEvent::Removed { id } => o.kind("removed").str("id", id),
            UiEvent::Error { id, kind, message } => {
                let o = o.kind("error").str("kind", kind).str("message", message);
                match id {
                    Some(id) => o.str("id", id),
                    None => o,
                }
            }
            UiEvent::Network { name, neighbours } => {
                o.kind("network").str("name", name).num("neighbours", *neighbours as f64)
            }
            UiEvent::SearchResult { search, content, name, size, media_type, score, sources } => o
                .kind("search-result")
                .str("search", search)
                .str("content", content)
                .str("name", name)
                .num("size", *size as f64)
                .str("mediaType", media_type)
                .num("score", *score as f64)
                .num("sources", *sources as f64),
        }
        .0
        .into()
    }
}

/// A JS object being filled. `Reflect.set` on a fresh plain object cannot fail, so its result is ignored.
struct Fields(Object);

impl Fields {
    fn kind(self, kind: &str) -> Self {
        self.str("type", kind)
    }
    fn str(self, key: &str, value: &str) -> Self {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &JsValue::from_str(value));
        self
    }
    fn num(self, key: &str, value: f64) -> Self {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &JsValue::from_f64(value));
        self
    }
    fn bool(self, key: &str, value: bool) -> Self {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &JsValue::from_bool(value));
        self
    }
}
