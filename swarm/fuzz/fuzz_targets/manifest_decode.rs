//! `Manifest::decode` on arbitrary bytes: never panics, and whatever it accepts re-encodes to exactly the input
//! (so the content id of a decoded manifest is the SHA-256 of the bytes received).
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm::manifest::Manifest;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(manifest) = Manifest::decode(bytes) {
        assert_eq!(manifest.encode(), bytes, "manifest decoding is canonical");
    }
});
