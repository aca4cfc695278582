//! Hashing a file into its manifest, streaming it in chunks with a progress bar: the file is never whole in memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use swarm::manifest::{Manifest, ManifestBuilder, TreeBuilder};
use swarm::media::media_type_for;

use crate::progress::Progress;

/// Read size while hashing: 1 MiB, large enough that syscalls cost nothing next to SHA-256.
const CHUNK: usize = 1024 * 1024;

/// Hashes `path` into a manifest named after the file's last path component, with the media type its extension
/// suggests.
pub fn hash_file(path: &Path, progress: &Progress) -> anyhow::Result<Manifest> {
    let mut file = File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let size = file.metadata()?.len();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut builder = ManifestBuilder::new(&name, size, media_type_for(&name))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let bar = progress.hashing(&name, size);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        builder.update(&buf[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    builder.finish().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// What [`hash_dir`] left out of a folder, for the user: symbolic links and special files (devices, sockets,
/// pipes) are never shared.
#[derive(Debug, Default)]
pub struct Skipped {
    pub links: Vec<std::path::PathBuf>,
    pub special: Vec<std::path::PathBuf>,
}

/// Hashes the folder `root` into a tree manifest (PROTOCOL.md 1.8) named after the folder: every regular file in
/// it and in its folders, read in the manifest's order; symbolic links and special files are skipped (returned,
/// to be reported) and never followed.
pub fn hash_dir(root: &Path, progress: &Progress) -> anyhow::Result<(Manifest, Skipped)> {
    let mut files = Vec::new();
    let mut skipped = Skipped::default();
    walk(root, &mut Vec::new(), &mut files, &mut skipped)?;
    anyhow::ensure!(!files.is_empty(), "{}: no file to share in this folder", root.display());
    let name = root.canonicalize()?.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let listed = files.iter().map(|(components, size): &(Vec<String>, u64)| (components.clone(), *size)).collect();
    let mut builder = TreeBuilder::new(&name, listed).map_err(|e| anyhow::anyhow!("{}: {e}", root.display()))?;
    let total: u64 = builder.files().iter().map(|f| f.size()).sum();
    let bar = progress.hashing(&name, total);
    let mut buf = vec![0u8; CHUNK];
    let order = builder.given_order().to_vec();
    for i in order {
        let (components, _) = &files[i];
        let mut path = root.to_owned();
        path.extend(components);
        let mut file = File::open(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        loop {
            let n = file.read(&mut buf).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            if n == 0 {
                break;
            }
            builder.update(&buf[..n]);
            bar.inc(n as u64);
        }
    }
    bar.finish_and_clear();
    let manifest = builder.finish().map_err(|e| anyhow::anyhow!("{}: {e}", root.display()))?;
    Ok((manifest, skipped))
}

/// Lists the regular files under `dir` (`prefix`: the components from the shared folder down to `dir`).
fn walk(
    dir: &Path,
    prefix: &mut Vec<String>,
    files: &mut Vec<(Vec<String>, u64)>,
    skipped: &mut Skipped,
) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        let path = entry.path();
        // Not followed: the entry's own type.
        let kind = entry.file_type().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            anyhow::bail!("{}: a file name that is not UTF-8 cannot be shared", path.display());
        };
        if kind.is_symlink() {
            skipped.links.push(path);
        } else if kind.is_dir() {
            prefix.push(name);
            walk(&path, prefix, files, skipped)?;
            prefix.pop();
        } else if kind.is_file() {
            let size = entry.metadata().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?.len();
            let mut components = prefix.clone();
            components.push(name);
            files.push((components, size));
        } else {
            skipped.special.push(path);
        }
    }
    Ok(())
}
