// Across engines: a Firefox user shares, a Chromium user opens the link and saves; the saved bytes are the shared
// bytes.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { openLink, saveAndHash, waitComplete } from '../harness/app.mjs';
import * as firefox from '../harness/firefox.mjs';

const MiB = 1024 * 1024;

spec('chromium_leecher_saves_the_exact_bytes_a_firefox_seeder_shared', { timeout: 120_000 }, async (s) => {
  // Several 128 KiB pieces, and a short last one.
  const file = await s.file('firefox-to-chromium.bin', 6 * MiB + 12_345);
  const seeder = await firefox.seed(await s.firefoxUser(), s.server.url, file);

  const { row } = await openLink(await s.user(), seeder.link);
  await waitComplete(row, 90_000);
  const saved = await saveAndHash(row);

  assert.equal(saved.name, file.name);
  assert.equal(saved.size, file.size);
  assert.equal(saved.sha256, file.sha256);
  // The Firefox tab was the only source: its counters show the whole file sent (they update a moment after the
  // leecher completes).
  await firefox.waitCounters(seeder.row, 'the seeder to count the file sent', (c, size) => c.uploadedBytes >= size, {
    timeout: 30_000,
    arg: file.size,
  });
  firefox.assertNoCrash(seeder.page);
});
