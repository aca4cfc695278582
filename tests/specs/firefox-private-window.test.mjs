// A Firefox private window: it gives the page no private file system (measured: `getDirectory()` throws a
// SecurityError), so downloads are kept in memory. A link to a file over the in-memory limit is refused from its
// manifest, before any piece, in words that fit a private window; a file under it downloads byte-exact.
//
// The limit is the browser tests' setting (`window.p2pTestSettings.memoryLimit`), so the file over it is 12 MB
// rather than 600; users get 512 MiB.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { errors, seed, share } from '../harness/app.mjs';
import { tempDir } from '../harness/files.mjs';
import {
  assertNoCrash,
  counters,
  launchFirefox,
  newUser,
  openLink,
  saveAndHash,
  waitComplete,
  waitCounters,
} from '../harness/firefox.mjs';

const MB = 1_000_000;
const LIMIT = 4 * MB;

spec('a_firefox_private_window_refuses_a_file_over_its_memory_limit_and_takes_one_under', { timeout: 120_000 }, async (s) => {
  const big = await s.file('big.bin', 12 * MB);
  const small = await s.file('small.bin', 3 * MB);
  const seeder = await seed(await s.user(), s.server.url, big);
  const second = await share(seeder.page, small);
  const firefox = await launchFirefox({ privateBrowsing: true });
  const dir = await tempDir();
  try {
    const downloads = join(dir.path, 'downloads');
    await mkdir(downloads);
    const user = await newUser(firefox, downloads);
    const tab = async () => {
      const page = await user.newPage();
      await page.evaluateOnNewDocument((limit) => {
        window.p2pTestSettings = { memoryLimit: limit };
      }, LIMIT);
      return page;
    };
    const { page, row } = await openLink(user, seeder.link, await tab());
    const opfs = await page.evaluate(() => navigator.storage.getDirectory().then(() => 'yes', (e) => e.name));
    assert.equal(opfs, 'SecurityError', 'a Firefox private window has no private file system');
    await waitCounters(row, 'the refusal', (c) => c.state === 'error', { timeout: 60_000 });
    const refused = await counters(row);
    assert.equal(refused.failure, 'too_large');
    assert.equal(refused.downloadedBytes, 0, 'a piece was received');
    const said = await errors(page);
    assert.match(said, /private window/, said);
    assert.match(said, /up to 4\.0 MB a file, and big\.bin is 12 MB\. Open the link in a normal window/, said);

    const fits = await openLink(user, second.link, await tab());
    await waitComplete(fits.row, 60_000);
    assert.equal((await saveAndHash(fits.row)).sha256, small.sha256);
    const bigRow = seeder.page.locator('[data-testid=share-row]').first();
    assert.equal((await counters(bigRow)).uploadedBytes, 0, 'the big file\'s seeder sent no piece');
    assertNoCrash(page);
    assertNoCrash(fits.page);
  } finally {
    await firefox.close();
    await dir.remove();
  }
});
