// TURN with credentials that expire, through a real coturn (`use-auth-secret`): the signaling server hands every
// connection its own credential (`--turn-url`, `--turn-secret`), and two browsers that may only use relayed
// candidates (iceTransportPolicy "relay", a test-only setting made by patching RTCPeerConnection before the page
// loads) move a file byte-exact through the relay. A server whose secret is not coturn's hands out credentials
// coturn refuses: nothing moves.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { openLink, saveAndHash, seed, waitComplete } from '../harness/app.mjs';
import { relayOnly, startCoturn } from '../harness/coturn.mjs';
import { tempDir } from '../harness/files.mjs';
import { startSignaling } from '../harness/server.mjs';
import { haveSwarmPeer, nativeSeed, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

const MiB = 1024 * 1024;

/** The candidate types (local, remote) of the selected pair of each connection of `page` that carried data. */
async function selectedPairs(page) {
  return page.evaluate(async () => {
    const pairs = [];
    for (const pc of window.testPcs) {
      const stats = [...(await pc.getStats()).values()];
      const byId = new Map(stats.map((r) => [r.id, r]));
      const transport = stats.find((r) => r.type === 'transport' && r.selectedCandidatePairId);
      const pair = transport && byId.get(transport.selectedCandidatePairId);
      if (pair && pair.bytesReceived + pair.bytesSent > 0) {
        pairs.push([byId.get(pair.localCandidateId)?.candidateType, byId.get(pair.remoteCandidateId)?.candidateType]);
      }
    }
    return pairs;
  });
}

/** coturn with a secret, and a signaling server handing out credentials made with `serverSecret`. */
async function relayWorld(coturnSecret, serverSecret) {
  const coturn = await startCoturn({ secret: coturnSecret });
  const dir = await tempDir();
  const secretFile = join(dir.path, 'turn-secret');
  await writeFile(secretFile, `${serverSecret}\n`, { mode: 0o600 });
  const server = await startSignaling({ args: ['--turn-url', coturn.url, '--turn-secret', secretFile] }).catch(
    async (e) => {
      await coturn.stop();
      throw e;
    },
  );
  return {
    coturn,
    server,
    async stop() {
      await server.stop();
      await coturn.stop();
      await dir.remove();
    },
  };
}

async function relayUser(s) {
  const context = await s.user();
  await context.addInitScript(relayOnly);
  return context;
}

spec('two_browsers_move_a_file_through_coturn_with_credentials_of_their_own', { timeout: 120_000 }, async (s) => {
  const secret = randomBytes(24).toString('hex');
  const world = await relayWorld(secret, secret);
  try {
    const file = await s.file('relayed.bin', 3 * MiB + 77);
    const { link } = await seed(await relayUser(s), world.server.url, file);
    const { page, row } = await openLink(await relayUser(s), link);
    await waitComplete(row, 90_000);
    const saved = await saveAndHash(row);
    assert.equal(saved.sha256, file.sha256);
    const pairs = await selectedPairs(page);
    assert.ok(pairs.length > 0, 'no connection carried data');
    assert.deepEqual(pairs.filter(([l, r]) => l !== 'relay' || r !== 'relay'), [], 'a pair that is not relayed');
    // Both browsers allocated on coturn, each with its own expiring username (`<expiry>:<peer id>`).
    const users = new Set(
      world.coturn.lines().flatMap((l) => [...l.matchAll(/username=<(\d+):([0-9a-f]{32})>/g)].map((m) => m[2])),
    );
    assert.ok(users.size >= 2, `coturn saw ${users.size} users:\n${world.coturn.lines().slice(-20).join('\n')}`);
  } finally {
    await world.stop();
  }
});

spec(
  'a_browser_that_may_only_relay_downloads_from_swarm_peer_through_coturn',
  { timeout: 120_000, skip: haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)` },
  async (s) => {
    const secret = randomBytes(24).toString('hex');
    const world = await relayWorld(secret, secret);
    try {
      // swarm-peer takes the server's ICE servers (the TURN entry with its own credential), and may use any pair.
      const file = await s.file('native-relayed.bin', 3 * MiB + 11);
      const { peer, link } = await nativeSeed(world.server.url, file, [], { serverIce: true });
      try {
        const { page, row } = await openLink(await relayUser(s), link);
        await waitComplete(row, 90_000);
        assert.equal((await saveAndHash(row)).sha256, file.sha256);
        const pairs = await selectedPairs(page);
        assert.ok(pairs.length > 0 && pairs.every(([local]) => local === 'relay'), JSON.stringify(pairs));
      } finally {
        await peer.stop();
      }
    } finally {
      await world.stop();
    }
  },
);

spec('credentials_the_relay_refuses_move_nothing_and_the_page_says_why', { timeout: 120_000 }, async (s) => {
  // The signaling server's secret is not coturn's: every credential it hands out is forged, as far as coturn knows.
  const world = await relayWorld(randomBytes(24).toString('hex'), randomBytes(24).toString('hex'));
  try {
    const file = await s.file('refused.bin', 256 * 1024);
    const { link } = await seed(await relayUser(s), world.server.url, file);
    const { page, row } = await openLink(await relayUser(s), link);
    const said = page.locator('[data-testid=error][data-kind=turn]');
    await said.waitFor({ timeout: 30_000 });
    assert.match(await said.textContent(), /relay server \(TURN\) refused the credentials this site gave \(401/);
    assert.equal(await said.count(), 1, 'said once');
    assert.equal(await row.getAttribute('data-downloaded-bytes') ?? '0', '0', 'bytes moved without a relay');
    assert.ok(
      world.coturn.lines().some((l) => /401|Unauthorized|cannot find credentials|check_stun_auth/i.test(l)),
      `coturn did not refuse:\n${world.coturn.lines().slice(-20).join('\n')}`,
    );
  } finally {
    await world.stop();
  }
});
