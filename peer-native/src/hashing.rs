//! Hashing a file into its manifest, streaming it in chunks with a progress bar: the file is never whole in memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use swarm::manifest::{Manifest, ManifestBuilder};

use crate::progress::Progress;

/// Read size while hashing: 1 MiB, large enough that syscalls cost nothing next to SHA-256.
const CHUNK: usize = 1024 * 1024;
/// Media type of a shared file whose extension is not in [`MEDIA_TYPES`].
pub const DEFAULT_MEDIA_TYPE: &str = "application/octet-stream";

/// Media types by lowercase file extension: the common ones, with the types browsers give a `File` of that name
/// (so a file shared from a terminal and from a page gets the same manifest, hence the same link).
pub const MEDIA_TYPES: &[(&str, &str)] = &[
    ("7z", "application/x-7z-compressed"),
    ("aac", "audio/aac"),
    ("avi", "video/x-msvideo"),
    ("avif", "image/avif"),
    ("bmp", "image/bmp"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("doc", "application/msword"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("epub", "application/epub+zip"),
    ("flac", "audio/flac"),
    ("gif", "image/gif"),
    ("gz", "application/gzip"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/vnd.microsoft.icon"),
    ("iso", "application/x-iso9660-image"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("m4a", "audio/mp4"),
    ("md", "text/markdown"),
    ("mjs", "text/javascript"),
    ("mkv", "video/x-matroska"),
    ("mov", "video/quicktime"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("mpeg", "video/mpeg"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("oga", "audio/ogg"),
    ("ogg", "audio/ogg"),
    ("ogv", "video/ogg"),
    ("opus", "audio/opus"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("svg", "image/svg+xml"),
    ("tar", "application/x-tar"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("txt", "text/plain"),
    ("wasm", "application/wasm"),
    ("wav", "audio/wav"),
    ("weba", "audio/webm"),
    ("webm", "video/webm"),
    ("webp", "image/webp"),
    ("xls", "application/vnd.ms-excel"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("xml", "application/xml"),
    ("zip", "application/zip"),
];

/// The media type of a file, from its extension ([`MEDIA_TYPES`], else [`DEFAULT_MEDIA_TYPE`]).
pub fn media_type_for(path: &Path) -> &'static str {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else { return DEFAULT_MEDIA_TYPE };
    let ext = ext.to_ascii_lowercase();
    MEDIA_TYPES.iter().find(|(e, _)| *e == ext).map_or(DEFAULT_MEDIA_TYPE, |(_, t)| *t)
}

/// Hashes `path` into a manifest named after the file's last path component, with the media type its extension
/// suggests.
pub fn hash_file(path: &Path, progress: &Progress) -> anyhow::Result<Manifest> {
    let mut file = File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let size = file.metadata()?.len();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut builder = ManifestBuilder::new(&name, size, media_type_for(path))
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
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
    builder.finish().map_err(|e| anyhow::anyhow!("{}: {e:?} (did the file change while hashing?)", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_media_type_in_the_table_is_accepted_by_the_manifest() {
        for (ext, media_type) in MEDIA_TYPES {
            let b = ManifestBuilder::new("x", 0, media_type).expect("valid media type");
            assert_eq!(b.finish().expect("empty file").media_type(), *media_type, "{ext}");
        }
        assert!(MEDIA_TYPES.windows(2).all(|w| w[0].0 < w[1].0), "sorted, no duplicates");
    }

    #[test]
    fn media_type_comes_from_the_extension_whatever_its_case() {
        assert_eq!(media_type_for(Path::new("dir/holiday-video.MP4")), "video/mp4");
        assert_eq!(media_type_for(Path::new("notes.txt")), "text/plain");
        assert_eq!(media_type_for(Path::new("image.tar.gz")), "application/gzip");
        assert_eq!(media_type_for(Path::new("data.unknownext")), DEFAULT_MEDIA_TYPE);
        assert_eq!(media_type_for(Path::new("Makefile")), DEFAULT_MEDIA_TYPE);
    }
}
