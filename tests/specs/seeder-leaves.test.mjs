// Scenario 3: the seeder closes its tab after the pieces have spread: the others still complete.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { counters, openLink, saveAndHash, seed, waitComplete, waitCounters } from '../harness/app.mjs';

const MiB = 1024 * 1024;

const TIMEOUT_MS = 180_000;

spec('leecher_completes_from_another_leecher_after_the_seeder_closes_tab', { timeout: TIMEOUT_MS }, async (s) => {
  const file = await s.file('seeder-leaves.bin', 32 * MiB);
  const { page: seeder, link } = await seed(await s.user(), s.server.url, file);

  // The pieces have spread: a first leecher holds them all.
  const first = await openLink(await s.user(), link);
  await waitComplete(first.row, 90_000);
  // A second leecher is mid-download, connected to both, when the seeder goes.
  const second = await openLink(await s.user(), link);
  await waitCounters(second.row, 'a first verified piece', (c) => c.verifiedPieces >= 1 && c.peers >= 2);
  await seeder.close();
  const atClose = await counters(second.row);
  assert.ok(atClose.verifiedPieces < atClose.totalPieces, 'the second leecher was not complete when the seeder left');

  await waitComplete(second.row, 90_000);
  const saved = await saveAndHash(second.row);
  assert.equal(saved.sha256, file.sha256);
});
