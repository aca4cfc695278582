//! The files a content lives in, read and written in place with positional IO: never whole in memory. One file,
//! or a tree's files as one piece stream (PROTOCOL.md 1.8): a read or write that spans files is split at their
//! boundaries.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use swarm::manifest::Manifest;

use crate::safe_fs::{create_dir_no_follow, open_no_follow};

/// Most files of a tree held open at once: a tree may have 65,536 files, far more than a process may open.
const OPEN_FILES: usize = 64;

/// One file, or a tree's files, opened for positional reads (and writes, for a download).
#[derive(Debug)]
pub struct Storage {
    backing: Backing,
    /// In stream order; empty files have no segment.
    segments: Vec<Segment>,
    size: u64,
}

#[derive(Debug)]
enum Backing {
    /// One file, held open.
    One(File),
    /// A tree's files under `root`, opened when used and kept in a small cache, most recent last.
    Tree { root: Mutex<PathBuf>, writable: bool, open: Mutex<Vec<(usize, Arc<File>)>> },
}

#[derive(Debug)]
struct Segment {
    /// The file's path in the tree (empty for one file).
    path: String,
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

    /// Checks the files of a tree shared from the directory `root`: each must be there, not behind a symbolic
    /// link, with the size it was hashed with. They are opened when read.
    pub fn open_tree_read(root: &Path, manifest: &Manifest) -> io::Result<Storage> {
        for entry in manifest.files() {
            let path = tree_path(root, entry.path());
            let file = open_no_follow(&path, OpenOptions::new().read(true))?;
            if file.metadata()?.len() != entry.size() {
                let why = format!("{} changed size since it was hashed", path.display());
                return Err(io::Error::new(io::ErrorKind::InvalidData, why));
            }
        }
        Ok(Storage::tree(root, manifest, false))
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
        for entry in manifest.files() {
            let mut folder = dir.to_owned();
            let components: Vec<&str> = entry.components().collect();
            for component in &components[..components.len().saturating_sub(1)] {
                folder.push(component);
                create_dir_no_follow(&folder)?;
            }
            let path = tree_path(dir, entry.path());
            let file = open_no_follow(&path, OpenOptions::new().read(true).write(true).create(true).truncate(false))?;
            // A new file (empty) grows as pieces are written, and is whole once they all are; one left longer by
            // something else is cut to its size.
            if file.metadata()?.len() > entry.size() {
                file.set_len(entry.size())?;
            }
        }
        Ok(Storage::tree(dir, manifest, true))
    }

    fn one(file: File, size: u64) -> Storage {
        Storage { backing: Backing::One(file), segments: vec![Segment { path: String::new(), offset: 0, size }], size }
    }

    fn tree(root: &Path, manifest: &Manifest, writable: bool) -> Storage {
        let segments = manifest
            .files()
            .iter()
            .filter(|f| f.size() > 0)
            .map(|f| Segment { path: f.path().to_owned(), offset: f.offset(), size: f.size() })
            .collect();
        let backing = Backing::Tree { root: Mutex::new(root.to_owned()), writable, open: Mutex::new(Vec::new()) };
        Storage { backing, segments, size: manifest.size() }
    }

