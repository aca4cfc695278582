//! The files a content lives in, read and written in place with positional IO: never whole in memory. One file,
//! or a tree's files as one piece stream (PROTOCOL.md 1.8): a read or write that spans files is split at their
//! boundaries.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use swarm::manifest::Manifest;

use crate::safe_fs::{create_dir_no_follow, open_no_follow};

/// One file, or a tree's files, opened for positional reads (and writes, for a download).
#[derive(Debug)]
pub struct Storage {
    /// In stream order; empty files have no segment.
    segments: Vec<Segment>,
    size: u64,
}

#[derive(Debug)]
struct Segment {
    file: File,
    /// Where the file starts in the stream.
    offset: u64,
    size: u64,
}

impl Storage {
    /// Opens a complete file to serve from.
    pub fn open_read(path: &Path) -> io::Result<Storage> {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        Ok(Storage::one(file, size))
    }

    /// Opens the files of a tree shared from the directory `root`, each checked to have the size it was hashed
    /// with. A symbolic link in the way is an error, not followed.
    pub fn open_tree_read(root: &Path, manifest: &Manifest) -> io::Result<Storage> {
        let mut segments = Vec::new();
        for entry in manifest.files() {
            let path = tree_path(root, entry.path());
            let file = open_no_follow(&path, OpenOptions::new().read(true))?;
            if file.metadata()?.len() != entry.size() {
                let why = format!("{} changed size since it was hashed", path.display());
                return Err(io::Error::new(io::ErrorKind::InvalidData, why));
            }
            if entry.size() > 0 {
                segments.push(Segment { file, offset: entry.offset(), size: entry.size() });
            }
        }
        Ok(Storage { segments, size: manifest.size() })
    }

    /// Opens or creates a download's partial file and sets its length to `size` (sparse where the filesystem
    /// allows), keeping whatever bytes an earlier run wrote. A symbolic link at `path` is an error, not followed.
    pub fn open_partial(path: &Path, size: u64) -> io::Result<Storage> {
        let file = open_no_follow(path, OpenOptions::new().read(true).write(true).create(true).truncate(false))?;
        if file.metadata()?.len() != size {
            file.set_len(size)?;
        }
        Ok(Storage::one(file, size))
    }

    /// Opens or creates a tree's partial directory `dir` and every file in it at its size, keeping what an earlier
    /// run wrote. Folders are created inside `dir` only (a path's components are valid file names, never `..`), and
    /// a symbolic link met on the way, at a folder or a file, is an error, not followed: nothing is written outside
    /// `dir`.
    pub fn open_tree_partial(dir: &Path, manifest: &Manifest) -> io::Result<Storage> {
        create_dir_no_follow(dir)?;
        let mut segments = Vec::new();
        for entry in manifest.files() {
            let mut folder = dir.to_owned();
            let components: Vec<&str> = entry.components().collect();
            for component in &components[..components.len().saturating_sub(1)] {
                folder.push(component);
                create_dir_no_follow(&folder)?;
            }
            let path = tree_path(dir, entry.path());
            let options = OpenOptions::new().read(true).write(true).create(true).truncate(false).clone();
            let file = open_no_follow(&path, &mut options.clone())?;
            if file.metadata()?.len() != entry.size() {
                file.set_len(entry.size())?;
            }
            if entry.size() > 0 {
                segments.push(Segment { file, offset: entry.offset(), size: entry.size() });
            }
        }
        Ok(Storage { segments, size: manifest.size() })
    }

    fn one(file: File, size: u64) -> Storage {
        Storage { segments: vec![Segment { file, offset: 0, size }], size }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads `len` bytes at `offset` into a new buffer after `headroom` zero bytes (the swarm writes a block header
    /// there, so the block is sent without another copy).
    pub fn read(&self, offset: u64, len: u32, headroom: usize) -> io::Result<Vec<u8>> {
        let end = offset.checked_add(u64::from(len)).filter(|&end| end <= self.size);
        if end.is_none() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "read past the end of the file"));
        }
        let mut buf = vec![0u8; headroom + len as usize];
        self.each(offset, len as usize, |segment, at, range| {
            segment.file.read_exact_at(&mut buf[headroom..][range], at)
        })?;
        Ok(buf)
    }

    /// Writes `data` at `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let end = offset.checked_add(data.len() as u64).filter(|&end| end <= self.size);
        if end.is_none() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "write past the end of the file"));
        }
        self.each(offset, data.len(), |segment, at, range| segment.file.write_all_at(&data[range], at))
    }

    /// Calls `f(segment, offset in its file, range of the buffer)` for each segment that `len` bytes at stream
    /// `offset` (within the size: checked by the callers) cover, in order.
    fn each(
        &self,
        offset: u64,
        len: usize,
        mut f: impl FnMut(&Segment, u64, std::ops::Range<usize>) -> io::Result<()>,
    ) -> io::Result<()> {
        let end = offset + len as u64;
        let first = self.segments.partition_point(|s| s.offset + s.size <= offset);
        for segment in self.segments[first..].iter().take_while(|s| s.offset < end) {
            let from = offset.max(segment.offset);
            let to = end.min(segment.offset + segment.size);
            let range = (from - offset) as usize..(to - offset) as usize;
            f(segment, from - segment.offset, range)?;
        }
        Ok(())
    }

    /// Flushes written data to the disk, so a state file that says a piece is here is not ahead of the data.
    pub fn sync(&self) -> io::Result<()> {
        self.segments.iter().try_for_each(|s| s.file.sync_data())
    }
}

/// Where a tree's file `path` (components joined by `/`, each a valid file name) lives under `root`.
pub fn tree_path(root: &Path, path: &str) -> PathBuf {
    let mut full = root.to_owned();
    full.extend(path.split('/'));
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_returns_data_after_headroom() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let s = Storage::open_read(&path).unwrap();
        assert_eq!(s.read(2, 3, 4).unwrap(), [0, 0, 0, 0, b'2', b'3', b'4']);
    }

    #[test]
    fn read_past_end_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123").unwrap();
        let s = Storage::open_read(&path).unwrap();
        assert!(s.read(2, 3, 0).is_err());
        assert!(s.read(u64::MAX, 1, 0).is_err());
    }

    #[test]
    fn partial_file_keeps_earlier_writes_when_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.part");
        Storage::open_partial(&path, 8).unwrap().write(4, b"abcd").unwrap();
        let s = Storage::open_partial(&path, 8).unwrap();
        assert_eq!(s.read(4, 4, 0).unwrap(), b"abcd");
    }

    #[test]
    fn symlink_at_the_partial_path_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, b"not yours").unwrap();
        let path = dir.path().join("f.part");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = Storage::open_partial(&path, 4).map(|s| s.write(0, b"evil")).unwrap_err();
        assert_eq!(std::fs::read(&target).unwrap(), b"not yours");
        let text = err.to_string();
        assert!(text.contains("f.part") && text.contains("symbolic link"), "{text}");
    }

    #[test]
    fn write_past_end_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open_partial(&dir.path().join("f"), 4).unwrap();
        assert!(s.write(2, b"abc").is_err());
    }
}
