//! The files behind each content: the file a seed serves, and a download's life on disk (partial file, state file,
//! final name, `--force`, resuming), with its progress bar and its report.
//!
//! Storage runs inline, answering the node's reads and writes: positional IO on the page cache of at most one block
//! or piece. The node decides what to read and write and when a piece is verified; this keeps the files honest.

use std::collections::BTreeMap;
use std::path::PathBuf;

use swarm::manifest::Manifest;
use swarm::node::{Node, NodeError};
use swarm::swarm::{BanReason, Event, Failure, Stats, StorageError};
use swarm::time::Instant;
use swarm::{bitfield::Bitfield, id::ContentId};

use crate::names;
use crate::node::{ContentReport, ContentSpec, DownloadSpec, Target};
use crate::progress::Progress;
use crate::safe_fs;
use crate::state_file::{self, StateFile};
use crate::storage::Storage;

/// Every content of the node, by id.
#[derive(Debug)]
pub(crate) struct Contents {
    map: BTreeMap<ContentId, Content>,
    progress: Progress,
    /// Test-only (`lying` feature): corrupt every block served.
    #[cfg_attr(not(feature = "lying"), allow(dead_code))]
    lie: bool,
    /// `--list`: shares, and downloads kept seeding, are listed in search.
    list: bool,
}

#[derive(Debug)]
struct Content {
    storage: Option<Storage>,
    download: Option<Download>,
    report: ContentReport,
    bar: indicatif::ProgressBar,
}

#[derive(Debug)]
struct Download {
    spec: DownloadSpec,
    partial: PathBuf,
    state_path: PathBuf,
    state: Option<StateFile>,
    final_path: Option<PathBuf>,
    /// A folder (once its manifest is known): `Some(None)` for all of it, `Some(Some(paths))` for `--only`'s
    /// files.
    tree: Option<Option<Vec<String>>>,
}

impl Target {
    /// The partial file and its state file: beside the final file, or named by content id in the directory (the
    /// name is not known before the manifest, and a resumed run must find them again).
    fn partial_paths(&self, content: ContentId) -> (PathBuf, PathBuf) {
        let partial = match self {
            Target::File(path) => {
                let mut p = path.clone().into_os_string();
                p.push(".part");
                PathBuf::from(p)
            }
            Target::Dir(dir) => dir.join(format!("{content}.part")),
        };
        let mut state = partial.clone().into_os_string();
        state.push(".state");
        (partial, PathBuf::from(state))
    }
}

impl Contents {
    pub fn new(progress: Progress, lie: bool, list: bool) -> Contents {
        Contents { map: BTreeMap::new(), progress, lie, list }
    }

    /// Opens a content's files and gives it to the node: a seed is shared (and announced), a download resumed from
    /// a usable state file or joined by id.
    pub fn add(&mut self, node: &mut Node, now: Instant, spec: ContentSpec) -> anyhow::Result<()> {
        let (content, storage, download, resumed, manifest) = match spec {
            ContentSpec::Seed { path, manifest } => {
                let storage = if manifest.is_tree() {
                    Storage::open_tree_read(&path, &manifest)?
                } else {
                    Storage::open_read(&path)?
                };
                anyhow::ensure!(
                    storage.size() == manifest.size(),
                    "{} changed size since it was hashed",
                    path.display()
                );
                let content = manifest.content_id();
                if self.map.contains_key(&content) {
                    // The same file twice on the command line: served once.
                    return Ok(());
                }
                match node.share(now, manifest.clone()) {
                    Ok(()) | Err(NodeError::AlreadyThere) => {}
                    Err(e) => self.progress.println(&format!("{}: not shared: {e}", manifest.name())),
                }
                // `share --list`: announced in the discovery network; without it, reachable by its link only.
                if self.list
                    && let Err(e) = node.set_listed(now, content, true)
                {
                    self.progress.println(&format!("{}: not listed in search: {e}", manifest.name()));
                }
                (content, Some(storage), None, None, Some(manifest))
            }
            ContentSpec::Download(spec) => {
                let content = spec.content;
                let s = start_download(node, now, spec)?;
                (content, s.storage, Some(s.download), s.resumed, s.manifest)
            }
        };
        let bar = match (&download, &manifest) {
            (Some(_), manifest) => self.progress.transfer(manifest.as_ref().map(Manifest::size), content),
            (None, Some(manifest)) => self.progress.seeding(manifest.name(), content),
            (None, None) => self.progress.seeding("", content),
        };
        if let (Some(have), Some(manifest)) = (&resumed, &manifest) {
            bar.set_position(have.iter_set().map(|p| u64::from(manifest.piece_len(p))).sum());
        }
        let report = ContentReport {
            content,
            stats: Stats::default(),
            complete: download.is_none(),
            path: None,
            verified_this_run: Vec::new(),
            resumed,
            banned: Vec::new(),
            refused: Vec::new(),
            errors: Vec::new(),
        };
        self.map.insert(content, Content { storage, download, report, bar });
        Ok(())
    }

