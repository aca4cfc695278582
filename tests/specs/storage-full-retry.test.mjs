// Storage full stops a download, and Retry after space is freed resumes it without fetching verified pieces again.
//
// A real quota: once a quarter of the pieces are stored, the recipient's origin is given a quota of what it uses
// plus 1 MB, through the DevTools protocol (`Storage.overrideQuotaForOrigin`), so the browser itself refuses a
// write that would grow the data file past it (pieces land at their offsets in one file). The row then says why,
// once, shows no peers, and the seeder sees the peer leave and sends nothing more. The quota is lifted and Retry
// clicked: the download resumes from the stored pieces, and a new seeder (the first one left) sends only what
// was missing.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import {
  assertNoCrash,
  assertSentOnlyWhatWasMissing,
  counters,
  errors,
  openApp,
  openLink,
  saveAndHash,
  seed,
  waitComplete,
  waitCounters,
} from '../harness/app.mjs';

const MB = 1_000_000;

spec('storage_full_stops_the_download_and_retry_resumes_it', { timeout: 180_000 }, async (s) => {
  const file = await s.file('storage-full.bin', 48 * MB);
  const first = await seed(await s.user(), s.server.url, file);
  const recipient = await s.user();
  const page = await openApp(recipient, s.server.url);
  const devtools = await recipient.newCDPSession(page);
  const origin = new URL(s.server.url).origin;

  const { row } = await openLink(recipient, first.link, page);
  const quarter = (c) => c.totalPieces > 0 && c.verifiedPieces * 4 >= c.totalPieces;
  await waitCounters(row, 'a quarter of the pieces', quarter);
  const { usage } = await page.evaluate(() => navigator.storage.estimate());
  await devtools.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + MB });
  await waitCounters(row, 'the download stopped by the quota', (c) => c.state === 'error', { timeout: 90_000 });
  const stopped = await counters(row);
  assert.equal(stopped.failure, 'storage_full');
  assert.equal(stopped.peers, 0);
  assert.ok(
    stopped.verifiedPieces > 0 && stopped.verifiedPieces < stopped.totalPieces,
    `${JSON.stringify(stopped)}: ${await errors(page)}`,
  );
  assert.match(await errors(page), /Storage is full.*download stopped/);
  await waitCounters(first.row, 'the seeder seeing the peer leave', (c) => c.peers === 0);
  const sentBefore = (await counters(first.row)).uploadedBytes;
  assert.ok(sentBefore < file.size, `the seeder sent ${sentBefore} bytes: the whole file crossed`);
  await first.page.close();

  // Space freed; a new seeder; Retry.
  await devtools.send('Storage.overrideQuotaForOrigin', { origin });
  const second = await seed(await s.user(), s.server.url, file);
  const retry = row.locator('[data-testid=retry]');
  assert.equal(await retry.isVisible(), true, 'Retry is offered');
  await retry.click();
  await waitCounters(row, 'the download resumed', (c) => c.state !== 'error');
  await waitComplete(row, 120_000);
  const resumed = await counters(row);
  assert.equal(resumed.failure, undefined, 'the failure is gone from the row');
  await assertSentOnlyWhatWasMissing(second.row, stopped, file.size);
  assert.equal((await saveAndHash(row)).sha256, file.sha256);
  assertNoCrash(page);
});
