// One user opens the same link in a second tab while the first is still downloading. Both tabs share the browser
// profile's storage, and one tab stores a download (its storage worker's open data file is an exclusive lock;
// peer-wasm/src/storage.rs): the second tab restores what the first stored, and when it would store a piece itself
// it stops the download with a message naming the other tab, instead of writing beside it. The first tab completes,
// and saves the original bytes.
//
// The seeder leaves after a quarter of the pieces, so the first tab is mid-download, holding the data file open,
// when the second opens the link; a new seeder then brings the rest.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { assertNoCrash, counters, errors, openLink, saveAndHash, seed, waitComplete, waitCounters } from '../harness/app.mjs';

const MiB = 1024 * 1024;

spec('second_tab_of_one_user_stops_a_download_the_first_tab_stores', { timeout: 120_000 }, async (s) => {
  const file = await s.file('two-tabs.bin', 24 * MiB + 99);
  const seeder = await seed(await s.user(), s.server.url, file);
  const context = await s.user();
  const first = await openLink(context, seeder.link);
  const quarter = (c) => c.totalPieces > 0 && c.verifiedPieces * 4 >= c.totalPieces;
  await waitCounters(first.row, 'a quarter of the pieces', quarter);
  await seeder.page.close();
  await waitCounters(first.row, 'the seeder gone', (c) => c.peers === 0);
  const before = await counters(first.row);

  const second = await openLink(context, seeder.link);
  await waitCounters(second.row, 'what the first tab stored, restored', (c, n) => c.verifiedPieces >= n, {
    arg: before.verifiedPieces,
    timeout: 30_000,
  });
  await seed(await s.user(), s.server.url, file);
  await waitCounters(second.row, 'the second tab stopping the download', (c) => c.state === 'error', {
    timeout: 60_000,
  });
  assert.match(await errors(second.page), /open in another tab/);
  await waitComplete(first.row, 90_000);

  const stored = await first.page.evaluate(async () => {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('p2p-share');
    const names = [];
    for await (const [, dir] of root.entries()) for await (const [name] of dir.entries()) names.push(name);
    return names.sort();
  });
  assert.deepEqual(stored, ['data', 'manifest'], 'one data file, written by the first tab only');
  const saved = await saveAndHash(first.row);
  assert.equal(saved.sha256, file.sha256);
  assert.equal(await errors(first.page), '');
  assertNoCrash(first.page);
  assertNoCrash(second.page);
});
