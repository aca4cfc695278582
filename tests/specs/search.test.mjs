// Issue 7: announce and search without a central index. Three users on one fresh private network: A shares
// "holiday-video.mp4", B shares something else, C searches "holiday", sees A's file, presses Download and saves
// exactly A's bytes. C searches as soon as its page is connected: results must reach it however far the
// network has formed by then (the product re-sends an active search to neighbours that connect later).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spec } from '../harness/scenario.mjs';
import { errors, openApp, saveAndHash, seed, setListed, waitComplete, waitStatus } from '../harness/app.mjs';
import { screenshot } from '../harness/artifacts.mjs';
import { downloadResult, networkName, results, search, waitResult } from '../harness/search.mjs';

const MiB = 1024 * 1024;

spec('a_search_finds_a_file_another_user_shares_and_downloads_it', { timeout: 150_000 }, async (s) => {
  const network = `test-${randomBytes(6).toString('hex')}`;
  const url = `${s.server.url}/?network=${network}`;
  const video = await s.file('holiday-video.mp4', 3 * MiB + 4_321);
  const other = await s.file('tax-return-2026.pdf', 300_000);

  // Both list their files in search (a share is reachable by its link only until then).
  const a = await seed(await s.user(), url, video);
  await setListed(a.row);
  await setListed((await seed(await s.user(), url, other)).row);
  const c = await openApp(await s.user(), url);
  await waitStatus(c, 'connected');
  assert.equal(await networkName(c), network, 'the page is in the network its address names');

  await search(c, 'holiday');
  const item = await waitResult(c, 'holiday-video.mp4');
  const id = a.link.split('#')[1];
  assert.equal(await item.getAttribute('data-content'), id, 'the result names the content A shares');
  assert.equal(await results(c).count(), 1, 'only the matching file is listed');
  await screenshot(c, 'search-results');

  const row = await downloadResult(item);
  await waitComplete(row, 90_000);
  const saved = await saveAndHash(row);
  assert.equal(saved.size, video.size);
  assert.equal(saved.sha256, video.sha256);
  assert.equal(saved.name, 'holiday-video.mp4');
});

spec('an_invalid_network_name_is_reported_and_the_default_network_used', { timeout: 60_000 }, async (s) => {
  const page = await openApp(await s.user(), `${s.server.url}/?network=Not%20Valid!`);
  assert.equal(await networkName(page), 'default');
  await page.locator('[data-testid=error][data-kind=invalid_network]').waitFor({ timeout: 10_000 });
  assert.match(await errors(page), /network name "Not Valid!" .* not valid/);
  // A query with no word is refused with a message, not sent.
  await search(page, '!!!');
  await page.locator('#search-state[data-state=error]').waitFor({ timeout: 10_000 });
  assert.equal(await results(page).count(), 0);
});
