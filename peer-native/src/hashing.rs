//! Hashing a file into its manifest, streaming it in chunks with a progress bar: the file is never whole in memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use swarm::manifest::{Manifest, ManifestBuilder};
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
