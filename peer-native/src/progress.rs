//! Progress bars (indicatif) for hashing, seeding and downloading; hidden when disabled or not on a terminal.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use swarm::id::ContentId;
use swarm::swarm::Stats;

/// The terminal's bars, or nothing.
#[derive(Debug, Clone)]
pub struct Progress {
    multi: MultiProgress,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Progress {
    /// Hidden bars; [`Progress::show`] turns them on (indicatif still hides them when stderr is not a terminal).
    pub fn new() -> Progress {
        Progress { multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()) }
    }

    pub fn show(&self) {
        self.multi.set_draw_target(ProgressDrawTarget::stderr());
    }

    /// A bar for hashing a file of `len` bytes.
    pub fn hashing(&self, name: &str, len: u64) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(len));
        bar.set_style(style("{msg} hashing [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"));
        bar.set_message(name.to_owned());
        bar
    }

    /// A bar for a download; its length is set once the manifest is known.
    pub fn transfer(&self, len: Option<u64>, content: ContentId) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(len.unwrap_or(0)));
        bar.set_style(style("{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}"));
        bar.set_prefix(short(content));
        bar
    }

    /// A line for a file being seeded: uploaded bytes and peers.
    pub fn seeding(&self, name: &str, content: ContentId) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(style("{prefix} {wide_msg}"));
        bar.set_prefix(format!("{} {name}", short(content)));
        bar
    }

    /// Refreshes a bar's message from the swarm's counters; `relayed`: how many of its peers are reached through
    /// a TURN relay.
    pub fn update(&self, bar: &ProgressBar, stats: &Stats, relayed: usize, download: bool) {
        if bar.is_hidden() {
            return;
        }
        let up = indicatif::HumanBytes(stats.uploaded_bytes);
        let peers = peers(stats.peers, relayed);
        if download {
            bar.set_message(format!("{peers} up {up}"));
        } else {
            bar.set_message(format!("seeding: {peers} up {up}"));
        }
    }

    /// Prints a line above the bars (or to stderr when they are hidden).
    pub fn println(&self, line: &str) {
        if self.multi.is_hidden() {
            eprintln!("{line}");
        } else {
            let _ = self.multi.println(line);
        }
    }
}

/// "3 peers", or "3 peers, 1 relayed" when some are reached through a TURN relay (PROTOCOL.md says nothing of
/// it: it is the path ICE chose, as the shells report it).
pub fn peers(count: usize, relayed: usize) -> String {
    let noun = if count == 1 { "peer" } else { "peers" };
    if relayed == 0 { format!("{count} {noun}") } else { format!("{count} {noun}, {relayed} relayed") }
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this file: a failure is a bug here, and the default style is still usable.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> ")
}

fn short(content: ContentId) -> String {
    content.to_string()[..8].to_owned()
}
