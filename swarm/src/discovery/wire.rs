//! The discovery wire protocol: announcements, queries and results between neighbours of a discovery network,
//! one message per data-channel message on the channel labelled `discovery`. Specified in docs/PROTOCOL.md
//! section 4.
//!
//! All integers are big-endian. Strings are UTF-8 with a one-byte length prefix, an entry's words with a two-byte
//! one.
//!
//! Two forms of Announce and Results: the first (revision 1) without words, and the words form (revision 2, tags
//! `0x06` and `0x07`) whose entries carry a folder share's inner words. A peer sends the words form only to a
//! neighbour whose Hello (`0x05`) said it reads it, and only when some entry has words, so every message has one
//! encoding and a single file's entry travels as it always did.

pub use crate::codec::DecodeError;
use crate::codec::{Reader, split_message};
use crate::id::ContentId;
use crate::manifest::sanitize_name;

pub use super::words::Words;

/// Largest discovery message, in bytes: 32 entries without words of the largest size fit (13,579 bytes); entries
/// with words are sent in as many messages as they need ([`entries_that_fit`]).
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;
/// The discovery revision this peer speaks, which its Hello says: 2 reads and sends the words forms.
pub const REVISION: u8 = 2;
/// Most entries in one announcement.
pub const MAX_ANNOUNCE_ENTRIES: usize = 32;
/// Most entries in one results message.
pub const MAX_RESULT_ENTRIES: usize = 32;
/// Longest query text, in bytes.
pub const MAX_QUERY_LEN: usize = 128;
/// Longest name in an entry, in bytes: the manifest's limit.
pub const MAX_NAME_LEN: usize = crate::manifest::MAX_NAME_LEN;
/// Longest media type in an entry, in bytes.
pub const MAX_MEDIA_TYPE_LEN: usize = 127;
/// Largest hop count a message may carry; larger values are refused, so no sender can flood the whole network.
pub const MAX_HOPS: u8 = 6;

pub(crate) const TAG_ANNOUNCE: u8 = 0x01;
pub(crate) const TAG_QUERY: u8 = 0x02;
pub(crate) const TAG_RESULTS: u8 = 0x03;
const TAG_WITHDRAW: u8 = 0x04;
pub(crate) const TAG_HELLO: u8 = 0x05;
pub(crate) const TAG_ANNOUNCE_WORDS: u8 = 0x06;
pub(crate) const TAG_RESULTS_WORDS: u8 = 0x07;

/// Bytes before the entries of an Announce (type, id, hops, count); a Results has one fewer.
const ENTRIES_HEADER_LEN: usize = 11;

/// Most content ids in one withdrawal.
pub const MAX_WITHDRAW_CONTENTS: usize = 32;

/// What a peer tells others about one file it can share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub content: ContentId,
    pub size: u64,
    /// When it came from the network: already sanitized as a manifest's name is ([`sanitize_name`]), so it shows
    /// what the file would be saved as, with no invisible or reordering character.
    pub name: String,
    pub media_type: String,
    /// A folder share's inner folder and file names' words, which a search matches besides the name; none for a
    /// single file, and none when heard in the first form.
    pub words: Words,
}

impl Entry {
    /// Its length in the words form, at most: what [`entries_that_fit`] counts.
    fn encoded_len(&self) -> usize {
        32 + 8
            + 1
            + self.name.len().min(MAX_NAME_LEN)
            + 1
            + self.media_type.len().min(MAX_MEDIA_TYPE_LEN)
            + 2
            + self.words.as_str().len()
    }
}

/// One discovery message. `hops` is how many more times the message may be forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// "These are files I, or a peer near me, can share." Deduplicated by `id`.
    Announce { id: u64, hops: u8, entries: Vec<Entry> },
    /// "Who has a file whose name matches these words?" Deduplicated by `id`; results travel back along the path.
    Query { id: u64, hops: u8, text: String },
    /// Matches for query `query`, sent back toward whoever asked.
    Results { query: u64, entries: Vec<Entry> },
    /// "These files are no longer shared by me, or by a peer near me": an unlisted or stopped share leaves its
    /// neighbours' heard caches now, not when their entries expire. Deduplicated by `id`, forwarded like Announce.
    Withdraw { id: u64, hops: u8, contents: Vec<ContentId> },
    /// "I speak discovery revision `revision`" (at least 2): sent first on every discovery channel, so the other
    /// side knows it may send this peer the words forms. Not passed on.
    Hello { revision: u8 },
}

