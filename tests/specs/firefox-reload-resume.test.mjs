// reload-resume.test.mjs with a Firefox leecher: it reloads its tab mid-download, resumes from what it stored in
// Firefox's private file system, and does not fetch verified pieces again.
//
// The Chromium seeder leaves before the reload, so whatever the reloaded page shows as verified can only come
// from its own storage; then a new Chromium seeder brings the rest, and what that seeder sends is exactly what the
// leecher fetched after the reload. The seeder leaves by closing its tab: its goodbye, or else the server's word that
// it left (when the tab went before its goodbye got out), tells the leecher within seconds.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { assertSentOnlyWhatWasMissing, seed } from '../harness/app.mjs';
import * as firefox from '../harness/firefox.mjs';

const MiB = 1024 * 1024;

spec('reloaded_firefox_leecher_resumes_without_fetching_verified_pieces_again', { timeout: 180_000 }, async (s) => {
  const file = await s.file('firefox-reload-resume.bin', 64 * MiB);
  const first = await seed(await s.user(), s.server.url, file);
  const { page, row } = await firefox.openLink(await s.firefoxUser(), first.link);
  const quarter = (c) => c.totalPieces > 0 && c.verifiedPieces * 4 >= c.totalPieces;
  await firefox.waitCounters(row, 'a quarter of the pieces', quarter);
  await first.page.close();
  await firefox.waitCounters(row, 'the seeder gone', (c) => c.peers === 0);
  const before = await firefox.counters(row);
  assert.ok(before.verifiedPieces < before.totalPieces, 'the reload happens mid-download');

  await page.reload();
  await firefox.waitReady(page);
  const resumed = await firefox.downloadRow(page);
  // Nobody else has the file now: these pieces come from the leecher's own storage.
  await firefox.waitCounters(
    resumed,
    `${before.verifiedPieces} pieces restored from storage`,
    (c, atLeast) => c.verifiedPieces >= atLeast,
    { timeout: 60_000, arg: before.verifiedPieces },
  );
  const restored = await firefox.counters(resumed);

  const second = await seed(await s.user(), s.server.url, file);
  await firefox.waitComplete(resumed, 120_000);
  const saved = await firefox.saveAndHash(resumed);
  assert.equal(saved.sha256, file.sha256);

  // The second seeder is the only source after the reload.
  await assertSentOnlyWhatWasMissing(second.row, restored, file.size);
  firefox.assertNoCrash(page);
});
