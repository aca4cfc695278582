//! File operations on paths someone else may have planted things at.
//!
//! A download writes beside its final name (`x.part`, `x.part.state`, `x.part.state-tmp`) in a directory the user
//! chose, which may be shared. A symbolic link planted at one of those names must not turn this peer's writes into
//! writes to its target, and a file that appears at the final name while the download runs must not be replaced:
//! - [`open_no_follow`] opens a path only if its last component is not a symbolic link (`O_NOFOLLOW`, one system
//!   call, so nothing can be swapped in between a check and the open);
//! - [`place`] gives the finished partial file its final name with a hard link, which the kernel refuses if the
//!   name exists (whatever it is, a dangling link included), then removes the partial name; only `--force` renames
//!   over an existing file.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Opens `path` with `options`, refusing to follow a symbolic link at its last component. A link there is reported
/// as an error naming the path (not the system's "too many levels of symbolic links").
pub fn open_no_follow(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    options.custom_flags(libc::O_NOFOLLOW).open(path).map_err(|e| {
        // The error code for a refused link differs between systems (ELOOP on Linux, EMLINK on FreeBSD): ask the
        // file system what is there instead.
        if is_symlink(path) { symlink_error(path) } else { e }
    })
}

/// Creates the directory `path` if it is missing; one already there must be a directory, not a symbolic link (to a
/// directory or not) nor anything else, so that nothing is created through it.
pub fn create_dir_no_follow(path: &Path) -> io::Result<()> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let kind = std::fs::symlink_metadata(path)?.file_type();
            if kind.is_symlink() {
                Err(symlink_error(path))
            } else if kind.is_dir() {
                Ok(())
            } else {
                Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} is not a folder", path.display())))
            }
        }
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}

/// Whether `path` itself (not what it points to) is a symbolic link.
pub fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The error for a symbolic link found where this peer writes.
pub fn symlink_error(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} is a symbolic link; not following it (remove it and run again)", path.display()),
    )
}

/// Why a finished download could not be given its final name. The data is complete in the partial file either way.
#[derive(Debug)]
pub enum PlaceError {
    /// Something exists at the final name (it appeared while downloading) and replacing it was not allowed.
    Exists { path: PathBuf, partial: PathBuf },
    /// The hard link failed for another reason (some file systems, FAT for one, have none): without it the name
    /// cannot be taken without the risk of replacing a file that appears at the last moment.
    Link { path: PathBuf, partial: PathBuf, source: io::Error },
    /// The rename allowed by `--force` failed.
    Rename { path: PathBuf, partial: PathBuf, source: io::Error },
    /// Something exists at a tree's final name: a folder is never replaced.
    FolderExists { path: PathBuf, partial: PathBuf },
}

impl std::fmt::Display for PlaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlaceError::Exists { path, partial } => write!(
                f,
                "{} appeared while downloading and was not replaced; the download is complete in {} (pass --force \
                 to overwrite)",
                path.display(),
                partial.display()
            ),
            PlaceError::Link { path, partial, source } => write!(
                f,
                "could not name the download {} without risking replacing a file there (hard link: {source}); it \
                 is complete in {} (rename it yourself, or pass --force to overwrite)",
                path.display(),
                partial.display()
            ),
            PlaceError::Rename { path, partial, source } => {
                write!(f, "could not rename {} to {}: {source}", partial.display(), path.display())
            }
            PlaceError::FolderExists { path, partial } => write!(
                f,
                "{} exists and a folder is never replaced; the download is complete in {} (move {} away and run \
                 the same command again to finish)",
                path.display(),
                partial.display(),
                path.display()
            ),
        }
    }
}

impl std::error::Error for PlaceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlaceError::Exists { .. } | PlaceError::FolderExists { .. } => None,
            PlaceError::Link { source, .. } | PlaceError::Rename { source, .. } => Some(source),
        }
    }
}

