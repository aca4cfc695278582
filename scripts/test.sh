#!/usr/bin/env bash
# The one test command (`npm test`): formatting, lints (native and wasm32), Rust tests, then the browser suite.
# Installs what is missing first (scripts/lib/ensure.sh). Native builds are debug only, in the one target
# directory: clippy, the Rust tests and the signaling server the browser suite runs share their dependencies.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$ROOT"
started=$SECONDS
step() { echo "== $* ($((SECONDS - started)) s)"; }

step "installing what is missing"
ensure_wasm_target
ensure_node_modules
ensure_chromium
ensure_firefox
ensure_unzip
ensure_coturn
ensure_redis
ensure_nginx
ensure_netns_tools
ensure_iptables
step "cargo fmt --check"
cargo fmt --all --check
step "vendored libraries match their npm packages"
node scripts/check-vendored.mjs
step "clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "clippy (wasm32)"
cargo clippy --locked --target wasm32-unknown-unknown -p swarm -p peer-wasm -p peer-wasm-qr -- -D warnings
step "cargo test"
cargo test --workspace --locked
step "building the web app (wasm, release) and the signaling server (debug)"
build_wasm
cargo build --locked -p signaling
step "browser suite"
SIGNALING_BIN="$TARGET_DIR/debug/signaling" scripts/netns.sh node tests/run.mjs
step "all passed"
