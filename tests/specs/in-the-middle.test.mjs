// A signaling server in the middle of a browser's connection (PROTOCOL.md 2.11): a proxy in front of the real
// server (peer-native/examples/in_the_middle_proxy.rs) serves the page unchanged but answers every offer itself,
// offers the other side, and bridges the two WebRTC legs byte for byte. A browser downloading from a swarm-peer
// through it refuses the connection after the handshakes, says on the file's row that someone in between tampered
// with it, and receives nothing; the proxy carried only the two Handshakes and Goodbyes on the content's channel.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spec } from '../harness/scenario.mjs';
import { counters, openLink, waitCounters } from '../harness/app.mjs';
import { haveSwarmPeer, IN_THE_MIDDLE_BIN, nativeSeed, startInTheMiddle, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

const skip = !haveSwarmPeer()
  ? `no ${SWARM_PEER_BIN} (cargo test builds it)`
  : !existsSync(IN_THE_MIDDLE_BIN) && `no ${IN_THE_MIDDLE_BIN} (cargo test builds it)`;

spec('a_browser_refuses_a_signaling_server_in_the_middle_and_it_reads_nothing', { timeout: 120_000, skip }, async (s) => {
  const proxy = await startInTheMiddle(s.server.address);
  try {
    const file = await s.file('secret.bin', 1024 * 1024 + 7);
    // The seeder and the page both talk to the proxy, as they would to a server that turned hostile.
    const { peer, link } = await nativeSeed(proxy.url, file);
    try {
      assert.ok(link.startsWith(proxy.url), link);
      const { row } = await openLink(await s.user(), link);
      // Whichever comes first: the refusal, or bytes through the attacker (which the assertions below then report).
      const settled = (c) => c.tampered > 0 || c.downloadedBytes > 0 || c.verifiedPieces > 0;
      await waitCounters(row, 'a refusal, or bytes', settled, { timeout: 60_000 });
      const c = await counters(row);
      assert.ok(c.tampered > 0, `no connection refused as tampered with: ${JSON.stringify(c)}`);
      assert.equal(c.verifiedPieces ?? 0, 0, 'a piece came through the attacker');
      assert.equal(c.downloadedBytes ?? 0, 0, 'bytes came through the attacker');
      assert.match(await row.locator('.stats').innerText(), /tampered with/);
      // What the attacker carried on the content's channel: the handshakes and the goodbyes, nothing it could use.
      const content = proxy.bridged().filter((line) => !line.startsWith('discovery '));
      const kinds = new Set(content.map((line) => line.split(' ').slice(1).join(' ')));
      assert.ok(kinds.has('Goodbye ProofFailed'), content.join('\n'));
      for (const kind of kinds) assert.ok(['Handshake', 'Goodbye ProofFailed'].includes(kind), content.join('\n'));
    } finally {
      await peer.stop();
    }
  } finally {
    await proxy.stop();
  }
});