impl Message {
    /// The same message for a neighbour that does not read words (no Hello of revision 2 from it): its entries
    /// without words, so it goes in the first form. `None` when it has no entry with words (it is already so).
    pub fn without_words(&self) -> Option<Message> {
        let strip = |entries: &[Entry]| -> Option<Vec<Entry>> {
            entries
                .iter()
                .any(|e| !e.words.is_empty())
                .then(|| entries.iter().map(|e| Entry { words: Words::none(), ..e.clone() }).collect())
        };
        match self {
            Message::Announce { id, hops, entries } => {
                strip(entries).map(|entries| Message::Announce { id: *id, hops: *hops, entries })
            }
            Message::Results { query, entries } => {
                strip(entries).map(|entries| Message::Results { query: *query, entries })
            }
            Message::Query { .. } | Message::Withdraw { .. } | Message::Hello { .. } => None,
        }
    }
}

/// How many of `entries`, from the first, one Announce or Results carries: at most `cap`, and as many as fit in
/// [`MAX_MESSAGE_LEN`] in the words form (at least one: the largest entry fits alone). A sender of more sends the
/// rest in further messages.
pub fn entries_that_fit(entries: &[Entry], cap: usize) -> usize {
    let mut len = ENTRIES_HEADER_LEN;
    let n = entries
        .iter()
        .take(cap)
        .take_while(|e| {
            len += e.encoded_len();
            len <= MAX_MESSAGE_LEN
        })
        .count();
    n.max(1).min(entries.len())
}

/// Encodes one message. Entries beyond the per-message caps or beyond [`MAX_MESSAGE_LEN`] and over-long strings
/// are cut, so the result always decodes. Announce and Results take the words form when an entry they carry has
/// words.
pub fn encode(msg: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    match msg {
        Message::Announce { id, hops, entries } => {
            let (entries, words) = carried(entries, MAX_ANNOUNCE_ENTRIES);
            out.push(if words { TAG_ANNOUNCE_WORDS } else { TAG_ANNOUNCE });
            out.extend_from_slice(&id.to_be_bytes());
            out.push((*hops).min(MAX_HOPS));
            put_entries(&mut out, entries, words);
        }
        Message::Query { id, hops, text } => {
            out.push(TAG_QUERY);
            out.extend_from_slice(&id.to_be_bytes());
            out.push((*hops).min(MAX_HOPS));
            put_str(&mut out, text, MAX_QUERY_LEN);
        }
        Message::Results { query, entries } => {
            let (entries, words) = carried(entries, MAX_RESULT_ENTRIES);
            out.push(if words { TAG_RESULTS_WORDS } else { TAG_RESULTS });
            out.extend_from_slice(&query.to_be_bytes());
            put_entries(&mut out, entries, words);
        }
        Message::Withdraw { id, hops, contents } => {
            out.push(TAG_WITHDRAW);
            out.extend_from_slice(&id.to_be_bytes());
            out.push((*hops).min(MAX_HOPS));
            let n = contents.len().min(MAX_WITHDRAW_CONTENTS);
            out.push(n as u8);
            for c in &contents[..n] {
                out.extend_from_slice(c.as_bytes());
            }
        }
        Message::Hello { revision } => {
            out.push(TAG_HELLO);
            out.push((*revision).max(REVISION));
        }
    }
    out
}

/// The entries one message carries ([`entries_that_fit`]), and whether it takes the words form.
fn carried(entries: &[Entry], cap: usize) -> (&[Entry], bool) {
    let entries = &entries[..entries_that_fit(entries, cap)];
    (entries, entries.iter().any(|e| !e.words.is_empty()))
}

fn put_entries(out: &mut Vec<u8>, entries: &[Entry], words: bool) {
    out.push(entries.len() as u8);
    for e in entries {
        out.extend_from_slice(e.content.as_bytes());
        out.extend_from_slice(&e.size.to_be_bytes());
        put_str(out, &e.name, MAX_NAME_LEN);
        put_str(out, &e.media_type, MAX_MEDIA_TYPE_LEN);
        if words {
            // At most MAX_WORDS_LEN bytes by construction of `Words`.
            let text = e.words.as_str().as_bytes();
            out.extend_from_slice(&(text.len() as u16).to_be_bytes());
            out.extend_from_slice(text);
        }
    }
}

/// Writes a length-prefixed string cut to `max` bytes on a char boundary.
fn put_str(out: &mut Vec<u8>, s: &str, max: usize) {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&s.as_bytes()[..end]);
}

