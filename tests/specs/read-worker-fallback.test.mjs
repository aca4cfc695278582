// A seeder whose block-read worker (www/read-worker.js) cannot start still serves the file: blocks are then read on
// the page's thread, and the leecher saves the exact bytes.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { openLink, saveAndHash, seed, waitComplete } from '../harness/app.mjs';

const MiB = 1024 * 1024;

spec('seeder_without_its_read_worker_serves_from_the_page_thread', { timeout: 120_000 }, async (s) => {
  const file = await s.file('read-worker-fallback.bin', 3 * MiB + 777);
  const seeder = await s.user();
  let workerRequests = 0;
  await seeder.route('**/read-worker.js', (route) => {
    workerRequests += 1;
    return route.fulfill({ status: 404, body: 'not here' });
  });
  const { link } = await seed(seeder, s.server.url, file);

  const { row } = await openLink(await s.user(), link);
  await waitComplete(row, 90_000);
  const saved = await saveAndHash(row);

  assert.ok(workerRequests > 0, 'the seeder tried to start its read worker');
  assert.equal(saved.size, file.size);
  assert.equal(saved.sha256, file.sha256);
});
