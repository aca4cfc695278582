//! File names from remote manifests, made safe before they touch the file system.
//!
//! A manifest comes from a peer we do not trust. Its name is reduced to one plain file name: no directory part,
//! no `.`/`..`, no hidden-file dot in front, no control characters, at most 255 bytes; the result is joined to
//! the directory the user chose and never replaces an existing file unless `--force` was given.

use std::path::{Path, PathBuf};

/// Name used when nothing usable is left of the remote one.
pub const FALLBACK_NAME: &str = "download";
/// Longest file name most file systems accept, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// Reduces an untrusted name to a single safe path component.
pub fn sanitize(name: &str) -> String {
    // Keep only the last path segment, for either separator: `a/../b\c` is `c`.
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        out.push(c);
    }
    if out.is_empty() { FALLBACK_NAME.to_owned() } else { out }
}

/// Where a download named `remote_name` goes in `dir`. Refuses an existing file unless `force`.
pub fn destination(dir: &Path, remote_name: &str, force: bool) -> Result<PathBuf, String> {
    let path = dir.join(sanitize(remote_name));
    check_free(&path, force)?;
    Ok(path)
}

/// Refuses to overwrite `path` unless `force`. Anything at the name counts, a dangling symbolic link included
/// (`Path::exists` follows links and would call that name free). This is the early, friendly check; the one that
/// holds against a file appearing later is [`crate::safe_fs::place`].
pub fn check_free(path: &Path, force: bool) -> Result<(), String> {
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(format!("{} exists; pass --force to overwrite it", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_reduced_to_the_last_segment() {
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
        assert_eq!(sanitize("..\\..\\windows\\system.ini"), "system.ini");
        assert_eq!(sanitize("/abs/path/x.txt"), "x.txt");
    }

    #[test]
    fn dot_names_and_empty_names_fall_back() {
        for bad in ["", ".", "..", "a/..", "dir/", "   ", "\u{0}\u{1}"] {
            assert_eq!(sanitize(bad), FALLBACK_NAME, "{bad:?}");
        }
    }

    #[test]
    fn hidden_file_dot_and_control_characters_are_removed() {
        assert_eq!(sanitize(".bashrc"), "bashrc");
        assert_eq!(sanitize("a\nb\u{7}.txt"), "ab.txt");
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let long = "é".repeat(200);
        let s = sanitize(&long);
        assert!(s.len() <= 255);
        assert!(s.chars().all(|c| c == 'é'));
    }

    #[test]
    fn dangling_symlink_at_the_final_name_counts_as_taken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &path).unwrap();
        assert!(check_free(&path, false).is_err());
        assert!(check_free(&path, true).is_ok());
    }

    #[test]
    fn existing_file_is_not_overwritten_without_force() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"mine").unwrap();
        assert!(destination(dir.path(), "../a.txt", false).is_err());
        assert_eq!(destination(dir.path(), "../a.txt", true).unwrap(), dir.path().join("a.txt"));
        assert_eq!(destination(dir.path(), "b.txt", false).unwrap(), dir.path().join("b.txt"));
    }
}
