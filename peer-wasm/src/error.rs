//! Errors as JavaScript sees them: a JS `Error` whose `name` is a stable kind for code to switch on and whose
//! `message` is a sentence for the user. Nothing in this crate reaches JS as a panic.

use swarm::swarm::StorageError;
use wasm_bindgen::JsValue;

/// What went wrong, as a stable name for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not a share link.
    InvalidLink,
    /// The browser refused to store more (quota).
    StorageFull,
    /// The file is larger than this page can store (in memory, without a private file system).
    TooLarge,
    /// Any other storage failure.
    Storage,
    /// The file the user picked could not be read.
    File,
    /// A peer sent corrupt data and was banned (shown, not thrown).
    PeerBanned,
    /// The signaling server answered with an error.
    Signaling,
    /// The relay (TURN) server refused the credentials the signaling server gave.
    Turn,
    /// A peer could not be reached (no path for ICE, or not even through the relay); said once a page.
    Unreachable,
    /// The id names no file this page shares or downloads.
    Unknown,
    /// A search with no word to search for.
    EmptyQuery,
    /// The network name in the page address is not valid (the default network is used).
    InvalidNetwork,
    /// A bug: reported, never expected.
    Internal,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidLink => "invalid_link",
            ErrorKind::StorageFull => "storage_full",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Storage => "storage",
            ErrorKind::File => "file",
            ErrorKind::PeerBanned => "peer_banned",
            ErrorKind::Signaling => "signaling",
            ErrorKind::Turn => "turn",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Unknown => "unknown",
            ErrorKind::EmptyQuery => "empty_query",
            ErrorKind::InvalidNetwork => "invalid_network",
            ErrorKind::Internal => "internal",
        }
    }
}

/// A typed, human-readable error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        let js = js_sys::Error::new(&e.message);
        js.set_name(e.kind.as_str());
        js.into()
    }
}

/// A short description of a thrown JS value (a DOMException, an Error, anything), for messages and logs.
pub fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    let get = |key: &str| js_sys::Reflect::get(value, &JsValue::from_str(key)).ok().and_then(|v| v.as_string());
    match (get("name"), get("message")) {
        (Some(n), Some(m)) => format!("{n}: {m}"),
        (None, Some(m)) => m,
        (Some(n), None) => n,
        (None, None) => "unknown error".to_owned(),
    }
}

/// The `name` of a thrown DOMException or Error (`QuotaExceededError`, `NotFoundError`, ...).
pub fn js_error_name(value: &JsValue) -> Option<String> {
    js_sys::Reflect::get(value, &JsValue::from_str("name")).ok().and_then(|v| v.as_string())
}

/// Maps a thrown storage exception to the swarm's storage error: quota errors become [`StorageError::Full`].
pub fn storage_error(e: &JsValue) -> StorageError {
    match js_error_name(e).as_deref() {
        Some("QuotaExceededError") => StorageError::Full,
        _ => StorageError::Other(describe(e)),
    }
}
