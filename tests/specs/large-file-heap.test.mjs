// Scenario 7: a 1 GiB file downloads while the downloader tab's JS memory stays under 200 MB: the file goes to
// disk (OPFS), not into memory. Measured with the DevTools protocol: V8 heap plus ArrayBuffer backing stores
// (which hold wasm memory), sampled through the whole download. The pieces go through the storage worker
// (www/storage-worker.js), checked too.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { heapProbe, heapSampler } from '../harness/heap.mjs';
import {
  chooseFiles,
  givePickedFolder,
  openLink,
  pickedFiles,
  saveAndHash,
  seed,
  seedFolder,
  waitComplete,
} from '../harness/app.mjs';
import { makeTree, tempDir, zipHashes } from '../harness/files.mjs';

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const LIMIT_BYTES = 200 * 1000 * 1000;

spec('one_gib_download_keeps_the_tab_under_200_mb_of_js_memory', { timeout: 600_000 }, async (s) => {
  const file = await s.file('large.bin', GiB);
  const { link } = await seed(await s.user(), s.server.url, file);

  // On-disk profile: an off-the-record context would keep OPFS in memory and cap its quota.
  const { page, row } = await openLink(await s.user({ persistent: true }), link);
  const probe = await heapProbe(page);
  const sampler = heapSampler(probe);
  let peak;
  try {
    await waitComplete(row, 480_000);
  } finally {
    ({ peak } = await sampler.stop());
    await probe.detach();
  }
  // Reported in the test log, so a creeping figure is seen before it crosses the line.
  console.error(`peak JS memory of the downloader: heap ${peak.heap} B, ArrayBuffers ${peak.buffers} B`);
  assert.ok(
    peak.total < LIMIT_BYTES,
    `peak JS memory ${peak.total} bytes (heap ${peak.heap}, ArrayBuffers ${peak.buffers}) over ${LIMIT_BYTES}`,
  );
  assert.equal(
    await page.evaluate(() => document.documentElement.dataset.storage),
    'opfs-worker',
    "the pieces were written by the storage worker, off the page's thread",
  );
  const saved = await saveAndHash(row);
  assert.equal(saved.sha256, file.sha256);
});

// Issue 22: Save all streams a folder's files from the stored pieces, into a picked folder or into one .zip, and
// never holds the whole folder (or one whole large file) in the tab's memory. Headless Chromium cannot show the
// folder picker: `showDirectoryPicker` is given a directory of the private file system (a real
// FileSystemDirectoryHandle, written through the same API).
spec('saving_a_512_mib_folder_whole_keeps_the_tab_under_200_mb_of_js_memory', { timeout: 600_000 }, async (s) => {
  const dir = await tempDir();
  try {
    const root = join(dir.path, 'Footage');
    const expected = await makeTree(root, [
      ['day 1/clip.bin', 500 * MiB],
      ['day 1/notes.txt', 3_000],
      ['day 2/clip.bin', 12 * MiB + 1],
      ['empty', 0],
    ]);
    const { link } = await seedFolder(await s.user(), s.server.url, root);

    const context = await s.user({ persistent: true });
    await givePickedFolder(context);
    const { page, row } = await openLink(context, link);
    await chooseFiles(row);
    await waitComplete(row, 480_000);

    const probe = await heapProbe(page);
    const sampler = heapSampler(probe);
    let zip;
    let peak;
    try {
      await row.locator('[data-testid=save-all]').click();
      await page.locator('[data-testid=save-state][data-state=saved]').waitFor({ timeout: 240_000 });
      await page.evaluate(() => {
        window.showDirectoryPicker = undefined;
      });
      [zip] = await Promise.all([page.waitForEvent('download', { timeout: 240_000 }), row.locator('[data-testid=save-all]').click()]);
      assert.equal(await zip.failure(), null);
    } finally {
      ({ peak } = await sampler.stop());
      await probe.detach();
    }
    console.error(`peak JS memory while saving a folder: heap ${peak.heap} B, ArrayBuffers ${peak.buffers} B`);
    assert.ok(
      peak.total < LIMIT_BYTES,
      `peak JS memory ${peak.total} bytes (heap ${peak.heap}, ArrayBuffers ${peak.buffers}) over ${LIMIT_BYTES}`,
    );
    const inFolder = new Map([...expected].map(([path, hash]) => [`Footage/${path}`, hash]));
    assert.deepEqual(await zipHashes(await zip.path()), inFolder);
    // What was written into the picked folder: sizes, and the bytes of the small files.
    const written = await pickedFiles(page, { sizes: true });
    assert.deepEqual(
      written,
      Object.fromEntries([['Footage/day 1/clip.bin', 500 * MiB], ['Footage/day 1/notes.txt', 3_000], ['Footage/day 2/clip.bin', 12 * MiB + 1], ['Footage/empty', 0]]),
    );
  } finally {
    await dir.remove();
  }
});
