// Issue 22, mixed: a folder shared from a browser's folder picker is downloaded by `swarm-peer get`, which recreates
// the tree under the folder's name, every file byte-exact (the other way round: native-folder-browser-downloader).
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { seedFolder } from '../harness/app.mjs';
import { makeTree, tempDir, treeHashes } from '../harness/files.mjs';
import { haveSwarmPeer, startSwarmPeer, SWARM_PEER_BIN } from '../harness/native-peer.mjs';
import { within } from '../harness/deadline.mjs';

const skip = haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`;
const MiB = 1024 * 1024;

spec('swarm_peer_gets_a_folder_a_browser_shares', { timeout: 180_000, skip }, async (s) => {
  const dir = await tempDir();
  try {
    const root = join(dir.path, 'shared', 'Project');
    const expected = await makeTree(root, [
      ['src/main.rs', 2_000],
      ['src/empty.rs', 0],
      ['assets/ünïcödé.png', 300_001],
      ['assets/video.bin', 9 * MiB + 5],
      ['LICENSE', 1_070],
    ]);
    const { link } = await seedFolder(await s.user(), s.server.url, root);

    const out = join(dir.path, 'out');
    await mkdir(out);
    const getter = startSwarmPeer(s.server.url, ['get', link, '-o', out]);
    try {
      const { code } = await within(120_000, 'swarm-peer get to finish', getter.exited);
      assert.equal(code, 0, `swarm-peer get failed:\n${getter.stderr()}`);
    } finally {
      await getter.stop();
    }
    assert.deepEqual(await treeHashes(join(out, 'Project')), expected);
  } finally {
    await dir.remove();
  }
});
