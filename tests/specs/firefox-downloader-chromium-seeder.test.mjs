// Across engines: a Chromium user shares, a Firefox user opens the link and saves; the saved bytes are the shared
// bytes.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { seed } from '../harness/app.mjs';
import * as firefox from '../harness/firefox.mjs';

const MiB = 1024 * 1024;

spec('firefox_leecher_saves_the_exact_bytes_a_chromium_seeder_shared', { timeout: 120_000 }, async (s) => {
  // Several 128 KiB pieces, and a short last one.
  const file = await s.file('chromium-to-firefox.bin', 6 * MiB + 12_345);
  const { link } = await seed(await s.user(), s.server.url, file);

  const { page, row } = await firefox.openLink(await s.firefoxUser(), link);
  await firefox.waitComplete(row, 90_000);
  const saved = await firefox.saveAndHash(row);

  assert.equal(saved.name, file.name);
  assert.equal(saved.size, file.size);
  assert.equal(saved.sha256, file.sha256);
  firefox.assertNoCrash(page);
});
