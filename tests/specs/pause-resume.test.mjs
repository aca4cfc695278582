// A user pauses a download: the seeder sees the peer leave and sends nothing more; the row shows it paused, with
// no peers and no speeds. Resume goes on from the verified pieces: the seeder then sends only what was missing,
// and the saved file is byte-exact.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { assertNoCrash, counters, openLink, saveAndHash, seed, waitComplete, waitCounters } from '../harness/app.mjs';

const MB = 1_000_000;

spec('a_paused_download_receives_nothing_and_resumes_where_it_was', { timeout: 180_000 }, async (s) => {
  const file = await s.file('pause-resume.bin', 48 * MB);
  const seeder = await seed(await s.user(), s.server.url, file);
  const { page, row } = await openLink(await s.user(), seeder.link);
  const quarter = (c) => c.totalPieces > 0 && c.verifiedPieces * 4 >= c.totalPieces;
  await waitCounters(row, 'a quarter of the pieces', quarter);
  await row.locator('[data-testid=pause]').click();
  await waitCounters(row, 'the row paused', (c) => c.state === 'paused');
  // The seeder's one peer was this download: once it saw it leave, nothing can cross until the download comes
  // back, and the seeder's counter below is what it sent before. What it sends after the resume is checked against
  // what was missing at the pause: a byte sent meanwhile, or a verified piece fetched again, would show there.
  await waitCounters(seeder.row, 'the seeder seeing the peer leave', (c) => c.peers === 0);
  const paused = await counters(row);
  const sentWhilePaused = (await counters(seeder.row)).uploadedBytes;
  assert.equal(paused.peers, 0);
  assert.ok(paused.verifiedPieces < paused.totalPieces, 'paused mid-download');
  assert.match(await row.locator('.state').innerText(), /^Paused/);
  assert.equal(await row.locator('.stats').innerText(), '', 'no speeds while paused');
  assert.equal(await row.locator('[data-testid=resume]').isVisible(), true);

  await row.locator('[data-testid=resume]').click();
  await waitComplete(row, 120_000);
  const pieceSize = Math.ceil(file.size / paused.totalPieces);
  const missing = file.size - paused.verifiedPieces * pieceSize;
  const sentAfter = (await counters(seeder.row)).uploadedBytes - sentWhilePaused;
  assert.ok(sentAfter <= missing + pieceSize, `sent ${sentAfter} bytes after the resume; ${missing} were missing`);
  assert.equal((await saveAndHash(row)).sha256, file.sha256);
  assertNoCrash(page);
});
