# Sourced by start.sh, test.sh and bench.sh: installs what a fresh Debian machine lacks, and nothing else.
# Each `ensure_*` is quick when the thing is already there, so every script calls the ones it needs.

# The repository root, whatever the caller's working directory.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT
# One target directory for every build (native debug, native release, wasm32), honouring CARGO_TARGET_DIR.
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export TARGET_DIR

is_root() { [ "$(id -u)" = 0 ]; }

apt_updated=0
apt_install() {
  if ! is_root; then
    echo "error: $* missing; install it (Debian: sudo apt-get install -y $*) or run as root" >&2
    return 1
  fi
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# A program the tests drive, named by the environment variable VAR: its value if set (it must be an executable),
# else Debian's DEFAULT, installed from PACKAGE when missing (as root); VAR is exported either way.
#   ensure_program VAR DEFAULT PACKAGE [--no-service]
# --no-service: install without starting the package's own service (policy-rc.d), for servers the tests start.
ensure_program() {
  local var=$1 default=$2 package=$3 no_service=${4:-}
  local path=${!var:-}
  if [ -n "$path" ]; then
    if [ ! -x "$path" ]; then
      echo "error: $var=$path is not an executable" >&2
      return 1
    fi
  else
    path=$default
    if [ ! -x "$path" ]; then
      local policy=/usr/sbin/policy-rc.d
      if [ -n "$no_service" ] && is_root && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
        apt_install "$package" || { rm -f "$policy"; return 1; }
        rm -f "$policy"
      else
        apt_install "$package"
      fi
    fi
  fi
  printf -v "$var" '%s' "$path"
  export "${var?}"
}

# Chromium for the browser suite and the benchmark. Playwright never downloads a browser of its own here.
ensure_chromium() { ensure_program CHROMIUM /usr/bin/chromium chromium; }

# Info-ZIP's unzip: the folder specs read the .zip a page saves with it (tests/harness/files.mjs, zipHashes). Not
# named UNZIP: unzip reads that variable as default options.
ensure_unzip() { ensure_program UNZIP_BIN /usr/bin/unzip unzip; }

# Firefox ESR for the cross-engine specs: stock Firefox, driven by puppeteer-core over WebDriver BiDi.
ensure_firefox() { ensure_program FIREFOX /usr/bin/firefox-esr firefox-esr; }

# npm packages (playwright-core and puppeteer-core, pinned in package-lock.json), installed exactly as locked.
# Neither downloads a browser: the suite drives Debian's.
ensure_node_modules() {
  if [ ! -f "$ROOT/node_modules/playwright-core/package.json" ] ||
    [ ! -f "$ROOT/node_modules/puppeteer-core/package.json" ] ||
    [ ! -f "$ROOT/node_modules/client-zip/package.json" ]; then
    (cd "$ROOT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund \
      --loglevel=error)
  fi
}

# The wasm32 target. rust-toolchain.toml names it, and rustup installs it with the toolchain; this checks, and
# adds it when a toolchain installed before that file lacks it.
ensure_wasm_target() {
  if ! (cd "$ROOT" && rustup target list --installed | grep -qx wasm32-unknown-unknown); then
    (cd "$ROOT" && rustup target add wasm32-unknown-unknown)
  fi
}

# coturn (`turnserver`) for the TURN specs; the tests start it themselves, on their own ports.
ensure_coturn() { ensure_program TURNSERVER /usr/bin/turnserver coturn --no-service; }

# redis-server for the multi-instance signaling tests (signaling --redis); the tests start it themselves, on free ports.
ensure_redis() { ensure_program REDIS_SERVER /usr/bin/redis-server redis-server --no-service; }

# nginx for the reverse-proxy spec; the tests start it themselves, on their own ports.
ensure_nginx() { ensure_program NGINX /usr/sbin/nginx nginx --no-service; }

# `unshare` and `ip` for the private network namespace, needed only as root (see scripts/netns.sh).
ensure_netns_tools() {
  is_root || return 0
  command -v unshare >/dev/null || apt_install util-linux
  command -v ip >/dev/null || apt_install iproute2
  command -v nsenter >/dev/null || apt_install util-linux
}

# iptables for the NAT routers of the NAT-traversal spec (tests/harness/nat.mjs), needed only as root.
ensure_iptables() {
  is_root || return 0
  ensure_program IPTABLES /usr/sbin/iptables iptables --no-service
}

# Builds the web app's wasm (release-wasm profile) into www/pkg/.
build_wasm() {
  (cd "$ROOT" && cargo run -q --locked -p xtask -- build-wasm)
}
