// One user opens the same link in a second tab while the first is still downloading. Both tabs share the browser
// profile's storage: the second restores what the first stored, and both store the rest. Only one tab can hold a
// download's data file open (peer-wasm/src/storage.rs), so the second stores its pieces in files of their own; the
// first keeps the file open after completing, so nothing the second does spoils the first's Save. Both complete,
// show no error, and save the original bytes.
//
// The seeder leaves after a quarter of the pieces, so the first tab is mid-download, holding the data file open,
// when the second opens the link; a new seeder then brings the rest to both.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { assertNoCrash, counters, errors, openLink, saveAndHash, seed, waitComplete, waitCounters } from '../harness/app.mjs';

const MiB = 1024 * 1024;

spec('two_tabs_of_one_user_download_the_same_link_and_both_save_the_original', { timeout: 120_000 }, async (s) => {
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
  await waitComplete(first.row, 90_000);
  await waitComplete(second.row, 90_000);

  const stored = await first.page.evaluate(async () => {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('p2p-share');
    const names = [];
    for await (const [, dir] of root.entries()) for await (const [name] of dir.entries()) names.push(name);
    return names;
  });
  assert.ok(stored.includes('data'), `the first tab wrote the data file: ${stored}`);
  assert.ok(
    stored.some((name) => /^p\d+$/.test(name)),
    `the second tab, locked out of the data file, wrote piece files: ${stored}`,
  );
  for (const tab of [first, second]) {
    const saved = await saveAndHash(tab.row);
    assert.equal(saved.sha256, file.sha256);
    assert.equal(await errors(tab.page), '');
    assertNoCrash(tab.page);
  }
});
