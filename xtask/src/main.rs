//! Build tool for the workspace (the xtask pattern): `cargo run -q -p xtask -- <command>`.
//!
//! Commands:
//! - `build-wasm [--dev]`: builds `peer-wasm` for `wasm32-unknown-unknown` (profile `release-wasm`, or `dev` with
//!   `--dev` for a fast unoptimised build) and runs the wasm-bindgen step (target `web`) into `www/pkg/`
//!   (`peer_wasm.js`, `peer_wasm_bg.wasm`).
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

use std::process::ExitCode;

const USAGE: &str = "usage: cargo run -q -p xtask -- build-wasm [--dev]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["build-wasm"] => build_wasm::run(build_wasm::Profile::Release),
        ["build-wasm", "--dev"] => build_wasm::run(build_wasm::Profile::Dev),
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
