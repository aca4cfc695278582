// Homes behind NAT routers, for tests of NAT traversal: real Linux NAT (iptables MASQUERADE) in network namespaces
// inside the test namespace (scripts/netns.sh), so nothing leaves the machine.
//
//   public side (the test namespace itself): 198.51.100.1 on its loopback, where the signaling server and coturn
//   listen; one veth link per home, 203.0.113.(8i+1)/29 on this side.
//
//   a home of kind `none`: one namespace, the peer's, with the link's other end 203.0.113.(8i+2) (a public address,
//     as a server or an open network has).
//   a home of kind `cone` or `symmetric`: a router namespace (WAN 203.0.113.(8i+2), LAN 192.168.i.1/24) and the
//     peer's namespace (192.168.i.2/24, default route through the router). The router masquerades what leaves by its
//     WAN and drops what comes in unasked, like a home router: `cone` keeps the source port (MASQUERADE maps a
//     source to one public port for every destination, "endpoint-independent mapping"), `symmetric` picks a random
//     port per destination (`--random-fully`: "endpoint-dependent mapping", as carrier-grade and many corporate
//     NATs do), so that the address a STUN server sees is not the one another peer would.
//
// Every namespace lives as long as a `sleep` process that holds it; killing the holders removes the namespaces and,
// with them, every veth link. Needs root (inside scripts/netns.sh) and iptables.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { until } from './deadline.mjs';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { openLink, seed, saveAndHash, waitComplete } from './app.mjs';
import { CHROMIUM_ARGS } from './browser.mjs';
import { startCoturn } from './coturn.mjs';
import { tempDir } from './files.mjs';
import { nativeGet, nativeSeed } from './native-peer.mjs';
import { CHROMIUM } from './paths.mjs';
import { startSignaling } from './server.mjs';

const run = promisify(execFile);

/** The public side's address: the signaling server, coturn and the page are reached there. */
export const PUBLIC = '198.51.100.1';
export const IPTABLES = process.env.IPTABLES || '/usr/sbin/iptables';
export const KINDS = ['none', 'cone', 'symmetric'];

/** Why NAT tests cannot run here, or null: they need root inside the test namespace, and iptables. */
export function natUnavailable() {
  if (process.getuid?.() !== 0 || !process.env.P2P_IN_NETNS) return 'needs root inside scripts/netns.sh';
  if (!existsSync(IPTABLES)) return `no ${IPTABLES} (scripts/lib/ensure.sh installs it)`;
  return null;
}

/** Starts a process holding a new network namespace; resolves with it once the namespace exists. */
async function holder() {
  const child = spawn('unshare', ['--net', '--', 'sh', '-c', 'echo up; exec sleep infinity'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`unshare --net exited (${code})`))),
  ]);
  if (line !== 'up') throw new Error(`unexpected output from the namespace holder: ${line}`);
  return child;
}

/** `nsenter --net=...` for the namespace `child` holds. */
const enter = (child) => ['nsenter', `--net=/proc/${child.pid}/ns/net`];

async function sh(argv) {
  try {
    await run(argv[0], argv.slice(1));
  } catch (e) {
    throw new Error(`${argv.join(' ')}: ${e.stderr || e.message}`);
  }
}

/**
 * Builds one home of `kind` as link `index` (1..30) of the public side. Resolves with the home: `prefix` (a
 * command prefix that runs a program in the peer's namespace), `address` (the peer's own address), `launchBrowser()`
 * (a Chromium in the peer's namespace that treats the public page as a secure origin), and `stop()`.
 */
