// Issue 22, mixed: `swarm-peer share DIR` shares a folder (nested folders, an empty file, a unicode name, a 6 MiB
// file among small ones) and a browser opens its link: the row names the folder, lists its files, and Save on
// each one saves exactly that file's bytes (a slice of the stored content, under the file's own name).
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { chooseFiles, openLink, saveFile, waitComplete } from '../harness/app.mjs';
import { randomFile, sha256File, tempDir } from '../harness/files.mjs';
import { haveSwarmPeer, nativeSeed, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

const skip = haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`;
const MiB = 1024 * 1024;

spec('a_browser_saves_each_file_of_a_folder_a_native_peer_shares', { timeout: 180_000, skip }, async (s) => {
  const dir = await tempDir();
  const share = join(dir.path, 'Trip');
  await mkdir(join(share, 'photos', 'day 1'), { recursive: true });
  // Path in the folder → its SHA-256.
  const expected = new Map();
  const add = async (folder, name, size) => {
    const file = await randomFile(join(share, ...folder), name, size);
    expected.set([...folder, name].join('/'), file.sha256);
  };
  await add([], 'video.bin', 6 * MiB + 11);
  await add(['photos'], 'été.jpg', 150_000);
  await add(['photos', 'day 1'], 'a.jpg', 20_001);
  await writeFile(join(share, 'photos', 'empty.txt'), '');
  expected.set('photos/empty.txt', await sha256File(join(share, 'photos', 'empty.txt')));
  const { peer, link } = await nativeSeed(s.server.url, { path: share });
  try {
    const { row } = await openLink(await s.user(), link);
    await chooseFiles(row);
    await waitComplete(row, 120_000);
    assert.equal(await row.locator('.name').textContent(), 'Trip');
    assert.ok(await row.locator('[data-testid=save]').isHidden(), 'a folder has no single Save');
    const items = row.locator('[data-testid=files] li[data-path]');
    assert.equal(await items.count(), expected.size);
    for (let i = 0; i < expected.size; i++) {
      const path = await items.nth(i).getAttribute('data-path');
      assert.equal(await saveFile(row, path), expected.get(path), `${path} saved other bytes`);
    }
  } finally {
    await peer.stop();
    await dir.remove();
  }
});
