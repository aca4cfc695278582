// A native seeder (swarm-peer share) and a browser downloader: the browser saves the exact bytes.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { openLink, saveAndHash, waitComplete } from '../harness/app.mjs';
import { haveSwarmPeer, nativeSeed, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

const skip = haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`;
const MiB = 1024 * 1024;

spec('browser_downloads_from_a_native_seeder_the_exact_bytes', { timeout: 180_000, skip }, async (s) => {
  const file = await s.file('native-seeded.bin', 8 * MiB + 4_321);
  const { peer, link } = await nativeSeed(s.server.url, file);
  try {
    const { row } = await openLink(await s.user(), link);
    await waitComplete(row, 120_000);
    const saved = await saveAndHash(row);
    assert.equal(saved.size, file.size);
    assert.equal(saved.sha256, file.sha256);
  } finally {
    await peer.stop();
  }
});
