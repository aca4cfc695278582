// Issue 22, the choices around folders: several files picked at once are shared under one link or one link each,
// as the user says; a folder's download waits for its user's choice, keeps it over a reload (before choosing, and
// after), and takes a changed choice: a file ticked later arrives too.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import {
  assertNoCrash,
  chooseFiles,
  openApp,
  openLink,
  saveFile,
  seedFolder,
  shareLink,
  SHARE_TIMEOUT_MS,
  waitComplete,
  waitCounters,
  waitStatus,
} from '../harness/app.mjs';
import { makeTree, tempDir } from '../harness/files.mjs';

const MiB = 1024 * 1024;

spec('several_files_picked_at_once_are_shared_as_one_link_or_one_each', { timeout: 180_000 }, async (s) => {
  const dir = await tempDir();
  try {
    const expected = await makeTree(dir.path, [
      ['a.txt', 1_000],
      ['b.jpg', 2 * MiB + 1],
      ['c.bin', 0],
      ['d.txt', 10],
      ['e.txt', 20],
    ]);
    const seeder = await openApp(await s.user(), s.server.url);
    await waitStatus(seeder, 'connected');
    const rows = seeder.locator('[data-testid=share-row]');

    // One link for all: one share, a folder of the three files.
    await seeder.setInputFiles('#file-input', ['a.txt', 'b.jpg', 'c.bin'].map((n) => join(dir.path, n)));
    await seeder.locator('[data-testid=one-link]').click();
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().locator('.name').textContent(), 'a.txt and 2 more');
    const href = seeder.locator('[data-testid=share-link]').first();
    await seeder.waitForFunction((a) => /#[0-9a-f]{64}$/.test(a.href), await href.elementHandle(), {
      timeout: SHARE_TIMEOUT_MS,
    });
    const link = shareLink(await href.getAttribute('href'), seeder.url());

    const { page, row } = await openLink(await s.user(), link);
    await chooseFiles(row);
    await waitComplete(row, 60_000);
    const items = row.locator('[data-testid=files] li[data-path]');
    assert.deepEqual(await items.evaluateAll((els) => els.map((el) => el.dataset.path)), ['a.txt', 'b.jpg', 'c.bin']);
    for (const name of ['a.txt', 'b.jpg', 'c.bin']) {
      assert.equal(await saveFile(row, name), expected.get(name), `${name} saved other bytes`);
    }

    // One link each: two more shares, each a single file.
    await seeder.setInputFiles('#file-input', ['d.txt', 'e.txt'].map((n) => join(dir.path, n)));
    await seeder.locator('[data-testid=per-item]').click();
    await rows.nth(2).waitFor();
    assert.deepEqual(await rows.locator('.name').allTextContents(), ['a.txt and 2 more', 'd.txt', 'e.txt']);
    assert.ok(await seeder.locator('[data-testid=several]').isHidden());

    // An empty folder: said, and nothing shared.
    const empty = join(dir.path, 'Empty');
    await mkdir(empty);
    await seeder.setInputFiles('#folder-input', empty);
    await seeder.locator('[data-testid=error]', { hasText: 'That folder has no file to share.' }).waitFor();
    assert.equal(await rows.count(), 3);
    assertNoCrash(page);
  } finally {
    await dir.remove();
  }
});

spec('a_folder_download_keeps_its_choice_over_reloads_and_takes_a_new_one', { timeout: 180_000 }, async (s) => {
  const dir = await tempDir();
  try {
    const root = join(dir.path, 'Set');
    const expected = await makeTree(root, [
      ['one.bin', 3 * MiB],
      ['two.bin', 2 * MiB + 5],
      ['three.txt', 7_000],
    ]);
    const { link } = await seedFolder(await s.user(), s.server.url, root);

    // Reloaded before choosing: it is still waiting for the choice, and nothing was fetched.
    const { page, row } = await openLink(await s.user(), link);
    await waitCounters(row, 'the folder waiting for a choice', (c) => c.state === 'choosing', { timeout: 30_000 });
    await page.reload();
    const again = page.locator('[data-testid=download-row]').first();
    await waitCounters(again, 'still choosing after the reload', (c) => c.state === 'choosing', { timeout: 30_000 });
    assert.equal(Number(await again.getAttribute('data-downloaded-bytes')), 0);

    // Two of three files chosen, then a reload: the choice holds (the third is still not chosen and not fetched).
    await chooseFiles(again, ['two.bin']);
    await waitComplete(again, 60_000);
    await page.reload();
    const restored = page.locator('[data-testid=download-row]').first();
    await waitComplete(restored, 60_000);
    const two = restored.locator('li[data-path="two.bin"]');
    await two.waitFor();
    assert.equal(await two.getAttribute('data-state'), 'skipped');
    assert.equal(await two.locator('.pick').isChecked(), false);
    assert.equal(await restored.locator('li[data-path="one.bin"]').getAttribute('data-state'), 'complete');

    // Ticked now, it arrives too, and every file saves as shared.
    await two.locator('.pick').check();
    await restored.locator('li[data-path="two.bin"][data-state=complete]').waitFor({ timeout: 60_000 });
    await waitComplete(restored, 60_000);
    for (const [path, hash] of expected) {
      assert.equal(await saveFile(restored, path), hash, `${path} saved other bytes`);
    }
    assertNoCrash(page);
  } finally {
    await dir.remove();
  }
});

