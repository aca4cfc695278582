// Scenario 1: two users; one shares, the other opens the link (its file first on the page) and saves; the saved
// bytes are the shared bytes.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { openLink, saveAndHash, seed, waitComplete } from '../harness/app.mjs';

const MiB = 1024 * 1024;

spec('leecher_saves_the_exact_bytes_the_seeder_shared', { timeout: 120_000 }, async (s) => {
  // Not a multiple of any power-of-two piece size: the short last piece is part of what is checked.
  const file = await s.file('two-users.bin', 8 * MiB + 12_345);
  const { link } = await seed(await s.user(), s.server.url, file);

  const { row } = await openLink(await s.user(), link);
  // What the recipient came for comes first: the file's row is above the share and search sections.
  const first = await row.evaluate((el) => {
    const share = document.querySelector('#share-title');
    return Boolean(el.compareDocumentPosition(share) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  assert.ok(first, "the opened link's file is not first on the page");
  await waitComplete(row, 90_000);
  const saved = await saveAndHash(row);

  assert.equal(saved.size, file.size);
  assert.equal(saved.sha256, file.sha256);
});
