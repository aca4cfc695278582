// Scenario 5: a leecher reloads its tab mid-download: it resumes, and does not fetch verified pieces again.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import {
  assertNoCrash,
  counters,
  downloadRow,
  openLink,
  saveAndHash,
  seed,
  waitComplete,
  waitCounters,
  waitReady,
} from '../harness/app.mjs';
import { pending } from '../harness/pending.mjs';

const skip = pending('app not usable yet');

const MiB = 1024 * 1024;

spec('reloaded_leecher_resumes_without_fetching_verified_pieces_again', { timeout: 300_000, skip }, async (s) => {
  const file = await s.file('reload-resume.bin', 64 * MiB);
  const { row: shareRow, link } = await seed(await s.user(), s.server.url, file);

  const { page, row } = await openLink(await s.user(), link);
  await waitCounters(row, 'half of the pieces', (c) => c.totalPieces > 0 && c.verifiedPieces * 2 >= c.totalPieces);
  const beforeReload = await counters(row);
  assert.ok(beforeReload.verifiedPieces < beforeReload.totalPieces, 'the reload happens mid-download');
  await page.reload();
  await waitReady(page);

  // The reloaded page starts from the persisted pieces, not from zero.
  const resumed = downloadRow(page);
  await resumed.waitFor();
  const afterReload = await counters(resumed);
  assert.ok(
    afterReload.verifiedPieces >= beforeReload.verifiedPieces,
    `after reload ${afterReload.verifiedPieces} verified pieces, before ${beforeReload.verifiedPieces}`,
  );
  await waitComplete(resumed, 240_000);
  const saved = await saveAndHash(resumed);
  assert.equal(saved.sha256, file.sha256);

  // The seeder was the only source: what it sent is what the leecher fetched, across both page loads. Fetching the
  // verified pieces again would cost a whole `verifiedBytes` more; blocks in flight at the reload cost far less
  // (bounded by the send window), so half of it is the line.
  const pieceSize = file.size / beforeReload.totalPieces;
  const verifiedBytes = beforeReload.verifiedPieces * pieceSize;
  const sent = (await counters(shareRow)).uploadedBytes;
  assert.ok(
    sent < file.size + verifiedBytes / 2,
    `the seeder sent ${sent} bytes for a ${file.size}-byte file; ${verifiedBytes} bytes were verified at the reload`,
  );
  assertNoCrash(page);
});
