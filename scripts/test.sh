#!/usr/bin/env bash
# The one test command (`npm test`): lints, Rust tests, browser suite. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== clippy (wasm32)"
cargo clippy --locked --target wasm32-unknown-unknown -p swarm -p peer-wasm -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
