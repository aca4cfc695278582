// Issue 22: Firefox saves a folder too. Firefox lets no page write a folder (no showDirectoryPicker), so Save all
// packs the chosen files into one stored .zip, streamed into the page's private file system and saved from there;
// its files are the folder `swarm-peer share DIR` shared, byte for byte, under the folder's name.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import * as firefox from '../harness/firefox.mjs';
import { makeTree, tempDir, zipHashes } from '../harness/files.mjs';
import { haveSwarmPeer, nativeSeed, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

const skip = haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`;
const MiB = 1024 * 1024;

spec('firefox_saves_a_whole_folder_as_one_zip', { timeout: 180_000, skip }, async (s) => {
  const dir = await tempDir();
  const root = join(dir.path, 'Notes');
  const expected = await makeTree(root, [
    ['readme.md', 1_234],
    ['empty', 0],
    ['données/été.csv', 40_000],
    ['données/raw/big.bin', 5 * MiB + 3],
  ]);
  const { peer, link } = await nativeSeed(s.server.url, { path: root });
  try {
    const { page, row } = await firefox.openLink(await s.firefoxUser(), link);
    await firefox.chooseAll(row);
    await firefox.waitComplete(row, 120_000);
    const zip = await firefox.saveAndHash(row, '[data-testid=save-all]');
    assert.equal(zip.name, 'Notes.zip');
    assert.deepEqual(await zipHashes(zip.path), new Map([...expected].map(([path, hash]) => [`Notes/${path}`, hash])));
    firefox.assertNoCrash(page);
  } finally {
    await peer.stop();
    await dir.remove();
  }
});
