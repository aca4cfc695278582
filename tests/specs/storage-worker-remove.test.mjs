// The storage worker (www/storage-worker.js) removes a download's directory only after the piece writes it had
// already started, hashed or not (the user removes a download while pieces are coming in): every request is
// answered without error and nothing of the download is left on disk. Without the wait, the remove fails on a
// data file open for writing, or a write lands after it and leaves the directory behind.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { openApp } from '../harness/app.mjs';

/** A failure guard inside the page, milliseconds: a request never answered shows as a timeout, not a hung test. */
const ANSWER_TIMEOUT_MS = 20_000;
/** Pieces sent just before the remove, half of them to be hashed first (with `expected`), half not. */
const PIECES = 8;

spec('remove_waits_for_piece_writes_started_before_it_then_deletes_everything', { timeout: 60_000 }, async (s) => {
  const page = await openApp(await s.user(), s.server.url);
  const result = await page.evaluate(
    async ({ pieces, timeoutMs }) => {
      const dir = 'spec-remove-while-hashing';
      const worker = new Worker('storage-worker.js');
      const answers = new Map();
      const all = new Promise((resolve) => {
        worker.onmessage = (e) => {
          answers.set(e.data.id, e.data);
          if (answers.size === pieces + 1) resolve('answered');
        };
      });
      const data = new Uint8Array(8 * 1024 * 1024);
      crypto.getRandomValues(data.subarray(0, 65536));
      const expected = await crypto.subtle.digest('SHA-256', data);
      for (let i = 0; i < pieces; i++) {
        const copy = data.slice().buffer;
        const request = { id: i, op: 'write', dir, offset: i * data.length, data: copy };
        if (i % 2) request.expected = expected;
        worker.postMessage(request, [copy]);
      }
      worker.postMessage({ id: pieces, op: 'remove', dir });
      const outcome = await Promise.race([all, new Promise((r) => setTimeout(() => r('timeout'), timeoutMs))]);
      worker.terminate();
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('p2p-share');
      const left = await root.getDirectoryHandle(dir).then(
        () => true,
        () => false,
      );
      const errors = [...answers.values()].filter((a) => a.error).map((a) => `${a.id}: ${a.error.message}`);
      const wrote = [...answers.values()].filter((a) => a.id < pieces && a.value === true).length;
      return { outcome, answered: answers.size, errors, wrote, left };
    },
    { pieces: PIECES, timeoutMs: ANSWER_TIMEOUT_MS },
  );
  assert.equal(result.outcome, 'answered', `every request is answered: ${JSON.stringify(result)}`);
  assert.deepEqual(result.errors, []);
  assert.equal(result.wrote, PIECES, 'every piece was written (and matched its hash) before the remove');
  assert.equal(result.left, false, 'the removed directory is gone');
});
