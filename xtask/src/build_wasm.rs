//! `build-wasm`: compile `peer-wasm` (the page's module) and `peer-wasm-qr` (QR codes, loaded when first shown) to
//! wasm32 and generate their JS bindings into `www/pkg/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::workspace::{Workspace, cargo};

/// The crates built, and the file name stem of each one's JS module and wasm file (`peer_wasm.js`,
/// `peer_wasm_bg.wasm`).
const CRATES: [(&str, &str); 2] = [("peer-wasm", "peer_wasm"), ("peer-wasm-qr", "peer_wasm_qr")];
const TARGET: &str = "wasm32-unknown-unknown";

#[derive(Debug, Clone, Copy)]
pub enum Profile {
    /// `release-wasm`: size-optimised, what `npm start` and the browser suite ship.
    Release,
    /// `dev`: unoptimised, for quick iteration.
    Dev,
}

impl Profile {
    fn cargo_name(self) -> &'static str {
        match self {
            Profile::Release => "release-wasm",
            Profile::Dev => "dev",
        }
    }
    /// Cargo puts the `dev` profile's output under `debug/`.
    fn dir_name(self) -> &'static str {
        match self {
            Profile::Release => "release-wasm",
            Profile::Dev => "debug",
        }
    }
}

#[derive(Debug)]
pub struct Options {
    pub profile: Profile,
    /// `www/pkg/` when `None`.
    pub out_dir: Option<PathBuf>,
    /// Keep function names (size analysis): `peer-wasm/build.rs` then does not strip them and the bindgen step keeps
    /// the name section.
    pub keep_names: bool,
}

pub fn run(options: &Options) -> Result<(), String> {
    let workspace = Workspace::locate()?;
    let started = Instant::now();
    let profile = options.profile;
    let target_dir =
        if options.keep_names { workspace.target_dir.join("keep-names") } else { workspace.target_dir.clone() };
    let packages = CRATES.iter().flat_map(|(name, _)| ["-p", name]);
    let status = Command::new(cargo())
        .args(["build", "--lib", "--target", TARGET, "--profile", profile.cargo_name()])
        .args(packages)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("PEER_WASM_KEEP_NAMES", if options.keep_names { "1" } else { "0" })
        .current_dir(&workspace.root)
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build of the wasm crates for {TARGET} failed ({status})"));
    }
    let out_dir = options.out_dir.clone().unwrap_or_else(|| workspace.root.join("www").join("pkg"));
    // Start from an empty directory so no file of an earlier build (a removed JS snippet) is served.
    match std::fs::remove_dir_all(&out_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot empty {}: {e}", out_dir.display())),
    }
    for (_, out_name) in CRATES {
        let input = target_dir.join(TARGET).join(profile.dir_name()).join(format!("{out_name}.wasm"));
        bindgen(&input, out_name, &out_dir, options.keep_names)?;
    }
    let names: Vec<String> = CRATES.iter().map(|(_, n)| format!("{n}.js")).collect();
    eprintln!(
        "xtask: {} (and their wasm) written to {} in {:.1} s",
        names.join(", "),
        out_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn bindgen(input: &Path, out_name: &str, out_dir: &Path, keep_names: bool) -> Result<(), String> {
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(input)
        .out_name(out_name)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e:#}"))?
        .typescript(false)
        // Names only serve stack traces; the producers section only says which compiler built the module.
        .remove_name_section(!keep_names)
        .remove_producers_section(true);
    bindgen.generate(out_dir).map_err(|e| format!("wasm-bindgen on {}: {e:#}", input.display()))
}
