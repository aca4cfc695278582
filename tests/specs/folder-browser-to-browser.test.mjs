// Issue 22: a folder shared from a browser (its folder picker: nested folders, empty files, unicode names, a
// 100 MiB file among small ones) arrives byte-exact in another browser, through Save on each file, Save all into a
// folder the user picks, and Save all as one .zip; a downloader that chooses some files fetches no piece outside
// them, counted at the seeder.
//
// Headless Chromium cannot show the folder picker: `showDirectoryPicker` is given a directory of the page's private
// file system instead (a real FileSystemDirectoryHandle, written through the same API a picked folder is), and the
// test reads what was written back from there.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import {
  chooseFiles,
  counters,
  givePickedFolder,
  openLink,
  pickedFiles,
  saveFile,
  seedFolder,
  waitComplete,
  waitCounters,
} from '../harness/app.mjs';
import { makeTree, tempDir, zipHashes } from '../harness/files.mjs';

const MiB = 1024 * 1024;

spec('a_folder_a_browser_shares_arrives_byte_exact_in_another_browser', { timeout: 300_000 }, async (s) => {
  const dir = await tempDir();
  try {
    const root = join(dir.path, 'Album');
    const expected = await makeTree(root, [
      ['big.bin', 100 * MiB + 7],
      ['empty.txt', 0],
      ['a.jpg', 70_001],
      ['Été 2024/ünïcödé 日本.txt', 5_000],
      ['Été 2024/deeper/b.png', 300_000],
      ['Été 2024/deeper/empty too', 0],
    ]);
    const { link } = await seedFolder(await s.user(), s.server.url, root);

    const context = await s.user();
    await givePickedFolder(context);
    const { page, row } = await openLink(context, link);
    await chooseFiles(row);
    await waitComplete(row, 240_000);
    assert.equal(await row.locator('.name').textContent(), 'Album');

    // Save on each file: that file's bytes, under its own name.
    const items = row.locator('[data-testid=files] li[data-path]');
    assert.equal(await items.count(), expected.size);
    for (let i = 0; i < expected.size; i++) {
      const path = await items.nth(i).getAttribute('data-path');
      assert.equal(await saveFile(row, path), expected.get(path), `${path} saved other bytes`);
    }

    // Save all into a picked folder: the tree recreated under the folder's name.
    await row.locator('[data-testid=save-all]').click();
    await page.locator('[data-testid=save-state][data-state=saved]').waitFor({ timeout: 120_000 });
    const written = await pickedFiles(page);
    assert.deepEqual(new Map(Object.entries(written)), prefixed('Album/', expected));

    // Save all where the browser lets no page write a folder: one .zip of the same tree.
    await page.evaluate(() => {
      window.showDirectoryPicker = undefined;
    });
    const [zip] = await Promise.all([page.waitForEvent('download'), row.locator('[data-testid=save-all]').click()]);
    assert.equal(await zip.failure(), null);
    assert.equal(zip.suggestedFilename(), 'Album.zip');
    assert.deepEqual(await zipHashes(await zip.path()), prefixed('Album/', expected));
  } finally {
    await dir.remove();
  }
});

spec('a_downloader_that_chooses_some_files_gets_no_piece_outside_them', { timeout: 180_000 }, async (s) => {
  const dir = await tempDir();
  try {
    const root = join(dir.path, 'Mixed');
    const layout = [
      ['keep.txt', 10_000],
      ['sub/keep.bin', 200_001],
      ['skip/huge.bin', 24 * MiB],
      ['skip/also.bin', MiB + 3],
      ['skip.bin', 3 * MiB],
    ];
    const expected = await makeTree(root, layout);
    const { row: seederRow, link } = await seedFolder(await s.user(), s.server.url, root);

    const { page, row } = await openLink(await s.user(), link);
    await chooseFiles(row, ['skip', 'skip.bin']);
    await waitComplete(row, 120_000);

    // The pieces the chosen files touch, from the manifest's layout (files in byte order of their paths, one after
    // the other; pieces of a power-of-two size).
    const { totalPieces } = await counters(row);
    const size = layout.reduce((sum, [, n]) => sum + n, 0);
    const pieceSize = 2 ** Math.ceil(Math.log2(size / totalPieces));
    const chosen = new Set();
    let offset = 0;
    for (const [path, n] of [...layout].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
      if (path === 'keep.txt' || path === 'sub/keep.bin') {
        for (let p = Math.floor(offset / pieceSize); p * pieceSize < offset + n; p++) chosen.add(p);
      }
      offset += n;
    }
    const chosenBytes = [...chosen].reduce((sum, p) => sum + Math.min(pieceSize, size - p * pieceSize), 0);
    assert.ok(chosenBytes < 3 * MiB, `the chosen files touch ${chosenBytes} bytes of pieces, not the whole folder`);

    // Counted at the seeder, once it has counted everything the downloader received.
    const { downloadedBytes } = await counters(row);
    await waitCounters(seederRow, 'the seeder counting what it sent', (c, n) => c.uploadedBytes >= n, {
      timeout: 10_000,
      arg: downloadedBytes,
    });
    const { uploadedBytes } = await counters(seederRow);
    assert.ok(uploadedBytes <= chosenBytes, `the seeder sent ${uploadedBytes} bytes; the chosen pieces are ${chosenBytes}`);

    // The chosen files are complete and saved as they were shared; the others say so and have no Save.
    for (const path of ['keep.txt', 'sub/keep.bin']) {
      assert.equal(await row.locator(`li[data-path="${path}"]`).getAttribute('data-state'), 'complete');
      assert.equal(await saveFile(row, path), expected.get(path), `${path} saved other bytes`);
    }
    for (const path of ['skip/huge.bin', 'skip/also.bin', 'skip.bin']) {
      const item = row.locator(`li[data-path="${path}"]`);
      assert.equal(await item.getAttribute('data-state'), 'skipped', `${path} was not chosen`);
      assert.ok(await item.locator('[data-testid=save-file]').isHidden());
    }
  } finally {
    await dir.remove();
  }
});

function prefixed(prefix, map) {
  return new Map([...map].map(([path, hash]) => [prefix + path, hash]));
}
