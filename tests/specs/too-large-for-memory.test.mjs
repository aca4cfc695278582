// The app served over plain http on a LAN address (10.77.0.1: not a secure context, so no private file system and
// downloads kept in memory). A link to a file over the in-memory limit is refused from its manifest alone: the
// recipient's row says why, once, before any piece; no piece crosses (the seeder's counters) and the seeder sees
// the peer leave. A file under the limit, opened next in the same browser, downloads byte-exact.
//
// The limit is the browser tests' setting (`window.p2pTestSettings.memoryLimit`, docs/ARCHITECTURE.md), so the
// file over it is 12 MB rather than 600; users get 512 MiB.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { startSignaling } from '../harness/server.mjs';
import {
  assertNoCrash,
  counters,
  errors,
  openLink,
  saveAndHash,
  seed,
  share,
  waitComplete,
  waitCounters,
} from '../harness/app.mjs';

const MB = 1_000_000;
/** The recipient's in-memory limit. */
const LIMIT = 4 * MB;

spec('a_file_over_the_memory_limit_is_refused_before_any_piece_crosses', { timeout: 120_000 }, async (s) => {
  // The server on the namespace's LAN address: pages opened there are not a secure context.
  const lan = await startSignaling({ listen: '10.77.0.1:0' });
  try {
    assert.match(lan.url, /^http:\/\/10\.77\.0\.1:\d+/);
    const big = await s.file('big.bin', 12 * MB);
    const small = await s.file('small.bin', 3 * MB);
    const seeder = await seed(await s.user(), lan.url, big);
    assert.equal(await seeder.page.evaluate(() => window.isSecureContext), false, 'the LAN page is not secure');

    const recipient = await s.user();
    await recipient.addInitScript((limit) => {
      window.p2pTestSettings = { memoryLimit: limit };
    }, LIMIT);
    const { page, row } = await openLink(recipient, seeder.link);
    await waitCounters(row, 'the refusal', (c) => c.state === 'error', { timeout: 60_000 });
    const refused = await counters(row);
    assert.equal(refused.failure, 'too_large');
    assert.equal(refused.downloadedBytes, 0, 'no piece was received');
    assert.equal(refused.verifiedPieces, 0);
    assert.equal(refused.peers, 0);
    const said = await errors(page);
    assert.match(said, /plain http/, said);
    assert.match(said, /up to 4\.0 MB a file, and big\.bin is 12 MB/, said);
    assert.equal(await page.locator('[data-testid=error]').count(), 0, 'said once, in the row, not in a banner too');
    assert.equal(await row.locator('[data-testid=retry]').isHidden(), true, 'no Retry: retrying cannot help');
    assert.equal(await row.locator('.name').innerText(), 'big.bin', 'the row names the file it refused');
    assert.equal(await row.locator('.size').innerText(), '12 MB');

    // A file that fits, in the same browser, shared by the same seeder: it completes (and the big one's seeder
    // meanwhile sent nothing more).
    const second = await share(seeder.page, small);
    const fits = await openLink(recipient, second.link);
    await waitComplete(fits.row, 60_000);
    assert.equal((await saveAndHash(fits.row)).sha256, small.sha256);
    const bigRow = seeder.page.locator('[data-testid=share-row]').first();
    await waitCounters(bigRow, 'the big file\'s seeder without the recipient', (c) => c.peers === 0);
    assert.equal((await counters(bigRow)).uploadedBytes, 0, 'the big file\'s seeder sent no piece');
    assert.equal(await row.getAttribute('data-state'), 'error', 'the refused row stays stopped');
    assertNoCrash(page);
    assertNoCrash(fits.page);
    assertNoCrash(seeder.page);
  } finally {
    await lan.stop();
  }
});
