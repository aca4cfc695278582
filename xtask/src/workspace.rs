//! Where the workspace and its target directory are.
//!
//! Asked of `cargo metadata` rather than guessed, so `CARGO_TARGET_DIR` and `build.target-dir` in a cargo config
//! are honoured and the wasm build shares the one target directory with everything else.

use std::path::PathBuf;
use std::process::Command;

#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
}

#[derive(serde::Deserialize)]
struct Metadata {
    workspace_root: PathBuf,
    target_directory: PathBuf,
}

impl Workspace {
    pub fn locate() -> Result<Workspace, String> {
        let output = Command::new(cargo())
            .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
            // The manifest next to this crate: works whatever the caller's working directory is.
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
        if !output.status.success() {
            return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr)));
        }
        let metadata: Metadata =
            serde_json::from_slice(&output.stdout).map_err(|e| format!("cannot parse cargo metadata: {e}"))?;
        Ok(Workspace { root: metadata.workspace_root, target_dir: metadata.target_directory })
    }
}

/// The cargo that runs this xtask (cargo sets `CARGO` for `cargo run`), so the toolchain is the same.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
