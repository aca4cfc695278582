//! The state file beside a partial download: the manifest and the verified-piece bitfield, so an interrupted
//! `get` resumes without fetching a verified piece again.
//!
//! Layout (all integers big-endian): `MAGIC` (8 bytes), manifest length (u32), the manifest's canonical encoding,
//! the bitfield (`ceil(pieces / 8)` bytes). The bitfield is updated in place, one byte per verified piece. The
//! file is untrusted on load (it may be stale, truncated or edited): its size is checked before it is read, the
//! manifest is decoded with the swarm's limits and must match the link's content id, and the claimed pieces are
//! hashed again from the partial file before they count (see [`verify_claimed`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use swarm::bitfield::Bitfield;
use swarm::id::ContentId;
use swarm::manifest::{MAX_MANIFEST_LEN, MAX_PIECES, Manifest};

use crate::safe_fs;
use crate::storage::Storage;

const MAGIC: &[u8; 8] = b"SWPSTAT1";
const HEADER_LEN: usize = MAGIC.len() + 4;
/// Largest state file accepted: header, largest manifest, largest bitfield.
pub const MAX_STATE_LEN: u64 = (HEADER_LEN + MAX_MANIFEST_LEN + MAX_PIECES.div_ceil(8) as usize) as u64;

/// Why a state file was not usable. A download then starts over (the partial file is rewritten).
#[derive(Debug)]
pub enum StateError {
    Io(io::Error),
    TooLong(u64),
    BadMagic,
    Truncated,
    BadManifest(String),
    WrongContent { expected: ContentId, found: ContentId },
    BadBitfield,
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Io(e) => write!(f, "{e}"),
            StateError::TooLong(n) => write!(f, "state file of {n} bytes is over the {MAX_STATE_LEN}-byte limit"),
            StateError::BadMagic => f.write_str("not a swarm-peer state file"),
            StateError::Truncated => f.write_str("state file is truncated"),
            StateError::BadManifest(e) => write!(f, "state file manifest is invalid: {e}"),
            StateError::WrongContent { expected, found } => {
                write!(f, "state file is for content {found}, not {expected}")
            }
            StateError::BadBitfield => f.write_str("state file bitfield does not match the manifest"),
        }
    }
}

impl std::error::Error for StateError {}

impl From<io::Error> for StateError {
    fn from(e: io::Error) -> Self {
        StateError::Io(e)
    }
}

/// An open state file.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    file: File,
    bitfield_offset: u64,
    have: Bitfield,
}

impl StateFile {
    /// Writes a new state file for `manifest` with no piece verified (through a temporary file and a rename, so
    /// a crash leaves either no state file or a whole one).
    ///
    /// The temporary file is created new (`O_EXCL`, which never follows a link): a symbolic link at its name is an
    /// error, and a regular file there (left by a crash) is removed first. The file kept open is the one written,
    /// so nothing planted at `path` after the rename is opened; the rename replaces a link at `path` itself, never
    /// its target.
    pub fn create(path: &Path, manifest: &Manifest) -> io::Result<StateFile> {
        let encoded = manifest.encode();
        let have = Bitfield::new(manifest.piece_count());
        let mut bytes = Vec::with_capacity(HEADER_LEN + encoded.len() + have.as_bytes().len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&encoded);
        let bitfield_offset = bytes.len() as u64;
        bytes.extend_from_slice(have.as_bytes());
        let tmp = path.with_extension("state-tmp");
        match std::fs::symlink_metadata(&tmp) {
            Ok(m) if m.file_type().is_symlink() => return Err(safe_fs::symlink_error(&tmp)),
            Ok(_) => std::fs::remove_file(&tmp)?,
            Err(_) => {}
        }
        let mut file = OpenOptions::new().read(true).write(true).create_new(true).open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(StateFile { path: path.to_owned(), file, bitfield_offset, have })
    }

