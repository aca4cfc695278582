// Across NATs, for real: homes behind Linux NAT routers in network namespaces (tests/harness/nat.mjs), coturn and
// the signaling server on the public side, the server handing out TURN credentials as in production. For every
// pair of NAT kinds {none, cone, symmetric} (seeder's home, getter's home) and every pair of peers {browser to
// browser, swarm-peer to browser, swarm-peer to swarm-peer}, a fresh seeder and a fresh getter move a file byte-exact;
// the connection is direct where the NATs allow it (a public side, or two port-keeping NATs) and relayed through
// coturn otherwise (symmetric NAT facing a NAT), as each side's own report of its path says, and as the pages'
// rows and swarm-peer's "saved" line say.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openLink, seed } from '../harness/app.mjs';
import { randomFile } from '../harness/files.mjs';
import { directPossible, KINDS, natUnavailable, startNatWorld } from '../harness/nat.mjs';
import { haveSwarmPeer, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

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
