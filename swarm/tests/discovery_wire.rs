//! Property tests of the discovery wire format: what is encoded decodes to the same message, and no input makes
//! the decoder panic.

use proptest::prelude::*;
use swarm::discovery::wire::{self, Entry, Message, Words};
use swarm::id::ContentId;

fn entry() -> impl Strategy<Value = Entry> {
    (any::<[u8; 32]>(), any::<u64>(), "[a-zA-Z0-9._-]{1,60}", "[a-z]{1,10}/[a-z0-9.+-]{1,20}", words())
        // Names as an honest peer announces them: a manifest's, so valid ones (the receiver sanitizes the others).
        .prop_map(|(id, size, name, media_type, words)| Entry {
            content: ContentId(id),
            size,
            name: swarm::manifest::sanitize_name(&name),
            media_type,
            words,
        })
}

/// Words as a folder's entry carries them, or (often) none: a single file's.
fn words() -> impl Strategy<Value = Words> {
    // At most 36 words of at most 12 bytes and a space: within the 512 bytes an entry's words may have.
    prop_oneof![
        Just(Words::none()),
        prop::collection::btree_set("[a-z0-9é]{1,6}", 0..36)
            .prop_map(|set| Words::parse(&Vec::from_iter(set).join(" ")).expect("sorted distinct words")),
    ]
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
        (wire::REVISION..=u8::MAX).prop_map(|revision| Message::Hello { revision }),
    ]
}

proptest! {
    #[test]
    fn encoded_messages_decode_to_themselves(msg in message()) {
        let bytes = wire::encode(&msg);
        prop_assert!(bytes.len() <= wire::MAX_MESSAGE_LEN);
        // What one message carries: the entries that fit (the sender sends the others in further messages).
        let carried = match msg {
            Message::Announce { id, hops, mut entries } => {
                entries.truncate(wire::entries_that_fit(&entries, wire::MAX_ANNOUNCE_ENTRIES));
                Message::Announce { id, hops, entries }
            }
            Message::Results { query, mut entries } => {
                entries.truncate(wire::entries_that_fit(&entries, wire::MAX_RESULT_ENTRIES));
                Message::Results { query, entries }
            }
            other => other,
        };
        prop_assert_eq!(wire::decode(&bytes), Ok(carried));
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
            // Whatever decodes re-encodes within the limits, to a message that decodes to itself: what a peer
            // passes on is what it understood (names already sanitized stay as they are).
            let again = wire::encode(&m);
            prop_assert!(again.len() <= wire::MAX_MESSAGE_LEN);
            prop_assert_eq!(wire::decode(&again), Ok(m));
        }
    }
}

/// A name as a hostile peer might send it: any characters, with the invisible and reordering ones often.
fn hostile_name() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '\u{00ad}', '\u{061c}', '\u{180e}', '\u{200b}', '\u{200f}', '\u{2028}', '\u{202e}', '\u{2060}', '\u{2063}',
        '\u{2065}', '\u{2066}', '\u{206f}', '\u{feff}', '\u{fff9}', '\n', '\t', '/', '\\', '.', ' ', ':',
    ]);
    // At most 60 characters of at most 4 bytes: within the 255 bytes a name may have on the wire.
    prop::collection::vec(prop_oneof![any::<char>(), special], 1..60).prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    /// Search results and manifests show a remote name through the same sanitizer: a name from the network is
    /// what a manifest of the same name would carry, and would be accepted in one.
    #[test]
    fn names_in_search_results_are_sanitized_as_manifest_names(name in hostile_name()) {
        let content = ContentId([1; 32]);
        let sent = Entry { content, size: 1, name: name.clone(), media_type: String::new(), words: Words::none() };
        let msg = Message::Results { query: 1, entries: vec![sent] };
        let Ok(Message::Results { entries, .. }) = wire::decode(&wire::encode(&msg)) else {
            panic!("a non-empty name within the limits decodes");
        };
        let manifest = swarm::manifest::ManifestBuilder::new(&name, 0, "").expect("any name builds");
        prop_assert_eq!(&entries[0].name, &manifest.finish().expect("empty file").name().to_owned());
        prop_assert!(swarm::manifest::is_valid_name(&entries[0].name));
    }
}
