//! `build-wasm`: compile `peer-wasm` to wasm32 and generate its JS bindings into `www/pkg/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::workspace::{Workspace, cargo};

const CRATE: &str = "peer-wasm";
const TARGET: &str = "wasm32-unknown-unknown";
/// The file name stem of the generated JS module and wasm file (`peer_wasm.js`, `peer_wasm_bg.wasm`).
const OUT_NAME: &str = "peer_wasm";

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
    let status = Command::new(cargo())
        .args(["build", "--lib", "-p", CRATE, "--target", TARGET, "--profile", profile.cargo_name()])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("PEER_WASM_KEEP_NAMES", if options.keep_names { "1" } else { "0" })
        .current_dir(&workspace.root)
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build of {CRATE} for {TARGET} failed ({status})"));
    }
    let input = target_dir.join(TARGET).join(profile.dir_name()).join(format!("{OUT_NAME}.wasm"));
    let out_dir = options.out_dir.clone().unwrap_or_else(|| workspace.root.join("www").join("pkg"));
    bindgen(&input, &out_dir, options.keep_names)?;
    if matches!(profile, Profile::Release) && !options.keep_names {
        optimize(&out_dir.join(format!("{OUT_NAME}_bg.wasm")))?;
    }
    eprintln!(
        "xtask: {} and {} written to {} in {:.1} s",
        format_args!("{OUT_NAME}.js"),
        format_args!("{OUT_NAME}_bg.wasm"),
        out_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Binaryen's `wasm-opt -O1` over the bindgen output, in place: 1.4 KB gzip less than rustc's `opt-level = "z"`
/// alone (BENCHMARKS.md, browser-size). Not `-Oz`, `-Os` or `-O2`: smaller raw, but larger once gzipped. The
/// features are those rustc's wasm32 target enables by default (the module has no `target_features` section left
/// to detect them from). `$WASM_OPT`, else `wasm-opt` on the PATH (Debian's `binaryen`, which `npm start` and
/// `npm test` install); without one the module is left as rustc made it, with a warning.
fn optimize(wasm: &Path) -> Result<(), String> {
    let tool = std::env::var("WASM_OPT").unwrap_or_else(|_| "wasm-opt".to_owned());
    let features = [
        "--enable-bulk-memory",
        "--enable-sign-ext",
        "--enable-mutable-globals",
        "--enable-nontrapping-float-to-int",
        "--enable-reference-types",
        "--enable-multivalue",
    ];
    let status = Command::new(&tool).args(features).arg("-O1").arg(wasm).arg("-o").arg(wasm).status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{tool} -O1 on {} failed ({s})", wasm.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "xtask: warning: {tool} not found (Debian: apt-get install binaryen): the wasm is not optimized further"
            );
            Ok(())
        }
        Err(e) => Err(format!("cannot run {tool}: {e}")),
    }
}

fn bindgen(input: &Path, out_dir: &Path, keep_names: bool) -> Result<(), String> {
    // Start from an empty directory so no file of an earlier build (a removed JS snippet) is served.
    match std::fs::remove_dir_all(out_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot empty {}: {e}", out_dir.display())),
    }
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(input)
        .out_name(OUT_NAME)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e:#}"))?
        .typescript(false)
        // Names only serve stack traces; the producers section only says which compiler built the module.
        .remove_name_section(!keep_names)
        .remove_producers_section(true);
    bindgen.generate(out_dir).map_err(|e| format!("wasm-bindgen on {}: {e:#}", input.display()))
}
