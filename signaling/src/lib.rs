//! Signaling server (see issue 3).
