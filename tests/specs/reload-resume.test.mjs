// Scenario 5: a leecher reloads its tab mid-download: it resumes from what it stored, and does not fetch verified
// pieces again.
//
// The seeder leaves before the reload, so whatever the reloaded page shows as verified can only come from its own
// storage; then a new seeder brings the rest, and what that seeder sends is exactly what the leecher fetched after
// the reload.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import {
  assertNoCrash,
  assertSentOnlyWhatWasMissing,
  counters,
  openLink,
  reloadAndRestore,
  saveAndHash,
  seed,
  waitComplete,
  waitCounters,
} from '../harness/app.mjs';

const MiB = 1024 * 1024;

spec('reloaded_leecher_resumes_without_fetching_verified_pieces_again', { timeout: 180_000 }, async (s) => {
  const file = await s.file('reload-resume.bin', 64 * MiB);
  const first = await seed(await s.user(), s.server.url, file);
  const { page, row } = await openLink(await s.user(), first.link);
  const quarter = (c) => c.totalPieces > 0 && c.verifiedPieces * 4 >= c.totalPieces;
  await waitCounters(row, 'a quarter of the pieces', quarter);
  await first.page.close();
  await waitCounters(row, 'the seeder gone', (c) => c.peers === 0);
  const before = await counters(row);
  assert.ok(before.verifiedPieces < before.totalPieces, 'the reload happens mid-download');

  // Nobody else has the file now: the pieces counted after the reload come from the leecher's own storage.
  const resumed = await reloadAndRestore(page, before.verifiedPieces);
  const restored = await counters(resumed);

  const second = await seed(await s.user(), s.server.url, file);
  await waitComplete(resumed, 120_000);
  const saved = await saveAndHash(resumed);
  assert.equal(saved.sha256, file.sha256);

  // The second seeder is the only source after the reload.
  await assertSentOnlyWhatWasMissing(second.row, restored, file.size);
  assertNoCrash(page);
});