    /// `len` bytes at `offset` after `headroom` free bytes (the node's `Output::Read`).
    pub fn read(&self, content: ContentId, offset: u64, len: u32, headroom: usize) -> Result<Vec<u8>, StorageError> {
        let storage = self.map.get(&content).and_then(|c| c.storage.as_ref()).ok_or_else(no_storage)?;
        let result = storage.read(offset, len, headroom).map_err(storage_error);
        #[cfg(feature = "lying")]
        let result = result.map(|mut buf| {
            if self.lie {
                crate::lying::corrupt(&mut buf, headroom);
            }
            buf
        });
        result
    }

    /// Writes verified data (the node's `Output::Write`).
    pub fn write(&self, content: ContentId, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        let storage = self.map.get(&content).and_then(|c| c.storage.as_ref()).ok_or_else(no_storage)?;
        storage.write(offset, data).map_err(storage_error)
    }

    /// One content's news. Returns whether it was a piece verified.
    pub fn on_event(&mut self, node: &mut Node, now: Instant, content: ContentId, event: Event) -> bool {
        let Some(c) = self.map.get_mut(&content) else { return false };
        match event {
            Event::ManifestKnown(manifest) => {
                // `--only`'s choice, made once: before any file is created, so a glob that matches nothing
                // leaves nothing behind.
                let wanted = chosen(c, &manifest);
                let prepared = wanted.and_then(|wanted| {
                    prepare(c, &manifest, wanted.as_ref())?;
                    let size = wanted_size(&manifest, wanted.as_ref());
                    if let Some(wanted) = wanted {
                        node.select(now, content, Some(wanted.pieces)).map_err(anyhow::Error::msg)?;
                    }
                    c.bar.set_length(size);
                    Ok(())
                });
                if let Err(e) = prepared {
                    // Nothing can be written: the content fails (reported by its `Event::Failed`, next).
                    let _ = node.fail(now, content, Failure::Storage(StorageError::Other(format!("{e:#}"))));
                    return false;
                }
                // Requests start now: the selection, if any, is made (`Config::await_storage`).
                node.handle_input(now, swarm::node::Input::StorageReady { content });
            }
            Event::PieceVerified { piece } => {
                c.report.verified_this_run.push(piece);
                if let Some(state) = c.download.as_mut().and_then(|d| d.state.as_mut())
                    && let Err(e) = state.mark(piece)
                {
                    tracing::warn!("state file: {e}");
                }
                if let Some(m) = node.swarm(&content).and_then(|s| s.manifest()) {
                    c.bar.inc(u64::from(m.piece_len(piece)));
                }
                return true;
            }
            Event::PieceFailed { piece } => tracing::info!(piece, "piece failed verification; fetching it again"),
            Event::Complete => {
                if c.report.complete {
                    return false;
                }
                match finish(c) {
                    Ok(path) => {
                        let from = node.swarm(&content).map_or(0, |s| s.stats().peers);
                        let relayed = node.relayed_peers(&content);
                        self.progress.println(&format!(
                            "saved {} ({})",
                            path.display(),
                            crate::progress::peers(from, relayed)
                        ));
                        c.report.path = Some(path);
                    }
                    Err(e) => {
                        let text = format!("{e:#}");
                        self.progress.println(&format!("error: {text}"));
                        c.report.errors.push(text);
                    }
                }
                c.report.complete = true;
                c.bar.finish();
                if self.list
                    && c.download.as_ref().is_some_and(|d| d.spec.keep_seeding)
                    && let Err(e) = node.set_listed(now, content, true)
                {
                    // `get --seed --list`: once complete, the file is listed like a shared one.
                    self.progress.println(&format!("{content}: not listed in search: {e}"));
                }
            }
            // Reported by the node as its own `Event::PeerBanned`, with the peer.
            Event::PeerBanned { .. } | Event::PeerReady { .. } => {}
            Event::PeerRefused { why, .. } => {
                let text = why.to_string();
                self.progress.println(&text);
                c.report.refused.push(text);
            }
            Event::ReadFailed(e) => {
                let text = format!("reading the file failed: {e}");
                self.progress.println(&format!("error: {text}"));
                c.report.errors.push(text);
            }
            Event::Failed(failure) => {
                let text = match failure {
                    Failure::Storage(StorageError::Full) => "the disk is full: the download stopped; free some \
                                                             space and run the same command again to resume"
                        .to_owned(),
                    Failure::Storage(StorageError::Other(why)) => format!("the download stopped: {why}"),
                    too_large @ Failure::TooLarge { .. } => format!("the download stopped: {too_large}"),
                    bad @ Failure::BadManifest(_) => format!("the download stopped: {bad}"),
                };
                self.progress.println(&format!("error: {text}"));
                c.report.errors.push(text);
                // Ended: the node forgot it (no peers, no requests); its `.part` file and state stay for a resume.
                c.report.complete = true;
                if let Some(d) = &mut c.download {
                    d.spec.keep_seeding = false;
                }
            }
        }
        false
    }

