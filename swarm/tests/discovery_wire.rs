//! Property tests of the discovery wire format: what is encoded decodes to the same message, and no input makes
//! the decoder panic.

use proptest::prelude::*;
use swarm::discovery::wire::{self, Entry, Message};
use swarm::id::ContentId;

fn entry() -> impl Strategy<Value = Entry> {
    (any::<[u8; 32]>(), any::<u64>(), "[a-zA-Z0-9._-]{1,60}", "[a-z]{1,10}/[a-z0-9.+-]{1,20}")
        .prop_map(|(id, size, name, media_type)| Entry { content: ContentId(id), size, name, media_type })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u64>(), 0..=wire::MAX_HOPS, prop::collection::vec(entry(), 0..=wire::MAX_ANNOUNCE_ENTRIES))
            .prop_map(|(id, hops, entries)| Message::Announce { id, hops, entries }),
        (any::<u64>(), 0..=wire::MAX_HOPS, "[a-z ]{0,100}").prop_map(|(id, hops, text)| Message::Query {
            id,
            hops,
            text
        }),
        (any::<u64>(), prop::collection::vec(entry(), 0..=wire::MAX_RESULT_ENTRIES))
            .prop_map(|(query, entries)| Message::Results { query, entries }),
    ]
}

proptest! {
    #[test]
    fn encoded_messages_decode_to_themselves(msg in message()) {
        let bytes = wire::encode(&msg);
        prop_assert!(bytes.len() <= wire::MAX_MESSAGE_LEN);
        prop_assert_eq!(wire::decode(&bytes), Ok(msg));
    }

    #[test]
    fn decode_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = wire::decode(&bytes);
    }

    #[test]
    fn decode_never_panics_on_mutated_messages(msg in message(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = wire::encode(&msg);
        let i = at % bytes.len();
        bytes[i] = byte;
        if let Ok(m) = wire::decode(&bytes) {
            // Whatever decodes re-encodes within the limits.
            prop_assert!(wire::encode(&m).len() <= wire::MAX_MESSAGE_LEN);
        }
    }
}
