// The block-read worker (www/read-worker.js) reads a keyed Blob ahead in aligned 1 MiB chunks once requests come in
// order, and answers the following requests from the chunk; requests out of order are exact reads. Every answer
// holds exactly the bytes asked for, also at the file's odd-sized end and across a chunk boundary.
//
// That the chunk was read ahead shows when the file changes under it: a `File` of an OPFS file cannot be read any
// more once the file is written, so a request answered after that comes from a chunk read before, and one whose
// chunk was not read ahead fails.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { openApp } from '../harness/app.mjs';

spec('read_worker_reads_ahead_in_order_and_exactly_otherwise', { timeout: 60_000 }, async (s) => {
  const page = await openApp(await s.user(), s.server.url);
  const result = await page.evaluate(async () => {
    const MiB = 1024 * 1024;
    const BLOCK = 128 * 1024;
    const size = 3 * MiB + 777;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
    const root = await navigator.storage.getDirectory();
    const handle = await root.getFileHandle('spec-read-ahead.bin', { create: true });
    const writable = await handle.createWritable();
    await writable.write(bytes);
    await writable.close();
    const file = await handle.getFile();

    const worker = new Worker('read-worker.js');
    let next = 0;
    const read = (start, end, key) =>
      new Promise((resolve) => {
        const id = next++;
        const listener = (e) => {
          if (e.data.id !== id) return;
          worker.removeEventListener('message', listener);
          resolve(e.data);
        };
        worker.addEventListener('message', listener);
        worker.postMessage({ id, blob: file, start, end, key });
      });
    const exact = (answer, start, end) => {
      if (!(answer.buffer instanceof ArrayBuffer)) return `error ${answer.error?.name}`;
      const got = new Uint8Array(answer.buffer);
      if (got.length !== end - start) return `${got.length} bytes for ${end - start}`;
      return got.every((b, i) => b === bytes[start + i]) ? 'exact' : 'wrong bytes';
    };
    const out = { inOrder: [], outOfOrder: [] };
    // Keyed, in order, 8 at a time (as a seeder's reads are): every block of the file, its short last one included.
    const starts = [];
    for (let at = 0; at < size; at += BLOCK) starts.push(at);
    for (let i = 0; i < starts.length; i += 8) {
      const batch = starts.slice(i, i + 8).map((at) => [at, Math.min(size, at + BLOCK)]);
      const answers = await Promise.all(batch.map(([a, b]) => read(a, b, 'ordered')));
      answers.forEach((answer, k) => out.inOrder.push(exact(answer, ...batch[k])));
    }
    // Keyed, out of order, and ranges across a chunk boundary and at the end.
    for (const [a, b] of [
      [2 * MiB + 5 * BLOCK, 2 * MiB + 6 * BLOCK],
      [MiB - 1000, MiB + 1000],
      [size - 777, size],
      [3, 4],
      [MiB + 3 * BLOCK, MiB + 4 * BLOCK],
    ]) {
      out.outOfOrder.push(exact(await read(a, b, 'scattered'), a, b));
    }
    // Read ahead: a fresh key reads blocks 0 and 1 of chunk 2 in order (the second read fetches the whole chunk).
    const base = 2 * MiB;
    out.aheadFirst = exact(await read(base, base + BLOCK, 'ahead'), base, base + BLOCK);
    out.aheadSecond = exact(await read(base + BLOCK, base + 2 * BLOCK, 'ahead'), base + BLOCK, base + 2 * BLOCK);
    // The file is gone: its `File` cannot be read from here on.
    await root.removeEntry('spec-read-ahead.bin');
    out.laterInChunk = exact(await read(base + 5 * BLOCK, base + 6 * BLOCK, 'ahead'), base + 5 * BLOCK, base + 6 * BLOCK);
    out.otherChunk = exact(await read(MiB, MiB + BLOCK, 'ahead'), MiB, MiB + BLOCK);
    worker.terminate();
    return out;
  });
  assert.equal(result.inOrder.length, 25);
  assert.deepEqual(new Set(result.inOrder), new Set(['exact']), `in-order reads: ${result.inOrder}`);
  assert.deepEqual(result.outOfOrder, ['exact', 'exact', 'exact', 'exact', 'exact']);
  assert.equal(result.aheadFirst, 'exact');
  assert.equal(result.aheadSecond, 'exact');
  assert.equal(result.laterInChunk, 'exact', 'a block of the chunk read ahead is answered from it');
  assert.equal(result.otherChunk, 'error NotFoundError', 'a block of a chunk not read ahead is read from the file');
});