/// Parses one message with every limit checked. Never panics. Names are sanitized on the way in, by the manifest's
/// sanitizer: one set of characters is stripped from every name a peer shows.
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    let (tag, mut r) = split_message(bytes, MAX_MESSAGE_LEN)?;
    let msg = match tag {
        TAG_ANNOUNCE | TAG_ANNOUNCE_WORDS => {
            let id = r.u64()?;
            let hops = hops(&mut r)?;
            let entries = entries(&mut r, MAX_ANNOUNCE_ENTRIES, tag == TAG_ANNOUNCE_WORDS)?;
            Message::Announce { id, hops, entries }
        }
        TAG_QUERY => {
            let id = r.u64()?;
            let hops = hops(&mut r)?;
            let text = string(&mut r, MAX_QUERY_LEN, "query text")?;
            Message::Query { id, hops, text }
        }
        TAG_RESULTS | TAG_RESULTS_WORDS => {
            let query = r.u64()?;
            let entries = entries(&mut r, MAX_RESULT_ENTRIES, tag == TAG_RESULTS_WORDS)?;
            Message::Results { query, entries }
        }
        TAG_HELLO => {
            let revision = r.u8()?;
            if revision < REVISION {
                return Err(DecodeError::Invalid("revision"));
            }
            Message::Hello { revision }
        }
        TAG_WITHDRAW => {
            let id = r.u64()?;
            let hops = hops(&mut r)?;
            let n = r.u8()? as usize;
            if n > MAX_WITHDRAW_CONTENTS {
                return Err(DecodeError::Invalid("withdrawal count"));
            }
            let contents = (0..n).map(|_| r.array::<32>().map(ContentId)).collect::<Result<Vec<_>, _>>()?;
            Message::Withdraw { id, hops, contents }
        }
        other => return Err(DecodeError::UnknownType(other)),
    };
    r.finish()?;
    Ok(msg)
}

/// A hop count: at most [`MAX_HOPS`].
fn hops(r: &mut Reader<'_>) -> Result<u8, DecodeError> {
    let h = r.u8()?;
    if h > MAX_HOPS { Err(DecodeError::Invalid("hops")) } else { Ok(h) }
}

/// A length-prefixed UTF-8 string of at most `max` bytes; `what` names it in the error.
fn string(r: &mut Reader<'_>, max: usize, what: &'static str) -> Result<String, DecodeError> {
    let len = r.u8()? as usize;
    if len > max {
        return Err(DecodeError::Invalid(what));
    }
    let raw = r.bytes(len)?;
    core::str::from_utf8(raw).map(str::to_owned).map_err(|_| DecodeError::Invalid(what))
}

/// A count of at most `cap` entries, then the entries; names are sanitized, media types printable ASCII. In the
/// words form (`words`) each entry ends with its words ([`Words::parse`]), and some entry must have words: one
/// with none would have been sent in the first form.
fn entries(r: &mut Reader<'_>, cap: usize, words: bool) -> Result<Vec<Entry>, DecodeError> {
    let n = r.u8()? as usize;
    if n > cap {
        return Err(DecodeError::Invalid("entry count"));
    }
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.array::<32>()?;
        let size = r.u64()?;
        let raw = string(r, MAX_NAME_LEN, "name")?;
        if raw.is_empty() {
            return Err(DecodeError::Invalid("name"));
        }
        let name = sanitize_name(&raw);
        let media_type = string(r, MAX_MEDIA_TYPE_LEN, "media type")?;
        if !media_type.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DecodeError::Invalid("media type"));
        }
        let words = if words { entry_words(r)? } else { Words::none() };
        entries.push(Entry { content: ContentId(id), size, name, media_type, words });
    }
    if words && entries.iter().all(|e| e.words.is_empty()) {
        return Err(DecodeError::Invalid("words form without words"));
    }
    Ok(entries)
}