    /// Loads and checks a state file for `expected`. Returns the manifest and the pieces the file claims. A
    /// symbolic link at `path` is an error, not followed (pieces are marked in place through this file).
    pub fn load(path: &Path, expected: ContentId) -> Result<(Manifest, StateFile), StateError> {
        let mut file = safe_fs::open_no_follow(path, OpenOptions::new().read(true).write(true))?;
        let len = file.metadata()?.len();
        if len > MAX_STATE_LEN {
            return Err(StateError::TooLong(len));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.read_to_end(&mut bytes)?;
        let (manifest, bitfield_offset, have) = parse(&bytes, expected)?;
        Ok((manifest, StateFile { path: path.to_owned(), file, bitfield_offset, have }))
    }

    /// The pieces recorded as verified.
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// Replaces the recorded set (after [`verify_claimed`] dropped pieces whose data did not match).
    pub fn replace(&mut self, have: Bitfield) -> io::Result<()> {
        self.file.write_all_at(have.as_bytes(), self.bitfield_offset)?;
        self.have = have;
        Ok(())
    }

    /// Records that `piece` is verified and written.
    pub fn mark(&mut self, piece: u32) -> io::Result<()> {
        if self.have.set(piece) {
            let byte = (piece / 8) as usize;
            self.file.write_all_at(&self.have.as_bytes()[byte..=byte], self.bitfield_offset + byte as u64)?;
        }
        Ok(())
    }

    /// Deletes the file (the download is complete).
    pub fn remove(self) -> io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

fn parse(bytes: &[u8], expected: ContentId) -> Result<(Manifest, u64, Bitfield), StateError> {
    let magic = bytes.get(..MAGIC.len()).ok_or(StateError::Truncated)?;
    if magic != MAGIC {
        return Err(StateError::BadMagic);
    }
    let len_bytes: [u8; 4] = bytes
        .get(MAGIC.len()..HEADER_LEN)
        .ok_or(StateError::Truncated)?
        .try_into()
        .map_err(|_| StateError::Truncated)?;
    let manifest_len = u32::from_be_bytes(len_bytes) as usize;
    if manifest_len > MAX_MANIFEST_LEN {
        return Err(StateError::BadManifest(format!("{manifest_len} bytes is over the limit")));
    }
    let manifest_end = HEADER_LEN + manifest_len;
    let encoded = bytes.get(HEADER_LEN..manifest_end).ok_or(StateError::Truncated)?;
    let manifest = Manifest::decode(encoded).map_err(|e| StateError::BadManifest(e.to_string()))?;
    let found = manifest.content_id();
    if found != expected {
        return Err(StateError::WrongContent { expected, found });
    }
    let have = Bitfield::from_bytes(&bytes[manifest_end..], manifest.piece_count()).ok_or(StateError::BadBitfield)?;
    Ok((manifest, manifest_end as u64, have))
}

/// Hashes every piece in `claimed` from the partial file and keeps those whose SHA-256 matches the manifest: the
/// state file may be ahead of the data after a crash, and the partial file may have been changed since.
pub fn verify_claimed(storage: &Storage, manifest: &Manifest, claimed: &Bitfield) -> Bitfield {
    let mut ok = Bitfield::new(manifest.piece_count());
    for piece in claimed.iter_set() {
        let Ok(data) = storage.read(manifest.piece_offset(piece), manifest.piece_len(piece), 0) else { continue };
        if manifest.verify_piece(piece, &data) {
            ok.set(piece);
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use swarm::manifest::{MIN_PIECE_SIZE, ManifestBuilder};

    fn manifest_of(data: &[u8]) -> Manifest {
        let mut b =
            ManifestBuilder::with_piece_size("f.bin", data.len() as u64, "application/octet-stream", MIN_PIECE_SIZE)
                .unwrap();
        b.update(data);
        b.finish().unwrap()
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn marked_pieces_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let m = manifest_of(&data(100_000));
        let mut s = StateFile::create(&path, &m).unwrap();
        s.mark(1).unwrap();
        s.mark(3).unwrap();
        drop(s);
        let (loaded, s) = StateFile::load(&path, m.content_id()).unwrap();
        assert_eq!(loaded, m);
        assert_eq!(s.have().iter_set().collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn state_file_for_another_content_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        StateFile::create(&path, &manifest_of(&data(1000))).unwrap();
        let other = manifest_of(&data(2000)).content_id();
        assert!(matches!(StateFile::load(&path, other), Err(StateError::WrongContent { .. })));
    }

    #[test]
    fn truncated_or_garbage_state_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let m = manifest_of(&data(100_000));
        StateFile::create(&path, &m).unwrap();
        let whole = std::fs::read(&path).unwrap();
        for cut in [0, 4, 8, 11, 12, 40, whole.len() - 1] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            assert!(StateFile::load(&path, m.content_id()).is_err(), "cut at {cut}");
        }
        let mut bad_len = whole.clone();
        bad_len[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        std::fs::write(&path, &bad_len).unwrap();
        assert!(matches!(StateFile::load(&path, m.content_id()), Err(StateError::BadManifest(_))));
    }

    #[test]
    fn oversized_state_file_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let f = File::create(&path).unwrap();
        f.set_len(MAX_STATE_LEN + 1).unwrap();
        let id = manifest_of(&data(10)).content_id();
        assert!(matches!(StateFile::load(&path, id), Err(StateError::TooLong(_))));
    }

    /// A file of someone else's that a planted symbolic link points at.
    fn precious(dir: &Path) -> PathBuf {
        let target = dir.join("precious");
        std::fs::write(&target, b"not yours").unwrap();
        target
    }

    #[test]
    fn symlink_at_the_temporary_state_path_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.part.state");
        let target = precious(dir.path());
        std::os::unix::fs::symlink(&target, dir.path().join("f.part.state-tmp")).unwrap();
        let err = StateFile::create(&path, &manifest_of(&data(1000))).unwrap_err();
        assert_eq!(std::fs::read(&target).unwrap(), b"not yours");
        let text = err.to_string();
        assert!(text.contains("f.part.state-tmp") && text.contains("symbolic link"), "{text}");
    }

    #[test]
    fn symlink_at_the_state_path_is_not_followed_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest_of(&data(100_000));
        // A valid state file elsewhere: followed, it would load, and marking a piece would write into it.
        let target = dir.path().join("elsewhere");
        StateFile::create(&target, &m).unwrap();
        let before = std::fs::read(&target).unwrap();
        let path = dir.path().join("f.part.state");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = match StateFile::load(&path, m.content_id()) {
            Ok((_, mut s)) => {
                s.mark(0).unwrap();
                panic!("a symbolic link was followed")
            }
            Err(e) => e,
        };
        assert_eq!(std::fs::read(&target).unwrap(), before);
        let text = err.to_string();
        assert!(text.contains("f.part.state") && text.contains("symbolic link"), "{text}");
    }

    #[test]
    fn claimed_piece_with_wrong_data_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let content = data(100_000);
        let m = manifest_of(&content);
        assert!(m.piece_count() >= 2, "test needs two pieces");
        let storage = Storage::open_partial(&dir.path().join("p"), m.size()).unwrap();
        let p0 = m.piece_len(0) as usize;
        storage.write(0, &content[..p0]).unwrap();
        // Piece 1 is claimed but its bytes are still zeros.
        let mut claimed = Bitfield::new(m.piece_count());
        claimed.set(0);
        claimed.set(1);
        let ok = verify_claimed(&storage, &m, &claimed);
        assert_eq!(ok.iter_set().collect::<Vec<_>>(), vec![0]);
    }
}