    /// A tree's files moved under `root` (the download got its final name): read from there from now on.
    pub fn moved_to(&self, root: &Path) {
        if let Backing::Tree { root: current, open, .. } = &self.backing {
            *current.lock().unwrap_or_else(PoisonError::into_inner) = root.to_owned();
            open.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
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
        self.each(offset, len as usize, |file, at, range| file.read_exact_at(&mut buf[headroom..][range], at))?;
        Ok(buf)
    }

    /// Writes `data` at `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let end = offset.checked_add(data.len() as u64).filter(|&end| end <= self.size);
        if end.is_none() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "write past the end of the file"));
        }
        self.each(offset, data.len(), |file, at, range| file.write_all_at(&data[range], at))
    }

    /// Calls `f(file, offset in it, range of the buffer)` for each file that `len` bytes at stream `offset` (within
    /// the size: checked by the callers) cover, in order.
    fn each(
        &self,
        offset: u64,
        len: usize,
        mut f: impl FnMut(&File, u64, std::ops::Range<usize>) -> io::Result<()>,
    ) -> io::Result<()> {
        let end = offset + len as u64;
        let first = self.segments.partition_point(|s| s.offset + s.size <= offset);
        for (i, segment) in self.segments.iter().enumerate().skip(first).take_while(|(_, s)| s.offset < end) {
            let from = offset.max(segment.offset);
            let to = end.min(segment.offset + segment.size);
            let range = (from - offset) as usize..(to - offset) as usize;
            match &self.backing {
                Backing::One(file) => f(file, from - segment.offset, range)?,
                Backing::Tree { .. } => {
                    let file = self.handle(i)?;
                    f(&file, from - segment.offset, range)?;
                }
            }
        }
        Ok(())
    }

    /// The open file of segment `i` of a tree, from the cache or opened now.
    fn handle(&self, i: usize) -> io::Result<Arc<File>> {
        let Backing::Tree { root, writable, open } = &self.backing else {
            return Err(io::Error::other("not a tree"));
        };
        let mut cache = open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = cache.iter().position(|(index, _)| *index == i) {
            let entry = cache.remove(at);
            let file = Arc::clone(&entry.1);
            cache.push(entry);
            return Ok(file);
        }
        let path = tree_path(&root.lock().unwrap_or_else(PoisonError::into_inner), &self.segments[i].path);
        let file = Arc::new(open_no_follow(&path, OpenOptions::new().read(true).write(*writable))?);
        if cache.len() >= OPEN_FILES {
            cache.remove(0);
        }
        cache.push((i, Arc::clone(&file)));
        Ok(file)
    }

    /// Flushes written data to the disk, so a state file that says a piece is here is not ahead of the data.
    pub fn sync(&self) -> io::Result<()> {
        match &self.backing {
            Backing::One(file) => file.sync_data(),
            Backing::Tree { root, .. } => {
                // Files written and then closed by the cache reached the page cache only; one fsync each would cost a
                // tree of small files seconds: the file system holding the tree is synced at once (syncfs(2)).
                let root = root.lock().unwrap_or_else(PoisonError::into_inner).clone();
                rustix::fs::syncfs(File::open(&root)?).map_err(io::Error::from)
            }
        }
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

    /// A tree of `files` (path, contents) with its manifest.
    fn tree(files: &[(&str, &[u8])]) -> swarm::manifest::Manifest {
        let listed = files.iter().map(|(p, d)| (p.split('/').map(str::to_owned).collect(), d.len() as u64)).collect();
        let mut b =
            swarm::manifest::TreeBuilder::with_piece_size("t", listed, swarm::manifest::MIN_PIECE_SIZE).unwrap();
        let order: Vec<String> = b.files().iter().map(|f| f.path().to_owned()).collect();
        for path in order {
            b.update(files.iter().find(|(p, _)| *p == path).unwrap().1);
        }
        b.finish().unwrap()
    }

    #[test]
    fn reads_and_writes_of_a_tree_are_split_at_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let m = tree(&[("a", b"abc"), ("b/empty", b""), ("b/c", b"defgh")]);
        let partial = dir.path().join("t.part");
        let s = Storage::open_tree_partial(&partial, &m).unwrap();
        // The stream is a, b/c, b/empty: "abc" then "defgh".
        s.write(1, b"BCDE").unwrap();
        assert_eq!(std::fs::read(partial.join("a")).unwrap(), b"\0BC");
        assert_eq!(&std::fs::read(partial.join("b/c")).unwrap()[..2], b"DE");
        assert_eq!(std::fs::read(partial.join("b/empty")).unwrap(), b"");
        assert_eq!(s.read(2, 3, 1).unwrap(), b"\0CDE");
        assert!(s.write(6, b"xyz").is_err(), "past the end of the stream");
        s.sync().unwrap();
    }

    #[test]
    fn a_symbolic_link_at_a_folder_of_a_tree_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let partial = dir.path().join("t.part");
        std::fs::create_dir(&partial).unwrap();
        std::os::unix::fs::symlink(&outside, partial.join("sub")).unwrap();
        let err = Storage::open_tree_partial(&partial, &tree(&[("sub/f", b"x")])).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing was created through the link");
    }

    #[test]
    fn write_past_end_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open_partial(&dir.path().join("f"), 4).unwrap();
        assert!(s.write(2, b"abc").is_err());
    }
}
