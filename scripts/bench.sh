#!/usr/bin/env bash
# `npm run bench`: the browser benchmark, inside the private network namespace (scripts/netns.sh). Its output is
# the `browser-bench` section of BENCHMARKS.md, written through scripts/bench-section.mjs.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$ROOT"
ensure_wasm_target
ensure_node_modules
ensure_chromium
ensure_netns_tools
build_wasm
cargo build -q --locked --release -p signaling
# Captured first: a failed run must leave BENCHMARKS.md as it was, not half-written.
table="$(SIGNALING_BIN="$TARGET_DIR/release/signaling" scripts/netns.sh node tests/bench/run.mjs)"
printf '%s\n' "$table" | node scripts/bench-section.mjs browser-bench
