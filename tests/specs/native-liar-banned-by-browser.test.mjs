// A native peer that serves corrupt blocks (swarm-peer --lie, test builds only) and an honest native seeder: the
// browser downloader bans the liar, says so, and still saves the exact bytes.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { errors, openLink, saveAndHash, waitComplete } from '../harness/app.mjs';
import { nativeSeed, SWARM_PEER_BIN, swarmPeerCanLie } from '../harness/native-peer.mjs';

const skip = swarmPeerCanLie() ? false : `${SWARM_PEER_BIN} missing or built without the lying feature (cargo test builds it with)`;
const MiB = 1024 * 1024;

spec('browser_bans_a_lying_native_peer_and_saves_the_exact_bytes', { timeout: 180_000, skip }, async (s) => {
  const file = await s.file('liar.bin', 4 * MiB);
  const liar = await nativeSeed(s.server.url, file, ['--lie']);
  const honest = await nativeSeed(s.server.url, file);
  try {
    assert.equal(liar.link, honest.link, 'both seed the same content');
    const { page, row } = await openLink(await s.user(), honest.link);
    await waitComplete(row, 120_000);
    const saved = await saveAndHash(row);
    assert.equal(saved.sha256, file.sha256);
    assert.match(await errors(page), /ban/i, 'the page reports the banned peer');
  } finally {
    await liar.peer.stop();
    await honest.peer.stop();
  }
});
