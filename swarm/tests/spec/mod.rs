//! Reading docs/PROTOCOL.md in the tests that check its tables and vectors against the code: a section by its
//! heading, the rows of its tables of code spans, and hex. Each test file has `mod spec;` and uses a part of it.
#![allow(dead_code)]

pub const PROTOCOL: &str = include_str!("../../../docs/PROTOCOL.md");

/// The text of the section whose heading starts with `heading` (`### 1.5 Media types`), up to the next heading
/// of the same level or above (or the end of the document).
pub fn section(heading: &str) -> &'static str {
    let start = PROTOCOL.find(heading).unwrap_or_else(|| panic!("PROTOCOL.md has no {heading:?}"));
    let level = heading.split(' ').next().unwrap_or("###");
    let rest = &PROTOCOL[start + heading.len()..];
    let end = (1..=level.len()).filter_map(|n| rest.find(&format!("\n{} ", "#".repeat(n)))).min().unwrap_or(rest.len());
    &rest[..end]
}

/// The rows of `text`'s tables whose cells are all code spans (`` | `a` | `b` | ``): each row's cells without
/// their backticks, a `\|` inside a cell read as `|`. Header and separator rows are not code spans, so they are
/// skipped.
pub fn code_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter_map(|line| {
            let inner = line.strip_prefix("| `")?.strip_suffix("` |")?;
            Some(inner.split("` | `").map(|cell| cell.replace("\\|", "|")).collect())
        })
        .collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex: {text}");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}