    /// A remote peer was banned from `content`.
    pub fn on_banned(&mut self, content: ContentId, reason: &BanReason) {
        self.progress.println(&format!("banned a peer: {reason}"));
        if let Some(c) = self.map.get_mut(&content) {
            c.report.banned.push(reason.to_string());
        }
    }

    /// Copies each content's counters into its report and its bar.
    pub fn refresh(&mut self, node: &Node) {
        for (content, c) in &mut self.map {
            let Some(swarm) = node.swarm(content) else { continue };
            let stats = swarm.stats();
            self.progress.update(&c.bar, &stats, node.relayed_peers(content), c.download.is_some());
            c.report.stats = stats;
        }
    }

    /// Whether every content is a download that is complete, with nobody asking to keep seeding it.
    pub fn finished(&self) -> bool {
        self.map.values().all(|c| match &c.download {
            Some(d) => c.report.complete && !d.spec.keep_seeding,
            None => false,
        })
    }

    /// Stops every content in the node (goodbyes to their peers); the bars of unfinished ones are left as they
    /// are.
    pub fn stop(&mut self, node: &mut Node, now: Instant) {
        for (content, c) in &self.map {
            // `Unknown`: stopped already, for a file that could not be written.
            let _ = node.stop(now, *content);
            if !c.bar.is_finished() {
                c.bar.abandon();
            }
        }
    }

    pub fn reports(&self) -> Vec<ContentReport> {
        self.map.values().map(|c| c.report.clone()).collect()
    }
}

/// A download as it starts: with its storage, the pieces found and the manifest when resumed.
struct Started {
    storage: Option<Storage>,
    download: Download,
    resumed: Option<Bitfield>,
    manifest: Option<Manifest>,
}

/// Resumes from a usable state file, or joins by id.
fn start_download(node: &mut Node, now: Instant, spec: DownloadSpec) -> anyhow::Result<Started> {
    let (partial, state_path) = spec.target.partial_paths(spec.content);
    if let Target::File(path) = &spec.target {
        names::check_free(path, spec.force).map_err(anyhow::Error::msg)?;
    }
    let mut download = Download { spec, partial, state_path, state: None, final_path: None, tree: None };
    if download.state_path.exists() {
        match StateFile::load(&download.state_path, download.spec.content) {
            Ok((manifest, mut state)) => {
                let final_path = final_path(&download.spec, &manifest)?;
                let wanted = selected(&download.spec, &manifest)?;
                let storage = open_partial(&download.partial, &manifest)?;
                let have = state_file::verify_claimed(&storage, &manifest, state.have());
                state.replace(have.clone())?;
                download.state = Some(state);
                download.final_path = Some(final_path);
                download.tree = tree_files(&manifest, wanted.as_ref());
                node.resume(now, manifest.clone(), have.clone()).map_err(anyhow::Error::msg)?;
                if let Some(wanted) = wanted {
                    node.select(now, download.spec.content, Some(wanted.pieces)).map_err(anyhow::Error::msg)?;
                }
                let (storage, resumed, manifest) = (Some(storage), Some(have), Some(manifest));
                return Ok(Started { storage, download, resumed, manifest });
            }
            Err(e) => tracing::warn!("{}: {e}; starting over", download.state_path.display()),
        }
    }
    node.download(now, download.spec.content).map_err(anyhow::Error::msg)?;
    Ok(Started { storage: None, download, resumed: None, manifest: None })
}

fn no_storage() -> StorageError {
    StorageError::Other("no storage yet".to_owned())
}

fn storage_error(e: std::io::Error) -> StorageError {
    if e.kind() == std::io::ErrorKind::StorageFull { StorageError::Full } else { StorageError::Other(e.to_string()) }
}

