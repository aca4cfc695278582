// Scenario 7: a 1 GiB file downloads while the downloader tab's JS memory stays under 200 MB: the file goes to
// disk (OPFS), not into memory. Measured with the DevTools protocol: V8 heap plus ArrayBuffer backing stores
// (which hold wasm memory), sampled through the whole download. The pieces go through the storage worker
// (www/storage-worker.js), checked too.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { heapProbe, heapSampler } from '../harness/heap.mjs';
import { openLink, saveAndHash, seed, waitComplete } from '../harness/app.mjs';

const GiB = 1024 * 1024 * 1024;
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