/// Gives the finished `partial` file the name `path`. Without `force`, nothing at `path` is ever replaced: a hard
/// link is made (refused by the kernel if the name exists) and the partial name removed. With `force`, a rename
/// replaces what is there (the user allowed it; a symbolic link there is replaced, not followed).
pub fn place(partial: &Path, path: &Path, force: bool) -> Result<(), PlaceError> {
    let names = || (path.to_owned(), partial.to_owned());
    if force {
        return std::fs::rename(partial, path).map_err(|source| {
            let (path, partial) = names();
            PlaceError::Rename { path, partial, source }
        });
    }
    match std::fs::hard_link(partial, path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let (path, partial) = names();
            return Err(PlaceError::Exists { path, partial });
        }
        Err(source) => {
            let (path, partial) = names();
            return Err(PlaceError::Link { path, partial, source });
        }
    }
    // The file has its name: a partial name left behind costs no data (it is the same file), only a stray entry.
    if let Err(e) = std::fs::remove_file(partial) {
        tracing::warn!("{}: not removed after naming the download {}: {e}", partial.display(), path.display());
    }
    Ok(())
}

/// Gives a finished tree its final name: the partial directory `partial` becomes `path`, which must not exist
/// (a folder is never replaced, `--force` or not). With `only`, just those files (paths in the tree) are moved
/// there and the rest of the partial directory is removed; files still open keep serving until closed.
pub fn place_tree(partial: &Path, path: &Path, only: Option<&[String]>) -> Result<(), PlaceError> {
    let names = || (path.to_owned(), partial.to_owned());
    // Taking the name first: the kernel refuses it if anything is there.
    if let Err(e) = std::fs::create_dir(path) {
        let (path, partial) = names();
        return Err(if e.kind() == io::ErrorKind::AlreadyExists {
            PlaceError::FolderExists { path, partial }
        } else {
            PlaceError::Rename { path, partial, source: e }
        });
    }
    let Some(only) = only else {
        // The empty folder just made is replaced by the tree in one step.
        return std::fs::rename(partial, path).map_err(|source| {
            let (path, partial) = names();
            PlaceError::Rename { path, partial, source }
        });
    };
    for file in only {
        let (from, to) = (crate::storage::tree_path(partial, file), crate::storage::tree_path(path, file));
        let moved = (|| {
            let mut folder = path.to_owned();
            let components: Vec<&str> = file.split('/').collect();
            for component in &components[..components.len().saturating_sub(1)] {
                folder.push(component);
                create_dir_no_follow(&folder)?;
            }
            std::fs::rename(&from, &to)
        })();
        moved.map_err(|source| PlaceError::Rename { path: to, partial: from, source })?;
    }
    if let Err(e) = std::fs::remove_dir_all(partial) {
        tracing::warn!("{}: not removed after saving the chosen files in {}: {e}", partial.display(), path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_name_created_after_the_check_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("f.bin.part");
        let path = dir.path().join("f.bin");
        std::fs::write(&partial, b"downloaded").unwrap();
        crate::names::check_free(&path, false).unwrap();
        // Someone creates the final name after the check, before the download finishes.
        std::fs::write(&path, b"theirs").unwrap();
        let err = place(&partial, &path, false).unwrap_err();
        assert_eq!(std::fs::read(&path).unwrap(), b"theirs");
        assert_eq!(std::fs::read(&partial).unwrap(), b"downloaded", "the download is kept");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
    }

    #[test]
    fn dangling_symlink_at_the_final_name_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("f.bin.part");
        let path = dir.path().join("f.bin");
        std::fs::write(&partial, b"downloaded").unwrap();
        let nowhere = dir.path().join("nowhere");
        std::os::unix::fs::symlink(&nowhere, &path).unwrap();
        assert!(matches!(place(&partial, &path, false), Err(PlaceError::Exists { .. })));
        assert!(is_symlink(&path));
        assert!(!nowhere.exists(), "nothing was written through the link");
    }

    #[test]
    fn free_final_name_takes_the_download_and_the_partial_name_goes() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("f.bin.part");
        let path = dir.path().join("f.bin");
        std::fs::write(&partial, b"downloaded").unwrap();
        place(&partial, &path, false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"downloaded");
        assert!(!partial.exists());
    }

    #[test]
    fn force_replaces_an_existing_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("f.bin.part");
        let path = dir.path().join("f.bin");
        std::fs::write(&partial, b"downloaded").unwrap();
        std::fs::write(&path, b"old").unwrap();
        place(&partial, &path, true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"downloaded");
        assert!(!partial.exists());
    }

    #[test]
    fn open_no_follow_refuses_a_symlink_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = open_no_follow(&link, OpenOptions::new().read(true)).unwrap_err();
        assert!(err.to_string().contains("link is a symbolic link"), "{err}");
        assert!(open_no_follow(&target, OpenOptions::new().read(true)).is_ok());
    }
}
