//! The discovery wire protocol: announcements, queries and results between neighbours of a discovery network,
//! one message per data-channel message on the channel labelled `discovery`. Specified in docs/PROTOCOL.md
//! section 4.
//!
//! All integers are big-endian. Strings are UTF-8 with a one-byte length prefix.

pub use crate::codec::DecodeError;
use crate::codec::{Reader, split_message};
use crate::id::ContentId;
use crate::manifest::sanitize_name;

/// Largest discovery message, in bytes: 32 results of the largest entry fit.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;
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
const TAG_QUERY: u8 = 0x02;
const TAG_RESULTS: u8 = 0x03;
const TAG_WITHDRAW: u8 = 0x04;

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
}

/// Encodes one message. Entries beyond the per-message caps and over-long strings are cut, so the result always
/// decodes.
pub fn encode(msg: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    match msg {
        Message::Announce { id, hops, entries } => {
            out.push(TAG_ANNOUNCE);
            out.extend_from_slice(&id.to_be_bytes());
            out.push((*hops).min(MAX_HOPS));
            put_entries(&mut out, entries, MAX_ANNOUNCE_ENTRIES);
        }
        Message::Query { id, hops, text } => {
            out.push(TAG_QUERY);
            out.extend_from_slice(&id.to_be_bytes());
            out.push((*hops).min(MAX_HOPS));
            put_str(&mut out, text, MAX_QUERY_LEN);
        }
        Message::Results { query, entries } => {
            out.push(TAG_RESULTS);
            out.extend_from_slice(&query.to_be_bytes());
            put_entries(&mut out, entries, MAX_RESULT_ENTRIES);
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
    }
    out
}

fn put_entries(out: &mut Vec<u8>, entries: &[Entry], cap: usize) {
    let n = entries.len().min(cap);
    out.push(n as u8);
    for e in &entries[..n] {
        out.extend_from_slice(e.content.as_bytes());
        out.extend_from_slice(&e.size.to_be_bytes());
        put_str(out, &e.name, MAX_NAME_LEN);
        put_str(out, &e.media_type, MAX_MEDIA_TYPE_LEN);
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
        TAG_ANNOUNCE => {
            let id = r.u64()?;
            let hops = hops(&mut r)?;
            let entries = entries(&mut r, MAX_ANNOUNCE_ENTRIES)?;
            Message::Announce { id, hops, entries }
        }
        TAG_QUERY => {
            let id = r.u64()?;
            let hops = hops(&mut r)?;
            let text = string(&mut r, MAX_QUERY_LEN, "query text")?;
            Message::Query { id, hops, text }
        }
        TAG_RESULTS => {
            let query = r.u64()?;
            let entries = entries(&mut r, MAX_RESULT_ENTRIES)?;
            Message::Results { query, entries }
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

/// A count of at most `cap` entries, then the entries; names are sanitized, media types printable ASCII.
fn entries(r: &mut Reader<'_>, cap: usize) -> Result<Vec<Entry>, DecodeError> {
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
        entries.push(Entry { content: ContentId(id), size, name, media_type });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Entry {
        Entry { content: ContentId([7; 32]), size: 1234, name: name.into(), media_type: "video/mp4".into() }
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

    #[test]
    fn encode_cuts_what_decode_would_refuse() {
        let long = "é".repeat(200);
        let msg = Message::Query { id: 1, hops: 99, text: long };
        let Ok(Message::Query { hops, text, .. }) = decode(&encode(&msg)) else { panic!("decodes") };
        assert_eq!(hops, MAX_HOPS);
        assert_eq!(text.len(), 128);
    }
}
