// The page's upload limit: a seeder that picks "500 kB/s" never has uploaded more than the limit allows since it
// was picked (a quarter second's worth at the start, then 500 kB a second: the node's token bucket), the
// downloader still gets the exact bytes, and the choice is there again after a reload.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { openApp, openLink, POLL_MS, saveAndHash, share, waitComplete, waitStatus } from '../harness/app.mjs';

const MiB = 1024 * 1024;
const RATE = 500_000;
/** What the bucket holds when the limit is set: a quarter second's worth, and at least one 128 KiB block. */
const BURST = Math.max(RATE / 4, 128 * 1024);

spec('a_seeder_limited_to_500_kb_per_second_never_uploads_faster', { timeout: 120_000 }, async (s) => {
  const file = await s.file('limited.bin', 3 * MiB + 999);
  const seeder = await openApp(await s.user(), s.server.url);
  await waitStatus(seeder, 'connected');
  const since = Date.now();
  await seeder.selectOption('[data-testid=upload-limit]', String(RATE));
  const { row: shared, link } = await share(seeder, file);

  const { row } = await openLink(await s.user(), link);
  const checks = [];
  let complete = false;
  const done = waitComplete(row, 90_000).then(() => (complete = true));
  while (!complete) {
    const uploaded = Number(await shared.getAttribute('data-uploaded-bytes'));
    const allowed = BURST + (RATE * (Date.now() - since)) / 1000;
    checks.push({ uploaded, allowed });
    assert.ok(uploaded <= allowed, `uploaded ${uploaded} bytes where the limit allows ${Math.round(allowed)}`);
    await Promise.race([done, new Promise((r) => setTimeout(r, POLL_MS * 5))]);
  }
  await done;
  assert.ok(checks.some((c) => c.uploaded > 0), 'the checks saw the upload under way');
  const saved = await saveAndHash(row);
  assert.equal(saved.sha256, file.sha256);

  await seeder.reload();
  await seeder.waitForFunction(() => document.documentElement.dataset.ready === '1');
  assert.equal(await seeder.locator('[data-testid=upload-limit]').inputValue(), String(RATE));
});
