//! Build tool for the workspace (the xtask pattern): `cargo run -q -p xtask -- <command>`.
//!
//! Commands:
//! - `build-wasm [--dev] [--out-dir DIR] [--keep-names]`: builds `peer-wasm` for `wasm32-unknown-unknown` (profile
//!   `release-wasm`, or `dev` with `--dev` for a fast unoptimised build) and runs the wasm-bindgen step (target
//!   `web`) into `www/pkg/` (`peer_wasm.js`, `peer_wasm_bg.wasm`), or into DIR: a size experiment then does not
//!   replace the app a browser suite in the same tree is serving. `--keep-names` keeps the function names of an
//!   optimized build, for size analysis only (`twiggy top DIR/peer_wasm_bg.wasm`); it builds into its own target
//!   directory (`target/keep-names`) so the shipped build is not rebuilt afterwards.
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

const USAGE: &str = "usage: cargo run -q -p xtask -- build-wasm [--dev] [--out-dir DIR] [--keep-names]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((command, options)) if command == "build-wasm" => {
            build_wasm_options(options).and_then(|options| build_wasm::run(&options))
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

/// `[--dev] [--out-dir DIR] [--keep-names]`, in any order.
fn build_wasm_options(args: &[String]) -> Result<build_wasm::Options, String> {
    let mut options = build_wasm::Options { profile: build_wasm::Profile::Release, out_dir: None, keep_names: false };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dev" => options.profile = build_wasm::Profile::Dev,
            "--keep-names" => options.keep_names = true,
            "--out-dir" => match args.next() {
                Some(dir) => options.out_dir = Some(PathBuf::from(dir)),
                None => return Err(format!("--out-dir needs a directory\n{USAGE}")),
            },
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(options)
}
