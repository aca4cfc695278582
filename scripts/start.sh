#!/usr/bin/env bash
# `npm start`: builds the web app (wasm, release) and the signaling server (release), then runs the server serving
# www/ and prints its URL. Extra arguments go to the server, e.g. `npm start -- --listen 0.0.0.0:8080`.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$ROOT"
ensure_wasm_target
echo "== building the web app (wasm, release)" >&2
build_wasm
echo "== building the signaling server (release)" >&2
cargo build -q --locked --release -p signaling
# The server prints `listening on http://ADDR` (https with --tls-cert) once bound: that line is the URL to open.
exec "$TARGET_DIR/release/signaling" --www "$ROOT/www" "$@"
