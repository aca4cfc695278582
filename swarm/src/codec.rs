//! What the decoders of untrusted bytes share: [`Reader`], a cursor whose every read is checked, and
//! [`DecodeError`], the one error of the two message decoders (`wire::decode`, `discovery::wire::decode`).
//!
//! A message of either protocol is one type byte and a body: [`split_message`] checks the size limit and takes
//! the type byte, the decoder reads the body's fields with a [`Reader`], and [`Reader::finish`] refuses bytes
//! left over. `Manifest::decode` reads with the same [`Reader`] into its own `ManifestError`. Each error is built
//! from the reader's [`Truncated`] with `?`.

/// Why bytes are not a message (of the peer wire protocol or of discovery: the caller knows which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    /// Over the protocol's largest message (the length, in bytes).
    TooLong(usize),
    UnknownType(u8),
    Truncated,
    TrailingBytes,
    /// A field out of its allowed range (named).
    Invalid(&'static str),
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("empty message"),
            DecodeError::TooLong(n) => write!(f, "message of {n} bytes is over the protocol's limit"),
            DecodeError::UnknownType(t) => write!(f, "unknown message type {t:#04x}"),
            DecodeError::Truncated => f.write_str("truncated message"),
            DecodeError::TrailingBytes => f.write_str("bytes after the end of a message"),
            DecodeError::Invalid(what) => write!(f, "invalid message field: {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// The input ended before the field being read: the one way a [`Reader`] read fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Truncated;

impl From<Truncated> for DecodeError {
    fn from(_: Truncated) -> Self {
        DecodeError::Truncated
    }
}

/// Checks a message against its protocol's `max_len` (before anything else, so an oversized message is
/// `TooLong` whatever it holds), then splits off its type byte. Returns the type and a reader over the body.
pub(crate) fn split_message(bytes: &[u8], max_len: usize) -> Result<(u8, Reader<'_>), DecodeError> {
    if bytes.len() > max_len {
        return Err(DecodeError::TooLong(bytes.len()));
    }
    let (&ty, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    Ok((ty, Reader::new(body)))
}

/// A cursor over untrusted bytes: every read is checked and fails with [`Truncated`] when the input ends first.
/// Integers are big-endian. Reads borrow from the input: nothing is copied until a decoder decides to.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let (head, rest) = self.rest.split_first_chunk::<N>().ok_or(Truncated)?;
        self.rest = rest;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Truncated> {
        self.array::<1>().map(|[b]| b)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Truncated> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Truncated> {
        self.array().map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Truncated> {
        self.array().map(u64::from_be_bytes)
    }

    /// The next `n` bytes, borrowed.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let (head, rest) = self.rest.split_at_checked(n).ok_or(Truncated)?;
        self.rest = rest;
        Ok(head)
    }

    /// Everything left, borrowed.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// The end of a message: no byte may follow its last field.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() { Ok(()) } else { Err(DecodeError::TrailingBytes) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_past_the_end_is_truncated_and_consumes_nothing() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u32(), Err(Truncated));
        assert_eq!(r.bytes(4), Err(Truncated));
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.bytes(1), Ok(&[3][..]));
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(Truncated));
    }

    #[test]
    fn the_size_limit_is_checked_before_the_type() {
        assert_eq!(split_message(&[], 4).err(), Some(DecodeError::Empty));
        assert_eq!(split_message(&[0; 5], 4).err(), Some(DecodeError::TooLong(5)));
        let (ty, r) = split_message(&[7, 1], 4).expect("within the limit");
        assert_eq!(ty, 7);
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes));
    }
}
