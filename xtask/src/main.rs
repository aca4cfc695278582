//! Build tool for the workspace (the xtask pattern): `cargo run -q -p xtask -- <command>`.
//!
//! Commands:
//! - `build-wasm [--dev] [--out-dir DIR]`: builds `peer-wasm` for `wasm32-unknown-unknown` (profile `release-wasm`,
//!   or `dev` with `--dev` for a fast unoptimised build) and runs the wasm-bindgen step (target `web`) into
//!   `www/pkg/` (`peer_wasm.js`, `peer_wasm_bg.wasm`), or into DIR: a size experiment then does not replace the app
//!   a browser suite in the same tree is serving.
//!
//! The bindgen step links `wasm-bindgen-cli-support` pinned to the exact `wasm-bindgen` version of the workspace, so
//! a fresh clone needs no `wasm-bindgen` CLI install and the two versions cannot drift apart.
//!
//! # Layout
//! - `main.rs`: argument parsing and command dispatch.
//! - `workspace.rs`: where the workspace and its target directory are (asks `cargo metadata`).
//! - `build_wasm.rs`: the `build-wasm` command.

mod build_wasm;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo run -q -p xtask -- build-wasm [--dev] [--out-dir DIR]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((command, options)) if command == "build-wasm" => {
            build_wasm_options(options).and_then(|(profile, out_dir)| build_wasm::run(profile, out_dir))
        }
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `[--dev] [--out-dir DIR]`, in any order.
fn build_wasm_options(options: &[String]) -> Result<(build_wasm::Profile, Option<PathBuf>), String> {
    let mut profile = build_wasm::Profile::Release;
    let mut out_dir = None;
    let mut options = options.iter();
    while let Some(option) = options.next() {
        match option.as_str() {
            "--dev" => profile = build_wasm::Profile::Dev,
            "--out-dir" => match options.next() {
                Some(dir) => out_dir = Some(PathBuf::from(dir)),
                None => return Err(format!("--out-dir needs a directory\n{USAGE}")),
            },
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok((profile, out_dir))
}