/// The final path of a download, checked against overwriting (a folder: never, `--force` or not).
fn final_path(spec: &DownloadSpec, manifest: &Manifest) -> anyhow::Result<PathBuf> {
    if manifest.is_tree() {
        let path = match &spec.target {
            Target::File(path) => path.clone(),
            Target::Dir(dir) => dir.join(names::sanitize(manifest.name())),
        };
        anyhow::ensure!(
            std::fs::symlink_metadata(&path).is_err(),
            "{} exists, and a folder is never replaced: move it away or choose another output",
            path.display()
        );
        return Ok(path);
    }
    match &spec.target {
        Target::File(path) => Ok(path.clone()),
        Target::Dir(dir) => names::destination(dir, manifest.name(), spec.force).map_err(anyhow::Error::msg),
    }
}

/// A download's partial storage: one file, or a folder of the tree's files.
fn open_partial(partial: &std::path::Path, manifest: &Manifest) -> std::io::Result<Storage> {
    if manifest.is_tree() {
        Storage::open_tree_partial(partial, manifest)
    } else {
        Storage::open_partial(partial, manifest.size())
    }
}

/// What `--only` chose of a folder: the files' paths and the pieces they touch.
struct Selected {
    paths: Vec<String>,
    pieces: Bitfield,
}

/// `--only`'s choice for `manifest`: `None` without it; an error when it matches nothing, or for a single file.
fn selected(spec: &DownloadSpec, manifest: &Manifest) -> anyhow::Result<Option<Selected>> {
    let Some(only) = &spec.only else { return Ok(None) };
    anyhow::ensure!(manifest.is_tree(), "--only chooses files of a folder, and {} is one file", manifest.name());
    let chosen: Vec<usize> =
        (0..manifest.files().len()).filter(|&i| only.matches(manifest.files()[i].path())).collect();
    let paths = chosen.iter().map(|&i| manifest.files()[i].path().to_owned()).collect();
    let selected = Selected { paths, pieces: manifest.pieces_of_files(chosen) };
    anyhow::ensure!(
        !selected.paths.is_empty(),
        "--only {}: no file of {} matches (its {} files include {})",
        only.text(),
        manifest.name(),
        manifest.files().len(),
        manifest.files().iter().take(3).map(|f| f.path()).collect::<Vec<_>>().join(", ")
    );
    Ok(Some(selected))
}

/// `--only`'s choice for a content whose manifest just arrived: `None` for everything, or for a seed.
fn chosen(c: &Content, manifest: &Manifest) -> anyhow::Result<Option<Selected>> {
    match &c.download {
        Some(d) => selected(&d.spec, manifest),
        None => Ok(None),
    }
}

/// What a download saves of a folder ([`Download::tree`]); `None` for a single file.
fn tree_files(manifest: &Manifest, wanted: Option<&Selected>) -> Option<Option<Vec<String>>> {
    manifest.is_tree().then(|| wanted.map(|s| s.paths.clone()))
}

/// The bytes a download fetches: the pieces `--only` chose, or all of them.
fn wanted_size(manifest: &Manifest, wanted: Option<&Selected>) -> u64 {
    match wanted {
        Some(wanted) => wanted.pieces.iter_set().map(|p| u64::from(manifest.piece_len(p))).sum(),
        None => manifest.size(),
    }
}

/// The manifest of a joined download is known: choose the final name, create the partial and state files.
fn prepare(c: &mut Content, manifest: &Manifest, wanted: Option<&Selected>) -> anyhow::Result<()> {
    let Some(d) = &mut c.download else { return Ok(()) };
    if c.storage.is_some() {
        return Ok(());
    }
    d.final_path = Some(final_path(&d.spec, manifest)?);
    c.storage = Some(open_partial(&d.partial, manifest)?);
    d.state = Some(StateFile::create(&d.state_path, manifest)?);
    d.tree = tree_files(manifest, wanted);
    Ok(())
}

/// Every piece is verified and written: flush, give the partial file its final name, drop the state file.
fn finish(c: &mut Content) -> anyhow::Result<PathBuf> {
    let d = c.download.as_mut().ok_or_else(|| anyhow::anyhow!("not a download"))?;
    let path = d.final_path.clone().ok_or_else(|| anyhow::anyhow!("complete before the manifest was known"))?;
    if let Some(s) = &c.storage {
        s.sync()?;
    }
    // Never replaces a file that appeared at the name while downloading (unless `--force`; a folder, never); on
    // failure the state file stays, so the same command run again finishes without fetching anything.
    match &d.tree {
        Some(only) => {
            safe_fs::place_tree(&d.partial, &path, only.as_deref())?;
            // Seeding goes on from the files where they are now (with --only, the chosen ones: pieces that
            // reach into the others cannot be served any more).
            if let Some(s) = &c.storage {
                s.moved_to(&path);
            }
        }
        None => safe_fs::place(&d.partial, &path, d.spec.force)?,
    }
    if let Some(state) = d.state.take() {
        state.remove()?;
    }
    Ok(path)
}
