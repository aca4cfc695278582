// The native command-line peer (`swarm-peer`, peer-native/) as a real process beside the browsers: started with
// the test's signaling server, stopped (SIGINT, then SIGKILL) on teardown.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './paths.mjs';
import { within } from './deadline.mjs';
import { sha256File } from './files.mjs';

const targetDir = process.env.CARGO_TARGET_DIR || join(ROOT, 'target');
/**
 * `cargo test --workspace` builds it (debug) for peer-native's own tests, with the test-only `lying` feature that
 * `--lie` needs; SWARM_PEER_BIN overrides.
 */
export const SWARM_PEER_BIN = process.env.SWARM_PEER_BIN || join(targetDir, 'debug', 'swarm-peer');
/** Hashing a test file and printing its link, in milliseconds (debug build: SHA-256 is slow). */
const LINK_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** The last 50 lines `stream` printed, kept as they come (for a failure's message). */
function lastLines(stream) {
  const lines = [];
  createInterface({ input: stream }).on('line', (line) => {
    lines.push(line);
    if (lines.length > 50) lines.shift();
  });
  return lines;
}

/** Whether the binary is there (the specs say so instead of failing obscurely). */
export const haveSwarmPeer = () => existsSync(SWARM_PEER_BIN);
/** Whether it was built with the test-only `lying` feature (a `cargo test` build is; `cargo build` is not). */
export const swarmPeerCanLie = () => haveSwarmPeer() && spawnSync(SWARM_PEER_BIN, ['--lie', '--help']).status === 0;

/** `ws://host:port/ws` of a test server whose page URL is `http://host:port`. */
export const wsUrl = (serverUrl) => `${serverUrl.replace(/^http/, 'ws')}/ws`;

/**
 * Starts `swarm-peer ARGS...` with the test server; `process.lines` yields stdout lines, `stop()` ends it.
 * WebRTC binds every interface: inside the test namespace that is the veth pair the browsers use. `serverIce`: use
 * the ICE servers the signaling server announces (off by default: `--no-server-ice`). `prefix`: a command that runs
 * it, e.g. `nsenter --net=...` to start it in another network namespace (tests/harness/nat.mjs); `env`: variables
 * on top of this process's (RUST_LOG is `warn` unless set).
 */
export function startSwarmPeer(serverUrl, args, { serverIce = false, prefix = [], env = {} } = {}) {
  // Without the server's ICE servers unless asked: the suite's servers announce none, except a TURN test's.
  const ice = serverIce ? [] : ['--no-server-ice'];
  const command = [...prefix, SWARM_PEER_BIN, '-q', '--signaling', wsUrl(serverUrl), ...ice, ...args];
  const child = spawn(command[0], command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { RUST_LOG: 'warn', ...process.env, ...env },
  });
  const stderr = lastLines(child.stderr);
  const stdout = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout.push(line);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // After 'exit', once stdout and stderr are closed: every line has been read by then.
  const closed = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let running = true;
  exited.then(() => {
    running = false;
    for (const w of waiters.splice(0)) w();
  });
  const p = {
    stderr: () => stderr.join('\n'),
    /** The stdout lines printed so far. */
    stdout: () => [...stdout],
    exited,
    closed,
    /** Resolves with stdout line `n` (0-based) once printed; rejects if the process exits first. */
    async line(n, timeout = LINK_TIMEOUT_MS) {
      return within(
        timeout,
        `swarm-peer stdout line ${n}`,
        new Promise((resolve, reject) => {
          const check = () => {
            if (stdout.length > n) return resolve(stdout[n]);
            if (!running) return reject(new Error(`swarm-peer exited before line ${n}:\n${p.stderr()}`));
            waiters.push(check);
          };
          check();
        }),
      );
    },
    /** SIGINT (graceful: goodbyes, state file kept), SIGKILL if it does not exit in time. */
    async stop() {
      if (!running) return;
      child.kill('SIGINT');
      try {
        await within(STOP_TIMEOUT_MS, 'swarm-peer to exit on SIGINT', exited);
      } catch {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  return p;
}

/**
 * A native seeder of `file`: resolves with `{ peer, link }` once it printed the file's browser link. `list`: also
 * list it in search (`share --list`); without it the file is reachable by its link only.
 */
export async function nativeSeed(serverUrl, file, extraArgs = [], options = {}) {
  const list = options.list ? ['--list'] : [];
  const peer = startSwarmPeer(serverUrl, [...extraArgs, 'share', file.path, ...list], options);
  try {
    const link = await peer.line(0);
    return { peer, link };
  } catch (e) {
    await peer.stop();
    throw e;
  }
}

/**
 * Runs `swarm-peer [extraArgs] get LINK -o OUT` to its end: it must exit 0 having saved bytes whose SHA-256 is
 * `sha256`. Resolves with the finished process (its stdout lines stay readable).
 */
export async function nativeGet(serverUrl, link, out, sha256, extraArgs = [], options = {}) {
  const peer = startSwarmPeer(serverUrl, [...extraArgs, 'get', link, '-o', out], options);
  try {
    const { code } = await within(120_000, 'swarm-peer get to finish', peer.exited);
    assert.equal(code, 0, `swarm-peer get failed:\n${peer.stderr()}`);
    assert.equal(await sha256File(out), sha256, 'swarm-peer get saved other bytes');
    return peer;
  } finally {
    await peer.stop();
  }
}

/** Longest `swarm-peer search` run a spec waits for: its --wait plus connecting (a failure guard only). */
const SEARCH_TIMEOUT_MS = 90_000;

/**
 * Runs `swarm-peer --network NETWORK search WORDS... [extraArgs]` to its end; resolves with its exit code and its
 * results, parsed from the documented stdout format (one per line: link TAB size TAB name).
 */
export async function nativeSearch(serverUrl, network, words, extraArgs = []) {
  const peer = startSwarmPeer(serverUrl, ['--network', network, 'search', ...words, ...extraArgs]);
  try {
    const { code } = await within(SEARCH_TIMEOUT_MS, 'swarm-peer search to finish', peer.closed);
    const results = peer.stdout().map((line) => {
      const [link, size, name] = line.split('\t');
      return { link, size: Number(size), name, content: link.split('#')[1] };
    });
    return { code, results, stderr: peer.stderr() };
  } finally {
    await peer.stop();
  }
}

/** The transport probe (peer-native/examples/echo_peer.rs), which `cargo test --workspace` builds with the examples. */
export const ECHO_PEER_BIN = process.env.ECHO_PEER_BIN || join(targetDir, 'debug', 'examples', 'echo_peer');

/** Starts the echo probe in `swarm`; resolves with its process once it has joined. */
export async function startEchoPeer(serverUrl, swarm) {
  const child = spawn(ECHO_PEER_BIN, [wsUrl(serverUrl), swarm], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { RUST_LOG: 'warn', ...process.env },
  });
  const stderr = lastLines(child.stderr);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await within(
    LINK_TIMEOUT_MS,
    'echo_peer to join',
    new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => line === 'ready' && resolve());
      exited.then(() => reject(new Error(`echo_peer exited:\n${stderr.join('\n')}`)));
    }),
  );
  return {
    stderr: () => stderr.join('\n'),
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * The attacking signaling proxy (peer-native/examples/in_the_middle_proxy.rs, built by `cargo test --workspace`
 * with the examples): a server in the middle of every connection it introduces (PROTOCOL.md 2.11).
 */
export const IN_THE_MIDDLE_BIN = process.env.IN_THE_MIDDLE_BIN || join(targetDir, 'debug', 'examples', 'in_the_middle_proxy');

/**
 * Starts the proxy in front of the server at `upstream` (`host:port`), listening on the same host: resolves with
 * `{ url, bridged(), stop() }`, `url` its page address, `bridged()` the messages it carried so far
 * (`"<label> <type>"`, one per message).
 */
export async function startInTheMiddle(upstream) {
  const host = upstream.replace(/:\d+$/, '');
  const child = spawn(IN_THE_MIDDLE_BIN, [`${host}:0`, upstream], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { RUST_LOG: 'warn', ...process.env },
  });
  const stderr = lastLines(child.stderr);
  const lines = [];
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await within(
    LINK_TIMEOUT_MS,
    'in_the_middle_proxy to listen',
    new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (lines.length === 0 && line.startsWith('http://')) resolve(line);
        lines.push(line);
      });
      exited.then(() => reject(new Error(`in_the_middle_proxy exited:\n${stderr.join('\n')}`)));
    }),
  );
  return {
    url,
    bridged: () => lines.slice(1),
    stderr: () => stderr.join('\n'),
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
