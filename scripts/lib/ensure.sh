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

# Chromium for the browser suite and the benchmark: $CHROMIUM if set, else Debian's /usr/bin/chromium,
# installed from Debian when root. Playwright never downloads a browser of its own here.
ensure_chromium() {
  if [ -n "${CHROMIUM:-}" ]; then
    if [ ! -x "$CHROMIUM" ]; then
      echo "error: CHROMIUM=$CHROMIUM is not an executable" >&2
      return 1
    fi
  else
    CHROMIUM=/usr/bin/chromium
    [ -x "$CHROMIUM" ] || apt_install chromium
  fi
  export CHROMIUM
}

# Firefox ESR for the browser suite's cross-engine specs: $FIREFOX if set, else Debian's /usr/bin/firefox-esr,
# installed from Debian when root. Stock Firefox, driven by puppeteer-core over WebDriver BiDi.
ensure_firefox() {
  if [ -n "${FIREFOX:-}" ]; then
    if [ ! -x "$FIREFOX" ]; then
      echo "error: FIREFOX=$FIREFOX is not an executable" >&2
      return 1
    fi
  else
    FIREFOX=/usr/bin/firefox-esr
    [ -x "$FIREFOX" ] || apt_install firefox-esr
  fi
  export FIREFOX
}

# npm packages (playwright-core and puppeteer-core, pinned in package-lock.json), installed exactly as locked.
# Neither downloads a browser: the suite drives Debian's.
ensure_node_modules() {
  if [ ! -f "$ROOT/node_modules/playwright-core/package.json" ] ||
    [ ! -f "$ROOT/node_modules/puppeteer-core/package.json" ]; then
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

# coturn (`turnserver`) for the TURN specs: $TURNSERVER if set, else Debian's, installed from Debian when root.
ensure_coturn() {
  if [ -n "${TURNSERVER:-}" ]; then
    if [ ! -x "$TURNSERVER" ]; then
      echo "error: TURNSERVER=$TURNSERVER is not an executable" >&2
      return 1
    fi
  else
    TURNSERVER=/usr/bin/turnserver
    [ -x "$TURNSERVER" ] || apt_install coturn
  fi
  export TURNSERVER
}

# nginx for the reverse-proxy spec: $NGINX if set, else Debian's, installed from Debian when root, without
# starting Debian's own service (policy-rc.d: the tests start nginx themselves, on their own ports).
ensure_nginx() {
  if [ -n "${NGINX:-}" ]; then
    if [ ! -x "$NGINX" ]; then
      echo "error: NGINX=$NGINX is not an executable" >&2
      return 1
    fi
  else
    NGINX=/usr/sbin/nginx
    if [ ! -x "$NGINX" ]; then
      local policy=/usr/sbin/policy-rc.d
      if is_root && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
        apt_install nginx || { rm -f "$policy"; return 1; }
        rm -f "$policy"
      else
        apt_install nginx
      fi
    fi
  fi
  export NGINX
}

# `unshare` and `ip` for the private network namespace, needed only as root (see scripts/netns.sh).
ensure_netns_tools() {
  is_root || return 0
  command -v unshare >/dev/null || apt_install util-linux
  command -v ip >/dev/null || apt_install iproute2
}

# Builds the web app's wasm (release-wasm profile) into www/pkg/.
build_wasm() {
  (cd "$ROOT" && cargo run -q --locked -p xtask -- build-wasm)
}
