// Scenario 8a: an invalid link shows a clear error, and the page keeps working (no crash); an upper-case link is
// valid.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { screenshot } from '../harness/artifacts.mjs';
import { assertNoCrash, downloadRow, errors, openApp, waitStatus } from '../harness/app.mjs';

const BAD_FRAGMENTS = [
  'not-a-content-id',
  // 64 characters, one not hex.
  'g'.repeat(64),
  // One hex digit short.
  'a'.repeat(63),
  '%00%ff<script>',
];

spec('invalid_link_shows_an_error_and_the_page_keeps_working', { timeout: 120_000 }, async (s) => {
  const context = await s.user();
  for (const [i, fragment] of BAD_FRAGMENTS.entries()) {
    const page = await openApp(context, `${s.server.url}/#${fragment}`);
    await page.locator('[data-testid=error]').first().waitFor();
    assert.notEqual(await errors(page), '', `an error is shown for #${fragment}`);
    assert.equal(await page.locator('[data-testid=download-row][data-state=downloading]').count(), 0);
    await waitStatus(page, 'connected');
    assertNoCrash(page);
    if (i === 0) await screenshot(page, 'invalid-link');
    await page.close();
  }
  // Either case of hex names the same content: an upper-case link is no error, it opens the lower-case id.
  const id = 'ab'.repeat(32);
  const page = await openApp(context, `${s.server.url}/#${id.toUpperCase()}`);
  await downloadRow(page).waitFor();
  await waitStatus(page, 'connected');
  assert.equal(await downloadRow(page).getAttribute('data-id'), id);
  assert.equal(await errors(page), '', 'no error for an upper-case link');
  assertNoCrash(page);
  await page.close();
});
