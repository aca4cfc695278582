// Across NATs, for real: homes behind Linux NAT routers in network namespaces (tests/harness/nat.mjs), coturn and
// the signaling server on the public side, the server handing out TURN credentials as in production. For every
// pair of NAT kinds {none, cone, symmetric} (seeder's home, getter's home) and every pair of peers {browser to
// browser, swarm-peer to browser, swarm-peer to swarm-peer}, a fresh seeder and a fresh getter move a file byte-exact;
// the connection is direct where the NATs allow it (a public side, or two port-keeping NATs) and relayed through
// coturn otherwise (symmetric NAT facing a NAT), as each side's own report of its path says.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openLink, seed, saveAndHash, waitComplete } from '../harness/app.mjs';
import { startCoturn } from '../harness/coturn.mjs';
import { randomFile, tempDir } from '../harness/files.mjs';
import { directPossible, home, KINDS, natUnavailable, PUBLIC, publicSide } from '../harness/nat.mjs';
import { haveSwarmPeer, nativeGet, nativeSeed, SWARM_PEER_BIN } from '../harness/native-peer.mjs';
import { startSignaling } from '../harness/server.mjs';

const FILE_SIZE = 1024 * 1024 + 5;
const CELL_TIMEOUT_MS = 60_000;
/** Which path a swarm-peer took, from its own log (RUST_LOG=peer_native::peer=info: "connected ... path=KIND"). */
const NATIVE_LOG = { RUST_LOG: 'warn,peer_native::peer=info' };
const nativePaths = (stderr) => [...stderr.matchAll(/ path=(direct|relayed)\b/g)].map((m) => m[1]);
/** The peers `swarm-peer get` says it finished with: "saved PATH (2 peers, 1 relayed)". */
function savedFrom(stderr) {
  const m = /^saved .* \((\d+) peers?(?:, (\d+) relayed)?\)$/m.exec(stderr);
  assert.ok(m, `no "saved" line:\n${stderr}`);
  return { peers: Number(m[1]), relayed: Number(m[2] ?? 0) };
}
/** A row's count of peers reached through a relay, as the page shows it. */
const rowRelayed = async (row) => Number(await row.getAttribute('data-relayed-peers'));

/** An init script: every connection the page makes, kept in `window.testPcs` (read with `pagePaths`). */
function keepConnections() {
  const Native = window.RTCPeerConnection;
  window.testPcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config) {
      super(config);
      window.testPcs.push(this);
    }
  };
}

/** `direct` or `relayed` for each connection of `page` that carried data (its selected pair's candidate types). */
async function pagePaths(page) {
  return page.evaluate(async () => {
    const paths = [];
    for (const pc of window.testPcs) {
      const stats = [...(await pc.getStats()).values()];
      const byId = new Map(stats.map((r) => [r.id, r]));
      const transport = stats.find((r) => r.type === 'transport' && r.selectedCandidatePairId);
      const pair = transport && byId.get(transport.selectedCandidatePairId);
      if (pair && pair.bytesReceived + pair.bytesSent > 0) {
        const types = [byId.get(pair.localCandidateId)?.candidateType, byId.get(pair.remoteCandidateId)?.candidateType];
        paths.push(types.includes('relay') ? 'relayed' : 'direct');
      }
    }
    return paths;
  });
}

