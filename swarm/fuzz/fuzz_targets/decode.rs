//! `wire::decode` on arbitrary bytes: never panics, and whatever it accepts re-encodes to exactly the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm::wire::{decode, encode};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(msg) = decode(bytes) {
        assert_eq!(encode(&msg), bytes, "decoding is canonical");
    }
});