spec('a_large_folder_shows_closed_folders_made_when_opened_and_chosen_whole', { timeout: 120_000 }, async (s) => {
  const dir = await tempDir();
  try {
    // 250 files: over the 200 a tree shows open.
    const root = join(dir.path, 'Big');
    const layout = Array.from({ length: 250 }, (_, i) => [`${'abcde'[i % 5]}/f${i}.txt`, 20_000 + i]);
    const expected = await makeTree(root, layout);
    const { link } = await seedFolder(await s.user(), s.server.url, root);

    const { page, row } = await openLink(await s.user(), link);
    await row.locator('[data-testid=choose]').waitFor();
    assert.equal(await row.locator('li[data-folder]').count(), 5, 'the five folders');
    assert.equal(await row.locator('li[data-path]').count(), 0, 'no file made before its folder is opened');
    // A closed folder's box chooses every file in it, made or not.
    await row.locator('li[data-folder="b"] > details > summary .pick').uncheck();
    await chooseFiles(row);
    await waitComplete(row, 60_000);
    await row.locator('li[data-folder="b"] > details > summary').click();
    const inB = row.locator('li[data-folder="b"] li[data-path]');
    await inB.first().waitFor();
    assert.equal(await inB.count(), 50);
    // Not fetched, but for the few at its edges that share a piece with a chosen neighbour (a piece holds a few
    // of these files), which come whole with that piece.
    const states = await inB.evaluateAll((els) => els.map((el) => el.dataset.state));
    assert.ok(states.filter((st) => st === 'skipped').length >= 44, `the files of b: ${states.join(' ')}`);
    assert.ok(states.every((st) => st === 'skipped' || st === 'complete'), `the files of b: ${states.join(' ')}`);
    await row.locator('li[data-folder="c"] > details > summary').click();
    assert.equal(await saveFile(row, 'c/f2.txt'), expected.get('c/f2.txt'));
    assertNoCrash(page);
  } finally {
    await dir.remove();
  }
});

spec('a_choice_changed_while_paused_holds_when_the_download_resumes', { timeout: 120_000 }, async (s) => {
  const dir = await tempDir();
  try {
    const root = join(dir.path, 'Slow');
    const expected = await makeTree(root, [
      ['a.bin', 2 * MiB],
      ['b.bin', 2 * MiB],
      ['c.txt', 5_000],
    ]);
    // The seeder sends at most 1 MB/s, so the download is still going when it is paused.
    const { page: seeder, link } = await seedFolder(await s.user(), s.server.url, root);
    await seeder.selectOption('[data-testid=upload-limit]', '1000000');
    const { page, row } = await openLink(await s.user(), link);
    await chooseFiles(row);
    await waitCounters(row, 'a first piece', (c) => c.verifiedPieces >= 1, { timeout: 30_000 });
    await row.locator('[data-testid=pause]').click();
    await waitCounters(row, 'paused', (c) => c.state === 'paused', { timeout: 10_000 });
    const b = row.locator('li[data-path="b.bin"]');
    await b.locator('.pick').uncheck();
    assert.equal(await page.locator('[data-testid=error]').count(), 0, 'a paused download takes a new choice');
    await row.locator('[data-testid=resume]').click();
    await waitComplete(row, 60_000);
    assert.equal(await b.locator('.pick').isChecked(), false);
    assert.notEqual(await b.getAttribute('data-state'), 'complete', 'b.bin was not fetched whole after the pause');
    for (const path of ['a.bin', 'c.txt']) {
      assert.equal(await saveFile(row, path), expected.get(path), `${path} saved other bytes`);
    }
    assertNoCrash(page);
  } finally {
    await dir.remove();
  }
});