/** Resolves once `check()` holds (asked every 100 ms), or fails with `what` after 10 s. */
async function waitFor(check, what) {
  const end = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(what);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const skip = natUnavailable() ?? (haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`);

test('every_nat_pair_moves_a_file_directly_where_it_can_and_through_the_relay_where_it_must', { timeout: 600_000, skip }, async () => {
  const cleanups = [];
  const results = [];
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
    const server = await startSignaling({
      listen: `${PUBLIC}:0`,
      args: ['--turn-url', coturn.url, '--turn-secret', secretFile],
    });
    cleanups.push(server.stop);
    // Seeders' homes and getters' homes: one of each kind on each side, each behind its own router.
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
    const browserOf = async (h) => {
      if (!browsers.has(h)) browsers.set(h, await h.launchBrowser());
      return browsers.get(h);
    };
    const user = async (h) => {
      const context = await (await browserOf(h)).newContext({ acceptDownloads: true });
      await context.addInitScript(keepConnections);
      return context;
    };

    for (const pair of ['browser-browser', 'native-browser', 'native-native']) {
      for (const from of KINDS) {
        for (const to of KINDS) {
          const cell = `${pair} ${from} -> ${to}`;
          const expected = directPossible(from, to) ? 'direct' : 'relayed';
          const started = Date.now();
          const file = await randomFile(dir.path, `${pair}-${from}-${to}.bin`, FILE_SIZE);
          const contexts = [];
          let seeder = null;
          try {
            let link;
            const paths = { seeder: [], getter: [] };
            let seederPage = null;
            let seederRow = null;
            let getterRow = null;
            if (pair.startsWith('browser')) {
              const context = await user(seederHomes[from]);
              contexts.push(context);
              ({ link, page: seederPage, row: seederRow } = await seed(context, server.url, file));
            } else {
              ({ peer: seeder, link } = await nativeSeed(server.url, file, [], {
                serverIce: true,
                prefix: seederHomes[from].prefix,
                env: NATIVE_LOG,
              }));
            }
            if (pair.endsWith('browser')) {
              const context = await user(getterHomes[to]);
              contexts.push(context);
              const { page, row } = await openLink(context, link);
              await waitComplete(row, CELL_TIMEOUT_MS);
              assert.equal((await saveAndHash(row)).sha256, file.sha256, `${cell}: other bytes`);
              paths.getter = await pagePaths(page);
              getterRow = row;
            } else {
              const got = await nativeGet(server.url, link, join(dir.path, `got-${pair}-${from}-${to}`), file.sha256, [], {
                serverIce: true,
                prefix: getterHomes[to].prefix,
                env: NATIVE_LOG,
              });
              paths.getter = nativePaths(got.stderr());
              // What it tells its user agrees with its log.
              const saved = savedFrom(got.stderr());
              assert.ok(saved.peers >= 1, `${cell}: saved from no peer`);
              assert.equal(saved.relayed > 0, paths.getter.includes('relayed'), `${cell}: saved line ${JSON.stringify(saved)}`);
            }
            paths.seeder = seederPage ? await pagePaths(seederPage) : nativePaths(seeder.stderr());
            // A relayed pair on either side means the data went through coturn: the other side may see the
            // relay's address as a peer-reflexive candidate, which it cannot tell from a direct one.
            const took = [...paths.seeder, ...paths.getter].includes('relayed') ? 'relayed' : 'direct';
            assert.ok(paths.seeder.length > 0 && paths.getter.length > 0, `${cell}: a side reported no path`);
            // The pages show it too: a row counts its relayed peers (both rows are still connected here).
            const rows = [seederRow, getterRow].filter(Boolean);
            if (rows.length > 0 && took === 'relayed' && rows.length === 2) {
              await waitFor(async () => (await Promise.all(rows.map(rowRelayed))).some((n) => n > 0), `${cell}: no row says relayed`);
            } else if (took === 'direct') {
              for (const row of rows) assert.equal(await rowRelayed(row), 0, `${cell}: a row says relayed`);
            }
            results.push({ cell, expected, took, ms: Date.now() - started, ok: took === expected });
          } catch (e) {
            results.push({ cell, expected, took: `failed: ${e.message.split('\n')[0]}`, ms: Date.now() - started, ok: false });
          } finally {
            for (const context of contexts) await context.close().catch(() => {});
            if (seeder) await seeder.stop();
          }
        }
      }
    }
    console.log(results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.cell}: ${r.took} (expected ${r.expected}) in ${r.ms} ms`).join('\n'));
    assert.deepEqual(results.filter((r) => !r.ok), [], 'cells that did not complete as expected');
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
  }
});
