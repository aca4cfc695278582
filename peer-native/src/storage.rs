//! The file a content lives in, read and written in place with positional IO: never whole in memory.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::safe_fs::open_no_follow;

/// One file opened for positional reads (and writes, for a download).
#[derive(Debug)]
pub struct Storage {
    file: File,
    size: u64,
}

impl Storage {
    /// Opens a complete file to serve from.
    pub fn open_read(path: &Path) -> io::Result<Storage> {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        Ok(Storage { file, size })
    }

    /// Opens or creates a download's partial file and sets its length to `size` (sparse where the filesystem
    /// allows), keeping whatever bytes an earlier run wrote. A symbolic link at `path` is an error, not followed.
    pub fn open_partial(path: &Path, size: u64) -> io::Result<Storage> {
        let file = open_no_follow(path, OpenOptions::new().read(true).write(true).create(true).truncate(false))?;
        if file.metadata()?.len() != size {
            file.set_len(size)?;
        }
        Ok(Storage { file, size })
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
        self.file.read_exact_at(&mut buf[headroom..], offset)?;
        Ok(buf)
    }

    /// Writes `data` at `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let end = offset.checked_add(data.len() as u64).filter(|&end| end <= self.size);
        if end.is_none() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "write past the end of the file"));
        }
        self.file.write_all_at(data, offset)
    }

    /// Flushes written data to the disk, so a state file that says a piece is here is not ahead of the data.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
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
