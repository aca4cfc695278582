// Across NATs, for real: homes behind Linux NAT routers in network namespaces (tests/harness/nat.mjs), coturn and
// the signaling server on the public side, the server handing out TURN credentials as in production. For every
// pair of NAT kinds {none, cone, symmetric} (seeder's home, getter's home) and every pair of peers {browser to
// browser, swarm-peer to browser, swarm-peer to swarm-peer}, a fresh seeder and a fresh getter move a file byte-exact;
// the connection is direct where the NATs allow it (a public side, or two port-keeping NATs) and relayed through
// coturn otherwise (symmetric NAT facing a NAT), as each side's own report of its path says, and as the pages'
// rows and swarm-peer's "saved" line say.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { openLink, seed } from '../harness/app.mjs';
import { until } from '../harness/deadline.mjs';
import { randomFile, sha256File } from '../harness/files.mjs';
import { directPossible, IPTABLES, KINDS, NATIVE_LOG, nativePaths, natUnavailable, startNatWorld } from '../harness/nat.mjs';
import { haveSwarmPeer, nativeSeed, startSwarmPeer, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

const FILE_SIZE = 1024 * 1024 + 5;
const PAIRS = [['browser', 'browser'], ['native', 'browser'], ['native', 'native']];

const skip = natUnavailable() ?? (haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`);

test('every_nat_pair_moves_a_file_directly_where_it_can_and_through_the_relay_where_it_must', { timeout: 600_000, skip }, async () => {
  const world = await startNatWorld();
  const results = [];
  try {
    for (const [seeder, getter] of PAIRS) {
      for (const from of KINDS) {
        for (const to of KINDS) {
          const cell = `${seeder}-${getter} ${from} -> ${to}`;
          const expected = directPossible(from, to) ? 'direct' : 'relayed';
          const file = await randomFile(world.dir, `${seeder}-${getter}-${from}-${to}.bin`, FILE_SIZE);
          try {
            const { took, ms } = await world.transfer({ seeder, getter, from, to, file });
            results.push({ cell, expected, took, ms: Math.round(ms), ok: took === expected });
          } catch (e) {
            results.push({ cell, expected, took: `failed: ${e.message.split('\n')[0]}`, ok: false });
          }
        }
      }
    }
  } finally {
    await world.stop();
  }
  console.log(results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.cell}: ${r.took} (expected ${r.expected}) ${r.ms ?? '-'} ms`).join('\n'));
  assert.deepEqual(results.filter((r) => !r.ok), [], 'cells that did not complete as expected');
});

// Without a relay, two browsers behind symmetric NATs have no path: after the connect limit (30 s) the getter's page
// says so once, naming the missing relay, and the download waits (it is not failed: a peer may come that it can
// reach). The node's backoff between attempts is swarm/tests/node_unreachable.rs.
test('without_a_relay_a_peer_behind_a_symmetric_nat_is_said_unreachable_once', { timeout: 180_000, skip }, async () => {
  const world = await startNatWorld({ relay: false });
  try {
    const file = await randomFile(world.dir, 'unreachable.bin', 64 * 1024);
    const { link } = await seed(await world.user('symmetric', 'seeder'), world.server.url, file);
    const { page, row } = await openLink(await world.user('symmetric', 'getter'), link);
    const said = page.locator('[data-testid=error][data-kind=unreachable]');
    await said.first().waitFor({ timeout: 90_000 });
    assert.match(await said.first().textContent(), /could not be reached: .*no relay \(TURN\) server/);
    assert.equal(await said.count(), 1, 'said once');
    assert.equal(await row.getAttribute('data-state'), 'waiting', 'the download is not failed');
    assert.equal(await row.getAttribute('data-downloaded-bytes'), '0');
  } finally {
    await world.stop();
  }
});

// A connection that settled on the relay before its direct path answered moves to the direct path once it does.
// Two swarm-peers behind port-keeping NATs (direct when both answer in time): the public side drops what the two
// homes send each other until a side reports the connection relayed, then lets it through. The controlling
// side goes on checking the direct pairs and nominates one that works; both sides move to it (vendor/README.md,
// rtc-ice). The seeder sends at 1 MB/s so that the transfer outlasts the move.
test('a_relayed_connection_moves_to_the_direct_path_once_it_answers', { timeout: 180_000, skip }, async () => {
  const world = await startNatWorld();
  const { seeder: seederHomes, getter: getterHomes } = world.homes;
  const between = (a, b) => ['FORWARD', '-p', 'udp', '-s', a.wan, '-d', b.wan, '-j', 'DROP'];
  const rules = [between(seederHomes.cone, getterHomes.cone), between(getterHomes.cone, seederHomes.cone)];
  const iptables = (op, rule) => promisify(execFile)(IPTABLES, [op, ...rule]);
  let seeder = null;
  let getter = null;
  try {
    for (const rule of rules) await iptables('-I', rule);
    const file = await randomFile(world.dir, 'moves.bin', 8_000_000);
    const native = (home) => ({ serverIce: true, prefix: home.prefix, env: NATIVE_LOG });
    const seeded = await nativeSeed(world.server.url, file, ['--max-upload-rate', '1MB/s'], native(seederHomes.cone));
    seeder = seeded.peer;
    const { link } = seeded;
    const out = join(world.dir, 'moved.bin');
    getter = startSwarmPeer(world.server.url, ['get', link, '-o', out], native(getterHomes.cone));
    // Either side may be the one that sees it: the other can know the relay's address as a peer-reflexive one.
    const relayed = () => [seeder, getter].some((p) => nativePaths(p.stderr()).includes('relayed'));
    await until(30_000, 'the connection to settle on the relay', relayed);
    for (const rule of rules) await iptables('-D', rule);
    const moved = () => [seeder, getter].every((p) => {
      const paths = nativePaths(p.stderr());
      return paths.length > 0 && paths.every((path) => path === 'direct');
    });
    await until(30_000, 'both sides to move to the direct path', moved);
    const { code } = await getter.exited;
    assert.equal(code, 0, `swarm-peer get failed:\n${getter.stderr()}`);
    assert.equal(await sha256File(out), file.sha256, 'other bytes');
  } finally {
    for (const rule of rules) await iptables('-D', rule).catch(() => {});
    await getter?.stop();
    await seeder?.stop();
    await world.stop();
  }
});
