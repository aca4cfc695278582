// Private by default (issue 20): a shared file is reachable by its link only until its user ticks "List in search";
// only listed files are found; unticking takes a file out of every answer at once; a download never announces
// what it got. Four users on one fresh network: A shares a private file and a listed one, B a listed control
// file, C searches and downloads, D searches after A unlisted. Each absence is checked against a presence that would have travelled with it: the same peer's
// answer, or the same search's.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spec } from '../harness/scenario.mjs';
import { openApp, seed, setListed, waitComplete, waitStatus } from '../harness/app.mjs';
import { downloadResult, results, search, waitResult } from '../harness/search.mjs';

const names = async (page) => results(page).evaluateAll((items) => items.map((i) => i.textContent));

spec('only_what_its_user_lists_is_found_and_unlisting_takes_it_out', { timeout: 150_000 }, async (s) => {
  const url = `${s.server.url}/?network=test-${randomBytes(6).toString('hex')}`;
  const a = await s.user();
  const priv = await seed(a, url, await s.file('holiday-private.mp4', 200_000));
  const listed = await seed(a, url, await s.file('holiday-listed.mp4', 300_000));
  const control = await seed(await s.user(), url, await s.file('holiday-control.mp4', 100_000));
  assert.equal(await priv.row.getAttribute('data-listed'), null, 'a share starts private');
  assert.match(await priv.row.locator('.privacy').innerText(), /Private link/);
  await setListed(listed.row);
  await setListed(control.row);

  const c = await openApp(await s.user(), url);
  await waitStatus(c, 'connected');
  await search(c, 'holiday');
  // A answers with every match it lists: the listed file arriving means the private one would have too.
  const item = await waitResult(c, 'holiday-listed.mp4');
  await waitResult(c, 'holiday-control.mp4');
  assert.ok(!(await names(c)).some((n) => n.includes('holiday-private')), `found a private file: ${await names(c)}`);

  // C downloads the listed file, then A unlists it: nobody offers it any more (C does not announce what it got).
  const row = await downloadResult(item);
  await waitComplete(row, 90_000);
  assert.equal(await row.getAttribute('data-listed'), null, 'a finished download is not listed');
  await setListed(listed.row, false);
  assert.match(await listed.row.locator('.privacy').innerText(), /Private link/);
  // A fourth user searches: C, which has the file whole and seeds it, does not answer with it.
  const d = await openApp(await s.user(), url);
  await waitStatus(d, 'connected');
  await search(d, 'holiday');
  await waitResult(d, 'holiday-control.mp4');
  const after = await names(d);
  assert.ok(!after.some((n) => n.includes('holiday-listed') || n.includes('holiday-private')), `still found: ${after}`);
});
