//! The media type a sharer writes into a manifest, from the file name's extension alone.
//!
//! Both peers use this table and nothing else: a browser's `File.type` depends on the platform's MIME database
//! (the same file gets different types on different machines), and the media type is part of the manifest, so
//! the same bytes under the same name must get the same type everywhere to get the same link (PROTOCOL 1.5).

/// Media type of a shared file whose name has no extension in [`MEDIA_TYPES`].
pub const DEFAULT_MEDIA_TYPE: &str = "application/octet-stream";

/// Media types by lowercase file extension, sorted by extension: the common ones, named as browsers name them.
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

/// The media type of a file named `name` (a file name or a path with `/` separators): its extension, compared
/// ASCII-case-insensitively, looked up in [`MEDIA_TYPES`], else [`DEFAULT_MEDIA_TYPE`]. A leading dot does not
/// start an extension (`.bashrc` has none), as with `std::path::Path::extension`.
pub fn media_type_for(name: &str) -> &'static str {
    let base = name.rsplit('/').next().unwrap_or(name);
    let ext = match base.rfind('.') {
        // `get`, not indexing (a char boundary anyway): no panic path of `str` slicing in the browser's wasm.
        Some(dot) if dot > 0 => base.get(dot + 1..).unwrap_or(""),
        _ => return DEFAULT_MEDIA_TYPE,
    };
    MEDIA_TYPES.binary_search_by(|(e, _)| cmp_ascii_lowercase(e, ext)).map_or(DEFAULT_MEDIA_TYPE, |i| MEDIA_TYPES[i].1)
}

/// Orders the lowercase `table` key against `ext` as if `ext` were lowercased, without allocating.
fn cmp_ascii_lowercase(table: &str, ext: &str) -> core::cmp::Ordering {
    table.bytes().cmp(ext.bytes().map(|b| b.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ManifestBuilder;

    #[test]
    fn every_media_type_in_the_table_is_accepted_by_the_manifest() {
        for (ext, media_type) in MEDIA_TYPES {
            let b = ManifestBuilder::new("x", 0, media_type).expect("valid media type");
            assert_eq!(b.finish().expect("empty file").media_type(), *media_type, "{ext}");
            assert_eq!(*ext, ext.to_ascii_lowercase(), "keys are lowercase");
        }
        assert!(MEDIA_TYPES.windows(2).all(|w| w[0].0 < w[1].0), "sorted, no duplicates (binary search)");
    }

    #[test]
    fn media_type_comes_from_the_extension_whatever_its_case() {
        assert_eq!(media_type_for("holiday-video.MP4"), "video/mp4");
        assert_eq!(media_type_for("dir/notes.txt"), "text/plain");
        assert_eq!(media_type_for("image.tar.gz"), "application/gzip");
        assert_eq!(media_type_for("first.7z"), "application/x-7z-compressed");
        assert_eq!(media_type_for("last.ZIP"), "application/zip");
    }

    #[test]
    fn a_name_without_a_known_extension_gets_the_default() {
        for name in ["data.unknownext", "Makefile", ".bashrc", "dir.mp4/file", "trailing.", "", "."] {
            assert_eq!(media_type_for(name), DEFAULT_MEDIA_TYPE, "{name:?}");
        }
    }
}
