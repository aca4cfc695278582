//! A small JSON reader and writer, just enough for the signaling messages a peer reads and writes.
//!
//! Why not serde_json here: the browser downloads every byte of the peer, and serde's internally tagged enums
//! buffer each message into a generic tree whose code (with serde_json's and the float formatting its error
//! messages pull in) was about a third of the wasm module's gzip size. The serde derives stay on the message
//! types: the server and the tests use them, and the tests check this codec against them.
//!
//! The reader accepts exactly the JSON that serde_json accepts (RFC 8259: strings with escapes and paired
//! surrogates, no control characters, strict numbers, no trailing commas, nesting up to serde_json's limit), so a
//! frame is valid or not the same way on both paths. Values are first read as spans (a field name and where its
//! value is in the text), since the `type` that says what the other fields mean may come last.

use core::ops::Range;

/// serde_json's recursion limit: a value nested 128 containers deep is refused, 127 is read.
const MAX_DEPTH: usize = 128;

/// Where a value is in the frame, in bytes.
pub(super) type Span = Range<usize>;

/// Reads JSON values from one frame. Errors say what was expected and at which byte.
#[derive(Clone)]
pub(super) struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(text: &'a str) -> Reader<'a> {
        Reader { text, pos: 0 }
    }

    /// A reader of one value read before, with positions still counted from the frame's start.
    pub(super) fn at(&self, span: &Span) -> Reader<'a> {
        Reader { text: self.text.get(..span.end).unwrap_or(self.text), pos: span.start }
    }

    pub(super) fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.pos)
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.text.as_bytes().get(self.pos) {
            self.pos += 1;
        }
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), String> {
        if self.eat(byte) { Ok(()) } else { Err(self.error(what)) }
    }

    /// Nothing but whitespace is left.
    pub(super) fn end(&mut self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters after the message")),
        }
    }

    /// `null`, consumed if it is next.
    pub(super) fn null(&mut self) -> Result<bool, String> {
        if self.peek() == Some(b'n') {
            self.literal("null")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// An object at `depth` (1 for the message itself): its fields in order, each value checked to be well-formed
    /// JSON and located but not interpreted.
    pub(super) fn object(&mut self, depth: usize) -> Result<Vec<(String, Span)>, String> {
        self.enter(depth)?;
        self.expect(b'{', "expected an object")?;
        let mut fields = Vec::new();
        if self.eat(b'}') {
            return Ok(fields);
        }
        loop {
            let name = self.string()?;
            self.expect(b':', "expected `:` after a field name")?;
            self.peek();
            let start = self.pos;
            self.skip(depth + 1)?;
            fields.push((name, start..self.pos));
            if !self.eat(b',') {
                self.expect(b'}', "expected `,` or `}` in an object")?;
                return Ok(fields);
            }
        }
    }

    /// An array at `depth`, each item read by `item` (given the items' depth).
    pub(super) fn array(
        &mut self,
        depth: usize,
        item: &mut dyn FnMut(&mut Reader<'a>, usize) -> Result<(), String>,
    ) -> Result<(), String> {
        self.enter(depth)?;
        self.expect(b'[', "expected an array")?;
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            item(self, depth + 1)?;
            if !self.eat(b',') {
                return self.expect(b']', "expected `,` or `]` in an array");
            }
        }
    }

    fn enter(&self, depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH { Err(self.error("nested too deeply")) } else { Ok(()) }
    }

    /// Any value at `depth`, checked and passed over.
    fn skip(&mut self, depth: usize) -> Result<(), String> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.object(depth).map(drop),
            Some(b'[') => self.array(depth, &mut |r, d| r.skip(d)),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            _ => Err(self.error("expected a value")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        if self.text.as_bytes().get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    /// A number in JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`. Returns its text.
    fn number(&mut self) -> Result<&'a str, String> {
        self.peek();
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let digits = |pos: &mut usize| {
            let first = *pos;
            while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos > first
        };
        let mut pos = self.pos;
        if bytes.get(pos) == Some(&b'-') {
            pos += 1;
        }
        let ok = match bytes.get(pos) {
            Some(b'0') => {
                pos += 1;
                true
            }
            _ => digits(&mut pos),
        } && (bytes.get(pos) != Some(&b'.') || {
            pos += 1;
            digits(&mut pos)
        }) && (!matches!(bytes.get(pos), Some(b'e' | b'E')) || {
            pos += 1;
            if matches!(bytes.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            digits(&mut pos)
        });
        self.pos = pos;
        if !ok {
            return Err(self.error("invalid number"));
        }
        Ok(self.text.get(start..pos).unwrap_or_default())
    }

    /// A number that is an integer from 0 to 65535 (no sign, fraction or exponent, as serde reads a `u16`).
    pub(super) fn u16(&mut self) -> Result<u16, String> {
        if !matches!(self.peek(), Some(b'-' | b'0'..=b'9')) {
            return Err(self.error("expected an integer from 0 to 65535"));
        }
        let text = self.number()?;
        let mut value: u32 = 0;
        for digit in text.bytes() {
            if !digit.is_ascii_digit() || value > u32::from(u16::MAX) {
                return Err(self.error("expected an integer from 0 to 65535"));
            }
            value = value * 10 + u32::from(digit - b'0');
        }
        u16::try_from(value).map_err(|_| self.error("expected an integer from 0 to 65535"))
    }

    /// A string, unescaped.
    pub(super) fn string(&mut self) -> Result<String, String> {
        self.expect(b'"', "expected a string")?;
        let bytes = self.text.as_bytes();
        let mut out = String::new();
        loop {
            let start = self.pos;
            while bytes.get(self.pos).is_some_and(|&b| b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            // Cut at ASCII bytes only, so always at a character boundary.
            out.push_str(self.text.get(start..self.pos).unwrap_or_default());
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// The character of the escape after a `\`.
    fn escape(&mut self) -> Result<char, String> {
        let byte = self.text.as_bytes().get(self.pos).copied();
        self.pos += 1;
        Ok(match byte {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xd800..=0xdbff => {
                        if self.text.as_bytes().get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return Err(self.error("lone surrogate in a \\u escape"));
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(self.error("lone surrogate in a \\u escape"));
                        }
                        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => return Err(self.error("lone surrogate in a \\u escape")),
                    _ => unit,
                };
                char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))?
            }
            _ => return Err(self.error("invalid escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.text.as_bytes().get(self.pos).and_then(|&b| char::from(b).to_digit(16));
            value = value * 16 + digit.ok_or_else(|| self.error("invalid \\u escape"))?;
            self.pos += 1;
        }
        Ok(value)
    }
}

/// Writes `"text"` with JSON escapes, byte for byte as serde_json does (`\"`, `\\`, the short escapes of
/// control characters, `\u00xx` for the others; everything else as is).
pub(super) fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[(u32::from(c) >> 4) as usize]));
                out.push(char::from(HEX[(u32::from(c) & 0xf) as usize]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
