//! PROTOCOL.md 1.4: the examples of the name sanitizer, read from the document, hold for the code; and the long-
//! name rule of step 5 on names built here (too long to write in the document).

mod spec;

use swarm::manifest::{is_valid_name, sanitize_name};

/// The example rows of section 1.4: `| `"input"` | `"name"` |`, JSON strings (a `|` inside is written `\|`).
fn examples() -> Vec<(String, String)> {
    let parse = |s: &str| serde_json::from_str::<String>(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    spec::code_rows(spec::section("### 1.4 File names"))
        .into_iter()
        .filter_map(|row| <[String; 2]>::try_from(row).ok().map(|[input, name]| (parse(&input), parse(&name))))
        .collect()
}

#[test]
fn the_examples_of_the_spec_hold() {
    let rows = examples();
    assert!(rows.len() >= 10, "the examples of 1.4 were not found: {} rows", rows.len());
    for (input, name) in rows {
        assert_eq!(sanitize_name(&input), name, "sanitizing {input:?}");
        assert!(is_valid_name(&name), "{name:?} is not valid");
    }
}

#[test]
fn a_long_name_is_cut_on_a_character_boundary_keeping_a_short_extension() {
    // Step 5: 300 bytes of stem and a 3-byte extension: 252 bytes of stem are kept, then the extension.
    let long = format!("{}.tar.gz", "x".repeat(300));
    assert_eq!(sanitize_name(&long), format!("{}.gz", "x".repeat(252)));
    // A 2-byte character straddling the cut is dropped whole, not split.
    let accented = format!("{}.txt", "é".repeat(200));
    let cut = sanitize_name(&accented);
    assert_eq!(cut, format!("{}.txt", "é".repeat(125)), "{} bytes", cut.len());
    // An extension over 16 bytes is not kept: the name is cut like any other.
    let long_ext = format!("{}.{}", "y".repeat(300), "e".repeat(16));
    assert_eq!(sanitize_name(&long_ext), "y".repeat(255));
    // White_Space at the cut is removed before the extension is put back.
    let spaced = format!("{}  {}.md", "z".repeat(250), "w".repeat(10));
    assert_eq!(sanitize_name(&spaced), format!("{}.md", "z".repeat(250)));
}

/// The code points of `U+XXXX` and `U+XXXX..U+YYYY` in `text`, in order.
fn code_points(text: &str) -> Vec<char> {
    let hex = |s: &str| u32::from_str_radix(s.get(2..6).unwrap_or(""), 16).ok().and_then(char::from_u32);
    let mut out = Vec::new();
    for token in text.split([' ', ',', '(', ')', ':']).filter(|t| t.starts_with("U+")) {
        match token.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (hex(a).expect("a code point"), hex(b).expect("a code point"));
                out.extend((a as u32..=b as u32).filter_map(char::from_u32));
            }
            None => out.extend(hex(token)),
        }
    }
    out
}

#[test]
fn the_white_space_the_spec_lists_is_the_code_s() {
    let section = spec::section("### 1.4 File names");
    let step = section.split("\n4. ").nth(1).and_then(|s| s.split("\n5. ").next()).expect("step 4 of 1.4");
    let listed = code_points(step);
    let code: Vec<char> = (0..=char::MAX as u32).filter_map(char::from_u32).filter(|c| c.is_whitespace()).collect();
    assert_eq!(listed, code);
}