export async function home(kind, index, pageOrigin) {
  if (!KINDS.includes(kind)) throw new Error(`unknown NAT kind ${kind}`);
  const holders = [];
  const outer = `nat${index}`;
  const near = `203.0.113.${8 * index + 1}`;
  const far = `203.0.113.${8 * index + 2}`;
  const stop = async () => {
    for (const h of holders) h.kill('SIGKILL');
    await Promise.all(holders.map((h) => (h.exitCode === null && h.signalCode === null ? once(h, 'exit') : null)));
  };
  try {
    const peer = await holder();
    holders.push(peer);
    const inPeer = enter(peer);
    let address;
    if (kind === 'none') {
      await sh(['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(peer.pid)]);
      await sh([...inPeer, 'ip', 'addr', 'add', `${far}/29`, 'dev', 'eth0']);
      await sh([...inPeer, 'ip', 'link', 'set', 'eth0', 'up']);
      await sh([...inPeer, 'ip', 'route', 'add', 'default', 'via', near]);
      address = far;
    } else {
      const router = await holder();
      holders.push(router);
      const inRouter = enter(router);
      await sh(['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'wan', 'netns', String(router.pid)]);
      await sh([...inRouter, 'ip', 'addr', 'add', `${far}/29`, 'dev', 'wan']);
      await sh([...inRouter, 'ip', 'link', 'set', 'wan', 'up']);
      await sh([...inRouter, 'ip', 'link', 'set', 'lo', 'up']);
      await sh([...inRouter, 'ip', 'route', 'add', 'default', 'via', near]);
      await sh([...inRouter, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      await sh([...inRouter, 'ip', 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(peer.pid)]);
      await sh([...inRouter, 'ip', 'addr', 'add', `192.168.${index}.1/24`, 'dev', 'lan']);
      await sh([...inRouter, 'ip', 'link', 'set', 'lan', 'up']);
      await sh([...inPeer, 'ip', 'addr', 'add', `192.168.${index}.2/24`, 'dev', 'eth0']);
      await sh([...inPeer, 'ip', 'link', 'set', 'eth0', 'up']);
      await sh([...inPeer, 'ip', 'route', 'add', 'default', 'via', `192.168.${index}.1`]);
      const ipt = [...inRouter, IPTABLES];
      await sh([...ipt, '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE',
        ...(kind === 'symmetric' ? ['--random-fully'] : [])]);
      // A home router: answers come in, nothing else. Dropped before conntrack confirms it, an unasked packet
      // leaves no entry behind that would change the mapping of the peer's own packet that follows.
      for (const chain of ['FORWARD', 'INPUT']) {
        await sh([...ipt, '-A', chain, '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
        await sh([...ipt, '-A', chain, '-i', 'wan', '-j', 'DROP']);
      }
      address = `192.168.${index}.2`;
    }
    await sh([...inPeer, 'ip', 'link', 'set', 'lo', 'up']);
    await sh(['ip', 'addr', 'add', `${near}/29`, 'dev', outer]);
    await sh(['ip', 'link', 'set', outer, 'up']);
    const browsers = [];
    return {
      kind,
      address,
      /** The address the home shows the public side (its router's, or the peer's own for `none`). */
      wan: far,
      prefix: inPeer,
      /** A Chromium whose network is this home's (started through nsenter; driven over a pipe, not a port). */
      async launchBrowser() {
        const dir = await tempDir();
        const wrapper = join(dir.path, 'chromium');
        await writeFile(wrapper, `#!/bin/sh\nexec ${inPeer.join(' ')} ${CHROMIUM} "$@"\n`);
        await chmod(wrapper, 0o755);
        const browser = await chromium.launch({
          executablePath: wrapper,
          headless: true,
          // The page is served over plain HTTP from a public address: a secure origin only by this flag.
          args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${pageOrigin}`],
        });
        browsers.push({ browser, dir });
        return browser;
      },
      async stop() {
        for (const { browser, dir } of browsers.splice(0)) {
          await browser.close().catch(() => {});
          await dir.remove();
        }
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Puts PUBLIC on the test namespace's loopback and lets it route between homes; `remove()` takes it off. */
export async function publicSide() {
  await sh(['ip', 'addr', 'add', `${PUBLIC}/32`, 'dev', 'lo']);
  await sh(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  return { remove: () => sh(['ip', 'addr', 'del', `${PUBLIC}/32`, 'dev', 'lo']) };
}

/**
 * Whether a connection between homes of these kinds can be direct: one side has a public address, or both NATs
 * keep the port a STUN server saw. Behind a symmetric NAT facing any NAT, only a relayed pair works.
 */
export const directPossible = (a, b) => a === 'none' || b === 'none' || (a === 'cone' && b === 'cone');

/**
 * Which path each of a swarm-peer's connections took, from its own log (RUST_LOG=peer_native::peer=info:
 * "connected peer=ID path=KIND", then "path changed peer=ID path=KIND" when ICE moves it): the latest per peer.
 */
export const NATIVE_LOG = { RUST_LOG: 'warn,peer_native::peer=info' };
export function nativePaths(stderr) {
  const latest = new Map();
  for (const m of stderr.matchAll(/ peer=(\w+) path=(direct|relayed)\b/g)) latest.set(m[1], m[2]);
  return [...latest.values()];
}
/** The peers `swarm-peer get` says it finished with: "saved PATH (2 peers, 1 relayed)". */
function savedFrom(stderr) {
  const m = /^saved .* \((\d+) peers?(?:, (\d+) relayed)?\)$/m.exec(stderr);
  assert.ok(m, `no "saved" line:\n${stderr}`);
  return { peers: Number(m[1]), relayed: Number(m[2] ?? 0) };
}
/** A row's count of peers reached through a relay, as the page shows it. */
const rowRelayed = async (row) => Number(await row.getAttribute('data-relayed-peers'));

/**
 * An init script: the path of every connection the page makes, `direct` or `relayed` (its selected pair's candidate
 * types), recorded in `window.testPaths` as it connects (a connection closed later keeps its entry) and read again
 * by `pagePaths` while it is still connected: ICE may move it to another pair after it connected.
 */
function keepPaths() {
  const Native = window.RTCPeerConnection;
  const entries = [];
  const pathOf = async (pc) => {
    const stats = [...(await pc.getStats()).values()];
    const byId = new Map(stats.map((r) => [r.id, r]));
    const transport = stats.find((r) => r.type === 'transport' && r.selectedCandidatePairId);
    const pair = transport && byId.get(transport.selectedCandidatePairId);
    if (!pair) return null;
    const types = [byId.get(pair.localCandidateId)?.candidateType, byId.get(pair.remoteCandidateId)?.candidateType];
    return types.includes('relay') ? 'relayed' : 'direct';
  };
  window.testPaths = async () => {
    for (const entry of entries) {
      if (entry.pc.connectionState === 'connected') entry.path = (await pathOf(entry.pc)) ?? entry.path;
    }
    return entries.map((entry) => entry.path);
  };
  window.RTCPeerConnection = class extends Native {
    constructor(config) {
      super(config);
      this.addEventListener('connectionstatechange', async () => {
        if (this.connectionState !== 'connected') return;
        const path = await pathOf(this);
        if (path) entries.push({ pc: this, path });
      });
    }
  };
}

/** The paths `keepPaths` recorded in `page`, the open connections' as they are now. */
const pagePaths = (page) => page.evaluate(() => window.testPaths());

/** Resolves once `check()` holds (asked every 100 ms), or fails with `what` after 10 s. */
const waitFor = (check, what) => until(10_000, what, check);

/**
 * The whole topology: the public side with coturn and the signaling server (handing out TURN credentials, as in
 * production, unless `relay` is false), and one seeder's home and one getter's home of each kind. `transfer()` runs
 * one cell, `user(kind, side)` gives a browser context in a home (side `seeder` or `getter`); `stop()` tears
 * everything down.
 */
export async function startNatWorld({ relay = true } = {}) {
  const cleanups = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
  };
  try {
    const pub = await publicSide();
    cleanups.push(pub.remove);
    const secret = randomBytes(24).toString('hex');
    const coturn = await startCoturn({ secret, host: PUBLIC });
    cleanups.push(coturn.stop);
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const secretFile = join(dir.path, 'turn-secret');
    await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
    // Without `relay`, coturn is only a STUN server: the server announces it as `stun:` and hands out no credential.
    const ice = relay
      ? ['--turn-url', coturn.url, '--turn-secret', secretFile]
      : ['--ice-server', coturn.url.replace(/^turn:/, 'stun:').replace(/\?.*$/, '')];
    const server = await startSignaling({ listen: `${PUBLIC}:0`, args: ice });
    cleanups.push(server.stop);
    const seederHomes = {};
    const getterHomes = {};
    let index = 1;
    for (const kind of KINDS) {
      seederHomes[kind] = await home(kind, index++, server.url);
      cleanups.push(seederHomes[kind].stop);
      getterHomes[kind] = await home(kind, index++, server.url);
      cleanups.push(getterHomes[kind].stop);
    }
    const browsers = new Map();
    const user = async (h) => {
      if (!browsers.has(h)) browsers.set(h, await h.launchBrowser());
      const context = await browsers.get(h).newContext({ acceptDownloads: true });
      await context.addInitScript(keepPaths);
      return context;
    };
    return {
      server,
      dir: dir.path,
      stop,
      /** The homes by side and kind (their `prefix` runs a command in their network namespace). */
      homes: { seeder: seederHomes, getter: getterHomes },
      user: (kind, side) => user((side === 'seeder' ? seederHomes : getterHomes)[kind]),
      /**
       * One cell: a fresh seeder (`browser` or `native`) in the seeder's home of kind `from` shares `file`, a fresh
       * getter in the getter's home of kind `to` downloads it byte-exact. Resolves with the path the connection took
       * (`relayed` if either side reports a relayed pair: the other may see the relay's address as a
       * peer-reflexive candidate) and the getter's time from opening the link to the file complete, in ms. The
       * pages' rows and swarm-peer's "saved" line must agree with the stacks' own reports.
       */
      async transfer({ seeder: seederKind, getter: getterKind, from, to, file }) {
        const cell = `${seederKind}-${getterKind} ${from} -> ${to}`;
        const contexts = [];
        let seeder = null;
        try {
          let link;
          let seederPage = null;
          let seederRow = null;
          let getterRow = null;
          const paths = { seeder: [], getter: [] };
          if (seederKind === 'browser') {
            const context = await user(seederHomes[from]);
            contexts.push(context);
            ({ link, page: seederPage, row: seederRow } = await seed(context, server.url, file));
          } else {
            const options = { serverIce: true, prefix: seederHomes[from].prefix, env: NATIVE_LOG };
            ({ peer: seeder, link } = await nativeSeed(server.url, file, [], options));
          }
          const started = performance.now();
          let ms;
          if (getterKind === 'browser') {
            const context = await user(getterHomes[to]);
            contexts.push(context);
            const { page, row } = await openLink(context, link);
            await waitComplete(row, 300_000);
            ms = performance.now() - started;
            assert.equal((await saveAndHash(row)).sha256, file.sha256, `${cell}: other bytes`);
            paths.getter = await pagePaths(page);
            getterRow = row;
          } else {
            const out = join(dir.path, `got-${randomBytes(4).toString('hex')}`);
            const options = { serverIce: true, prefix: getterHomes[to].prefix, env: NATIVE_LOG };
            const got = await nativeGet(server.url, link, out, file.sha256, [], options);
            ms = performance.now() - started;
            paths.getter = nativePaths(got.stderr());
            // What it tells its user agrees with its log.
            const saved = savedFrom(got.stderr());
            assert.ok(saved.peers >= 1, `${cell}: saved from no peer`);
            assert.equal(saved.relayed > 0, paths.getter.includes('relayed'), `${cell}: saved line ${JSON.stringify(saved)}`);
          }
          if (seederPage) {
            paths.seeder = await pagePaths(seederPage);
          } else {
            // A browser getter that nominated a relayed pair first (its direct check answered late) moves to the
            // direct one once it works; the swarm-peer notices at its next look at the path (1, 2, 4 ... s after
            // connecting). Given up to 10 s to follow; what it says then is what counts.
            const behind = () => getterKind === 'browser' && !paths.getter.includes('relayed') && paths.seeder.includes('relayed');
            const end = Date.now() + 10_000;
            do {
              paths.seeder = nativePaths(seeder.stderr());
              if (!behind()) break;
              await new Promise((resolve) => setTimeout(resolve, 100));
            } while (Date.now() < end);
          }
          assert.ok(paths.seeder.length > 0 && paths.getter.length > 0, `${cell}: a side reported no path`);
          const took = [...paths.seeder, ...paths.getter].includes('relayed') ? 'relayed' : 'direct';
          // The pages show it too: a row counts its relayed peers (both rows are still connected here).
          if (seederRow && getterRow) {
            if (took === 'relayed') {
              const rows = [seederRow, getterRow];
              await waitFor(async () => (await Promise.all(rows.map(rowRelayed))).some((n) => n > 0), `${cell}: no row says relayed`);
            } else {
              // A row that counted a relayed pair ICE since left follows at the page's next look at the path.
              const rows = [seederRow, getterRow];
              await waitFor(async () => (await Promise.all(rows.map(rowRelayed))).every((n) => n === 0), `${cell}: a row says relayed`);
            }
          }
          return { took, ms };
        } finally {
          for (const context of contexts) await context.close().catch(() => {});
          if (seeder) await seeder.stop();
        }
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
