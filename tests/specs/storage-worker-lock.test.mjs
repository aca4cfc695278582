// The storage worker (www/storage-worker.js) keeps a download's data file open after `finish`, so the `File` it
// answered with stays readable: another tab's worker (here, a second worker of the same page: the lock is per
// file, not per tab) cannot write the file meanwhile and gets a `NoModificationAllowedError` (the page then stops
// that download), but can read it; nor can it remove the download, which stays whole. Once the first worker removes
// the download, the file is free. A write's answer hands the written buffer back (`spare`) for the page to reuse.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { openApp } from '../harness/app.mjs';

spec('finished_data_file_stays_locked_and_readable_until_removed', { timeout: 60_000 }, async (s) => {
  const page = await openApp(await s.user(), s.server.url);
  const result = await page.evaluate(async () => {
    const dir = 'spec-lock';
    let next = 0;
    const ask = (worker, request, transfer = []) =>
      new Promise((resolve) => {
        const id = next++;
        const listener = (e) => {
          if (e.data.id !== id) return;
          worker.removeEventListener('message', listener);
          resolve(e.data);
        };
        worker.addEventListener('message', listener);
        worker.postMessage({ ...request, id }, transfer);
      });
    const piece = crypto.getRandomValues(new Uint8Array(65536));
    const write = (worker) => {
      const data = piece.slice().buffer;
      return ask(worker, { op: 'write', dir, offset: 0, data }, [data]);
    };
    const same = (buffer) => {
      const bytes = new Uint8Array(buffer);
      return bytes.length === piece.length && bytes.every((b, i) => b === piece[i]);
    };
    const a = new Worker('storage-worker.js');
    const b = new Worker('storage-worker.js');
    const out = {};
    const first = await write(a);
    out.aWrote = first.value;
    out.spareBack = first.spare instanceof ArrayBuffer ? first.spare.byteLength : null;
    const file = (await ask(a, { op: 'finish', dir })).value;
    out.finishedIsFile = file instanceof File;
    out.bWrite = (await write(b)).error?.name ?? 'written';
    out.fileReadable = same(await file.arrayBuffer());
    out.bRead = same((await ask(b, { op: 'read', dir, offset: 0, length: piece.length })).value);
    // A remove from the other worker fails and leaves the download whole (its manifest included).
    const contentDir = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('p2p-share'))
      .getDirectoryHandle(dir);
    await (await (await contentDir.getFileHandle('manifest', { create: true })).createWritable()).close();
    out.bRemove = (await ask(b, { op: 'remove', dir })).error?.name ?? 'removed';
    out.manifestKept = await contentDir.getFileHandle('manifest').then(
      () => true,
      () => false,
    );
    out.fileStillReadable = same(await file.arrayBuffer());
    out.aRemoved = (await ask(a, { op: 'remove', dir })).value;
    out.bWriteAfterRemove = (await write(b)).value;
    await ask(b, { op: 'remove', dir });
    a.terminate();
    b.terminate();
    return out;
  });
  assert.deepEqual(result, {
    aWrote: true,
    spareBack: 65536,
    finishedIsFile: true,
    bWrite: 'NoModificationAllowedError',
    fileReadable: true,
    bRead: true,
    bRemove: 'NoModificationAllowedError',
    manifestKept: true,
    fileStillReadable: true,
    aRemoved: true,
    bWriteAfterRemove: true,
  });
});
