//! The signaling readers on arbitrary text: never panic, and a request that `PeerRequest::parse` accepts is
//! read back the same from the text it writes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm::signal::{PeerRequest, ServerEvent};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    if let Ok(request) = PeerRequest::parse(text) {
        assert_eq!(PeerRequest::parse(&request.to_json()), Ok(request));
    }
    let _ = ServerEvent::parse(text);
});
