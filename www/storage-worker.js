// Writes verified pieces into the origin private file system off the page's thread (peer-wasm/src/storage.rs).
//
// On the page's thread, a piece written with `createWritable` cost ~3.4 ms of main-thread time (the stream's `write`
// copies and posts the bytes, `close` commits a swap file); here a `FileSystemSyncAccessHandle` writes them
// straight into the file, and the page's thread only posts the bytes (transferred, not copied).
//
// A piece can also be hashed here and written only if it matches (one copy out of wasm memory and one message for
// both, instead of a digest on the page's thread that copies the piece and a write that copies it again).
//
// Messages in (from the page):
//   { id, op: 'write', dir, name, data }  write ArrayBuffer `data` as the whole of file `name` in content directory
//                                          `dir`, then answer with the file (a `File`, read by reference later)
//   { id, op: 'verify-write', dir, name, data, expected }
//                                          the same if the SHA-256 of `data` is ArrayBuffer `expected`; if not,
//                                          nothing is written and the answer's file is null
//   { id, op: 'remove', dir }              delete content directory `dir` and everything in it, once every write
//                                          started before it has finished
// Messages out: { id, file } or { id, done: true } on success, { id, error: { name, message } } on failure.
// A write that fails removes what it wrote: a piece file either holds a whole piece or does not exist (after a crash
// mid-write a file may hold part of one; the page re-hashes every stored piece when it restores a download).
'use strict';

const ROOT_DIR = 'p2p-share';
/** Content directory handles by name, so a write costs no directory lookup. */
const dirs = new Map();
/** Writes running now; a remove waits for them. */
const running = new Set();
/** Settles when the last remove has finished; writes wait for it, so none lands in a directory being removed. */
let barrier = Promise.resolve();
let rootPromise = null;

function root() {
  rootPromise ??= navigator.storage
    .getDirectory()
    .then((top) => top.getDirectoryHandle(ROOT_DIR, { create: true }));
  return rootPromise;
}

async function contentDir(name) {
  let dir = dirs.get(name);
  if (!dir) {
    dir = await (await root()).getDirectoryHandle(name, { create: true });
    dirs.set(name, dir);
  }
  return dir;
}

/**
 * Writes `data` as the whole of file `name` in content directory `dirName` and resolves with the file, or, with
 * `expected` (an ArrayBuffer), only if the SHA-256 of `data` is `expected` (null if not: nothing written). Called
 * as the request arrives: the barrier it waits for is the last remove before it, never a later one (which waits
 * for this write).
 */
async function store(dirName, name, data, expected) {
  await barrier;
  if (expected && !(await hashMatches(data, expected))) return null;
  if (typeof FileSystemFileHandle.prototype.createSyncAccessHandle !== 'function') {
    throw new DOMException('this browser has no synchronous file access in workers', 'NotSupportedError');
  }
  let dir = await contentDir(dirName);
  let handle;
  try {
    handle = await dir.getFileHandle(name, { create: true });
  } catch (e) {
    if (e?.name !== 'NotFoundError') throw e;
    // The cached directory was removed meanwhile (by the page's own fallback path): once more with a fresh one.
    dirs.delete(dirName);
    dir = await contentDir(dirName);
    handle = await dir.getFileHandle(name, { create: true });
  }
  const access = await handle.createSyncAccessHandle();
  try {
    access.truncate(0);
    const written = access.write(new Uint8Array(data), { at: 0 });
    if (written !== data.byteLength) {
      throw new DOMException(`wrote ${written} of ${data.byteLength} bytes`, 'QuotaExceededError');
    }
    // No flush(): it syncs the file to disk, a cost per piece that buys nothing here, since a piece file cut
    // short by a crash fails the SHA-256 check when the download is restored and is fetched again.
  } catch (e) {
    access.close();
    await dir.removeEntry(name).catch(() => {});
    throw e;
  }
  access.close();
  return handle.getFile();
}

/** Whether the SHA-256 of `data` is `expected` (both ArrayBuffers). */
async function hashMatches(data, expected) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  const want = new Uint8Array(expected);
  return digest.length === want.length && digest.every((b, i) => b === want[i]);
}

async function remove(dirName) {
  await Promise.allSettled([...running]);
  dirs.delete(dirName);
  try {
    await (await root()).removeEntry(dirName, { recursive: true });
  } catch (e) {
    if (e?.name !== 'NotFoundError') throw e;
  }
}

// A request that cannot be read names no id to answer: failing the worker sends every waiting request back to the
// page's thread (peer-wasm/src/worker_client.rs) instead of leaving one waiting forever.
self.onmessageerror = () => {
  throw new Error('storage worker: a request could not be read');
};

self.onmessage = (event) => {
  const { id, op, dir, name, data, expected } = event.data ?? {};
  const piece = typeof dir === 'string' && typeof name === 'string' && data instanceof ArrayBuffer;
  let task;
  if ((op === 'write' || (op === 'verify-write' && expected instanceof ArrayBuffer)) && piece) {
    task = store(dir, name, data, op === 'verify-write' ? expected : null).then((file) => ({ id, file }));
    running.add(task);
    task.finally(() => running.delete(task)).catch(() => {});
  } else if (op === 'remove' && typeof dir === 'string') {
    task = remove(dir).then(() => ({ id, done: true }));
    barrier = task.catch(() => {});
  } else {
    task = Promise.reject(new TypeError(`storage worker: unknown request ${JSON.stringify(op)}`));
  }
  task.then(
    (answer) => self.postMessage(answer),
    (e) => self.postMessage({ id, error: { name: e?.name ?? 'Error', message: e?.message ?? String(e) } }),
  );
};