/// An entry's words: a two-byte length of at most [`super::words::MAX_WORDS_LEN`], then the words.
fn entry_words(r: &mut Reader<'_>) -> Result<Words, DecodeError> {
    let len = r.u16()? as usize;
    if len > super::words::MAX_WORDS_LEN {
        return Err(DecodeError::Invalid("words length"));
    }
    let raw = r.bytes(len)?;
    let text = core::str::from_utf8(raw).map_err(|_| DecodeError::Invalid("word"))?;
    Words::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Entry {
        Entry {
            content: ContentId([7; 32]),
            size: 1234,
            name: name.into(),
            media_type: "video/mp4".into(),
            words: Words::none(),
        }
    }

    #[test]
    fn every_message_round_trips() {
        for msg in [
            Message::Announce { id: 1, hops: 2, entries: vec![entry("a.mp4"), entry("b.txt")] },
            Message::Query { id: u64::MAX, hops: 0, text: "holiday video".into() },
            Message::Results { query: 9, entries: vec![entry("holiday-video.mp4")] },
            Message::Withdraw { id: 3, hops: 1, contents: vec![ContentId([1; 32]), ContentId([2; 32])] },
            Message::Withdraw { id: 4, hops: 0, contents: vec![] },
        ] {
            assert_eq!(decode(&encode(&msg)), Ok(msg));
        }
    }

    #[test]
    fn names_are_sanitized_on_decode() {
        let msg = Message::Results { query: 1, entries: vec![entry("../evil\u{202e}4pm.exe\n\tname")] };
        let Ok(Message::Results { entries, .. }) = decode(&encode(&msg)) else { panic!("decodes") };
        assert_eq!(entries[0].name, "evil4pm.exename");
    }

    #[test]
    fn invisible_format_characters_are_stripped_from_names_as_from_manifest_names() {
        let invisible = [
            '\u{2060}', '\u{2061}', '\u{2062}', '\u{2063}', '\u{2064}', '\u{2065}', '\u{00ad}', '\u{061c}', '\u{180e}',
        ];
        for c in invisible {
            let msg = Message::Announce { id: 1, hops: 0, entries: vec![entry(&format!("a{c}b.mp4"))] };
            let Ok(Message::Announce { entries, .. }) = decode(&encode(&msg)) else { panic!("decodes") };
            assert_eq!(entries[0].name, "ab.mp4", "{c:?}");
        }
    }

    #[test]
    fn an_empty_name_is_refused() {
        let msg = Message::Results { query: 1, entries: vec![entry("")] };
        assert_eq!(decode(&encode(&msg)), Err(DecodeError::Invalid("name")));
    }

    #[test]
    fn hop_counts_over_the_limit_are_refused() {
        let mut bytes = encode(&Message::Query { id: 1, hops: 1, text: "x".into() });
        bytes[9] = MAX_HOPS + 1;
        assert_eq!(decode(&bytes), Err(DecodeError::Invalid("hops")));
    }

    #[test]
    fn too_many_entries_are_refused() {
        let mut bytes = encode(&Message::Results { query: 1, entries: vec![] });
        bytes[9] = (MAX_RESULT_ENTRIES + 1) as u8;
        assert_eq!(decode(&bytes), Err(DecodeError::Invalid("entry count")));
    }

    #[test]
    fn empty_oversized_unknown_cut_and_overlong_messages_are_refused() {
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        let big = vec![TAG_QUERY; MAX_MESSAGE_LEN + 1];
        assert_eq!(decode(&big), Err(DecodeError::TooLong(MAX_MESSAGE_LEN + 1)));
        assert_eq!(decode(&[0x7f]), Err(DecodeError::UnknownType(0x7f)));
        let mut bytes = encode(&Message::Query { id: 1, hops: 1, text: "x".into() });
        assert_eq!(decode(&bytes[..bytes.len() - 1]), Err(DecodeError::Truncated));
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(DecodeError::TrailingBytes));
    }

    fn folder(name: &str, words: &str) -> Entry {
        Entry { words: Words::parse(words).expect("valid words"), ..entry(name) }
    }

    #[test]
    fn the_words_forms_and_hello_round_trip() {
        let with_words = vec![folder("Holiday", "2024 beach jpg sunset"), entry("a.mp4")];
        for (msg, tag) in [
            (Message::Announce { id: 1, hops: 1, entries: with_words.clone() }, TAG_ANNOUNCE_WORDS),
            (Message::Results { query: 2, entries: with_words.clone() }, TAG_RESULTS_WORDS),
            (Message::Announce { id: 1, hops: 1, entries: vec![entry("a.mp4")] }, TAG_ANNOUNCE),
            (Message::Results { query: 2, entries: vec![entry("a.mp4")] }, TAG_RESULTS),
            (Message::Hello { revision: REVISION }, TAG_HELLO),
            (Message::Hello { revision: u8::MAX }, TAG_HELLO),
        ] {
            let bytes = encode(&msg);
            assert_eq!(bytes[0], tag, "{msg:?}");
            assert_eq!(decode(&bytes), Ok(msg));
        }
        // Without words, for a neighbour of revision 1: the first form, the same entries with none.
        let msg = Message::Results { query: 2, entries: with_words };
        let Some(plain) = msg.without_words() else { panic!("it has words") };
        assert_eq!(encode(&plain)[0], TAG_RESULTS);
        let Ok(Message::Results { entries, .. }) = decode(&encode(&plain)) else { panic!("decodes") };
        assert!(entries.iter().all(|e| e.words.is_empty()) && entries[0].name == "Holiday");
    }

    /// `entry`'s words, in the words form of a Results of that one entry, replaced by `raw` (length and bytes).
    fn results_with_raw_words(raw: &[u8]) -> Vec<u8> {
        let mut bytes = encode(&Message::Results { query: 1, entries: vec![folder("f", "x")] });
        bytes.truncate(bytes.len() - 3);
        bytes.extend_from_slice(&(raw.len() as u16).to_be_bytes());
        bytes.extend_from_slice(raw);
        bytes
    }

    #[test]
    fn every_limit_of_the_words_form_is_refused_at_decode() {
        assert!(decode(&results_with_raw_words(b"beach sunset")).is_ok());
        let over = "a".repeat(super::super::words::MAX_WORDS_LEN + 1);
        assert_eq!(decode(&results_with_raw_words(over.as_bytes())), Err(DecodeError::Invalid("words length")));
        let mut many: Vec<String> = (0..super::super::words::MAX_WORDS).map(|i| format!("{i:03}")).collect();
        assert!(decode(&results_with_raw_words(many.join(" ").as_bytes())).is_ok());
        many[0] = "0".into();
        many.insert(0, "00".into());
        many.sort();
        assert_eq!(decode(&results_with_raw_words(many.join(" ").as_bytes())), Err(DecodeError::Invalid("word count")));
        for (raw, what) in [
            (&b"Beach"[..], "word"),
            (b"a\xffb", "word"),
            (&[b'a', 0xff], "word"),
            (b"beach-sunset", "word"),
            (b"beach  sunset", "word"),
            (b"sunset beach", "word order"),
            (b"beach beach", "word order"),
        ] {
            assert_eq!(decode(&results_with_raw_words(raw)), Err(DecodeError::Invalid(what)), "{raw:?}");
        }
        // A words length past the end of the message.
        let mut cut = results_with_raw_words(b"beach");
        cut.truncate(cut.len() - 1);
        assert_eq!(decode(&cut), Err(DecodeError::Truncated));
        // The words form with no words at all would have been the first form.
        assert_eq!(decode(&results_with_raw_words(b"")), Err(DecodeError::Invalid("words form without words")));
        assert_eq!(
            decode(&[TAG_RESULTS_WORDS, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Err(DecodeError::Invalid("words form without words"))
        );
        // A Hello of a revision under 2 says nothing a peer can act on.
        for revision in [0, 1] {
            assert_eq!(decode(&[TAG_HELLO, revision]), Err(DecodeError::Invalid("revision")));
        }
        assert_eq!(decode(&[TAG_HELLO]), Err(DecodeError::Truncated));
        assert_eq!(decode(&[TAG_HELLO, 2, 0]), Err(DecodeError::TrailingBytes));
    }

    #[test]
    fn entries_with_words_go_in_as_many_messages_as_they_need_each_within_the_limit() {
        // The largest entry: a full name, media type and words.
        let mut words: Vec<String> = (0..101).map(|i| format!("w{i:03}")).collect();
        words.push("zzzzzzz".into());
        let words = words.join(" ");
        assert_eq!(words.len(), super::super::words::MAX_WORDS_LEN);
        let big =
            Entry { name: "n".repeat(MAX_NAME_LEN), media_type: "m".repeat(MAX_MEDIA_TYPE_LEN), ..folder("x", &words) };
        let entries = vec![big; MAX_ANNOUNCE_ENTRIES];
        let n = entries_that_fit(&entries, MAX_ANNOUNCE_ENTRIES);
        assert_eq!(n, 17);
        let bytes = encode(&Message::Announce { id: 1, hops: 1, entries: entries.clone() });
        assert!(bytes.len() <= MAX_MESSAGE_LEN);
        let Ok(Message::Announce { entries: carried, .. }) = decode(&bytes) else { panic!("decodes") };
        assert_eq!(carried.len(), n);
        // Without words the same 32 fit in one message, as they always did.
        let plain: Vec<Entry> = entries.iter().map(|e| Entry { words: Words::none(), ..e.clone() }).collect();
        assert_eq!(entries_that_fit(&plain, MAX_ANNOUNCE_ENTRIES), MAX_ANNOUNCE_ENTRIES);
        assert!(encode(&Message::Announce { id: 1, hops: 1, entries: plain }).len() <= MAX_MESSAGE_LEN);
    }

    #[test]
    fn encode_cuts_what_decode_would_refuse() {
        let long = "é".repeat(200);
        let msg = Message::Query { id: 1, hops: 99, text: long };
        let Ok(Message::Query { hops, text, .. }) = decode(&encode(&msg)) else { panic!("decodes") };
        assert_eq!(hops, MAX_HOPS);
        assert_eq!(text.len(), 128);
    }
}
