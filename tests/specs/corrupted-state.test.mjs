// Scenario 8b: corrupted stored state (every file in the origin's private file system and every localStorage value
// overwritten with garbage, as a bad disk or a bad write would leave them): the app says so clearly and does not
// crash.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { screenshot } from '../harness/artifacts.mjs';
import { assertNoCrash, errors, openApp, openLink, seed, waitCounters, waitStatus } from '../harness/app.mjs';

const MiB = 1024 * 1024;

/** Runs in a same-origin page with no app in it: overwrites stored state; resolves with how much it touched. */
async function corruptStorage() {
  const garbage = (n) => crypto.getRandomValues(new Uint8Array(n));
  let files = 0;
  async function walk(dir) {
    for await (const [, handle] of dir.entries()) {
      if (handle.kind === 'directory') {
        await walk(handle);
      } else {
        const w = await handle.createWritable({ keepExistingData: false });
        await w.write(garbage(257));
        await w.close();
        files += 1;
      }
    }
  }
  await walk(await navigator.storage.getDirectory());
  let keys = 0;
  for (let i = 0; i < localStorage.length; i++) {
    localStorage.setItem(localStorage.key(i), '{"\u0000garbage');
    keys += 1;
  }
  return { files, keys };
}

spec('corrupted_stored_state_shows_an_error_and_no_crash', { timeout: 120_000 }, async (s) => {
  const file = await s.file('corrupted-state.bin', 16 * MiB);
  const { link } = await seed(await s.user(), s.server.url, file);

  // A leecher stores some state, then closes its tab (releasing its file handles).
  const context = await s.user();
  const leecher = await openLink(context, link);
  await waitCounters(leecher.row, 'a first verified piece', (c) => c.verifiedPieces >= 1);
  await leecher.page.close();

  // A same-origin page without the app (the stylesheet, opened as a document) corrupts what the app stored.
  const other = await context.newPage();
  await other.goto(`${s.server.url}/style.css`);
  const touched = await other.evaluate(corruptStorage);
  assert.ok(touched.files + touched.keys > 0, 'the app had stored state to corrupt');
  await other.close();

  const page = await openApp(context, s.server.url);
  await page.locator('[data-testid=error]').first().waitFor();
  assert.notEqual(await errors(page), '');
  await waitStatus(page, 'connected');
  await screenshot(page, 'corrupted-state');
  assertNoCrash(page);
});
