//! The words of a folder share that a search matches besides its name: the words of the folders and files inside
//! it (docs/PROTOCOL.md 4.2, Words). A single file has none: its name is all there is to match.
//!
//! Bounded by construction: at most [`MAX_WORDS`] words of at most [`MAX_WORD_LEN`] bytes, [`MAX_WORDS_LEN`] bytes
//! in all, so an entry heard from the network costs at most that much memory besides its name.

use super::words_unbounded;
use crate::codec::DecodeError;

/// Most words one entry carries.
pub const MAX_WORDS: usize = 128;
/// Longest word kept, in bytes: a longer one (a hash, a run of digits) is not what anyone types.
pub const MAX_WORD_LEN: usize = 32;
/// Most bytes of one entry's words, single spaces between them included: an entry with a full name, media type
/// and words (938 bytes on the wire) leaves room for 17 of them in a discovery message.
pub const MAX_WORDS_LEN: usize = 512;

/// The extra searchable words of one entry: distinct, each a lowercase run of letters and digits as a query's
/// words are ([`super::words`]), in increasing byte order, joined by single spaces (one allocation per entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Words(String);

impl Words {
    /// No words: a single file's entry.
    pub fn none() -> Words {
        Words(String::new())
    }

    /// The words of a folder share named `name` whose files have `paths` (components joined by `/`, in the
    /// manifest's order): first the folder names' words, path by path, then the file names' words, path by path;
    /// each once, and none the share's name has already (it matches them). A word over [`MAX_WORD_LEN`] bytes is
    /// left out, and so is one that would go over [`MAX_WORDS`] or [`MAX_WORDS_LEN`] (a shorter one after it may
    /// still fit), so the same tree always gives the same words.
    pub fn of_tree<'a>(name: &str, paths: impl IntoIterator<Item = &'a str> + Clone) -> Words {
        let mut seen = words_unbounded(name);
        seen.sort_unstable();
        let folders = paths.clone().into_iter().flat_map(|p| p.rsplit_once('/').map(|(dirs, _)| dirs.split('/')));
        let files = paths.into_iter().map(|p| p.rsplit_once('/').map_or(p, |(_, file)| file));
        let mut kept: Vec<String> = Vec::new();
        let mut len = 0;
        for component in folders.flatten().chain(files) {
            for word in words_unbounded(component) {
                let grown = len + word.len() + usize::from(len > 0);
                if word.len() > MAX_WORD_LEN || grown > MAX_WORDS_LEN {
                    continue;
                }
                let Err(at) = seen.binary_search(&word) else { continue };
                seen.insert(at, word.clone());
                kept.push(word);
                len = grown;
                if kept.len() == MAX_WORDS {
                    break;
                }
            }
            if kept.len() == MAX_WORDS {
                break;
            }
        }
        kept.sort_unstable();
        Words(kept.join(" "))
    }

    /// Parses words as they travel (4.2): empty, or words each of 1 to [`MAX_WORD_LEN`] bytes of lowercase
    /// letters and digits, in strictly increasing byte order (so distinct), single spaces between them, at most
    /// [`MAX_WORDS`] of them and [`MAX_WORDS_LEN`] bytes in all. Anything else is refused, naming what is wrong.
    pub fn parse(text: &str) -> Result<Words, DecodeError> {
        if text.len() > MAX_WORDS_LEN {
            return Err(DecodeError::Invalid("words length"));
        }
        if text.is_empty() {
            return Ok(Words::none());
        }
        let mut previous: Option<&str> = None;
        for (i, word) in text.split(' ').enumerate() {
            if i >= MAX_WORDS {
                return Err(DecodeError::Invalid("word count"));
            }
            let lowercase_alphanumeric = word.chars().all(|c| c.is_alphanumeric() && super::fold_case(c) == c);
            if word.is_empty() || word.len() > MAX_WORD_LEN || !lowercase_alphanumeric {
                return Err(DecodeError::Invalid("word"));
            }
            if previous.is_some_and(|p| p.as_bytes() >= word.as_bytes()) {
                return Err(DecodeError::Invalid("word order"));
            }
            previous = Some(word);
        }
        Ok(Words(text.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The words joined by single spaces, as they travel.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').filter(|w| !w.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_gives_folder_words_then_file_words_each_once_without_the_shares_name() {
        let paths = ["2024/Beach Day/sunset.JPG", "2024/notes.txt", "Photos/beach.jpg"];
        let words = Words::of_tree("Photos", paths);
        assert_eq!(words.as_str(), "2024 beach day jpg notes sunset txt");
    }

    #[test]
    fn folder_words_are_kept_before_file_words_when_they_do_not_all_fit() {
        // Files sorted before the folder's path still give way to its folder's words.
        let mut paths: Vec<String> = (0..200).map(|i| format!("a/file{i:03}.bin")).collect();
        paths.push("zz/deepfolder/x.bin".into());
        let words = Words::of_tree("share", paths.iter().map(String::as_str));
        let list: Vec<&str> = words.iter().collect();
        assert!(list.contains(&"deepfolder") && list.contains(&"zz") && list.contains(&"a"), "{list:?}");
        assert!(words.as_str().len() <= MAX_WORDS_LEN && list.len() <= MAX_WORDS);
        // The first file names in manifest order are kept, the last left out.
        assert!(list.contains(&"file000") && !list.contains(&"file199"));
        assert_eq!(Words::parse(words.as_str()), Ok(words.clone()));
    }

    #[test]
    fn long_words_are_left_out_and_a_single_file_has_no_words() {
        let long = "x".repeat(MAX_WORD_LEN + 1);
        let path = format!("{long}/ok.txt");
        assert_eq!(Words::of_tree("share", [path.as_str()]).as_str(), "ok txt");
        assert!(Words::of_tree("a.txt", ["a.txt"]).is_empty());
    }

    #[test]
    fn every_limit_is_refused_when_parsed() {
        let refused = |text: &str| Words::parse(text).err();
        assert_eq!(refused(&"a".repeat(MAX_WORDS_LEN + 1)), Some(DecodeError::Invalid("words length")));
        // Words of one and two characters: one over the count within the length.
        let chars = "0123456789abcdefghijklmnopqrstuvwxyz";
        let mut many: Vec<String> = chars.chars().map(String::from).collect();
        many.extend(chars.chars().flat_map(|a| chars.chars().map(move |b| format!("{a}{b}"))));
        many.sort();
        many.truncate(MAX_WORDS + 1);
        assert!(many.join(" ").len() <= MAX_WORDS_LEN);
        assert_eq!(refused(&many.join(" ")), Some(DecodeError::Invalid("word count")));
        assert_eq!(refused(&"a".repeat(MAX_WORD_LEN + 1)), Some(DecodeError::Invalid("word")));
        for bad in ["Beach", "a  b", " a", "a ", "a-b", "a\u{200b}"] {
            assert_eq!(refused(bad), Some(DecodeError::Invalid("word")), "{bad:?}");
        }
        assert_eq!(refused("b a"), Some(DecodeError::Invalid("word order")));
        assert_eq!(refused("a a"), Some(DecodeError::Invalid("word order")));
        assert_eq!(Words::parse("").map(|w| w.is_empty()), Ok(true));
        let full: Vec<String> = (0..MAX_WORDS).map(|i| format!("{i:03}")).collect();
        assert!(Words::parse(&full.join(" ")).is_ok());
        assert!(Words::parse(&"a".repeat(MAX_WORD_LEN)).is_ok());
    }
}
