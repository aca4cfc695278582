// A browser seeder and a native downloader (swarm-peer get): the native peer writes the exact bytes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { seed } from '../harness/app.mjs';
import { tempDir } from '../harness/files.mjs';
import { haveSwarmPeer, nativeGet, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

const skip = haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`;
const MiB = 1024 * 1024;

spec('native_downloads_from_a_browser_seeder_the_exact_bytes', { timeout: 180_000, skip }, async (s) => {
  const file = await s.file('browser-seeded.bin', 8 * MiB + 4_321);
  const { link } = await seed(await s.user(), s.server.url, file);
  const dir = await tempDir();
  const out = join(dir.path, 'native-copy.bin');
  try {
    const peer = await nativeGet(s.server.url, link, out, file.sha256);
    assert.equal(peer.stdout()[0], out, 'get prints the saved path');
  } finally {
    await dir.remove();
  }
});
