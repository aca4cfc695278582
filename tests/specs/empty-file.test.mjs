// An empty file (PROTOCOL.md 1.1: no pieces, complete once its manifest is known): shared from one browser and
// saved in another, zero bytes, as a file of its name.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { assertNoCrash, openLink, saveAndHash, seed, waitComplete } from '../harness/app.mjs';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

spec('an_empty_file_is_shared_and_saved', { timeout: 60_000 }, async (s) => {
  const file = await s.file('nothing.txt', 0);
  const { link } = await seed(await s.user(), s.server.url, file);
  const { page, row } = await openLink(await s.user(), link);
  await waitComplete(row, 30_000);
  const saved = await saveAndHash(row);
  assert.equal(saved.name, 'nothing.txt');
  assert.equal(saved.size, 0);
  assert.equal(saved.sha256, EMPTY_SHA256);
  assertNoCrash(page);
});
