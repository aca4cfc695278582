// Stores verified pieces in the origin private file system off the page's thread (peer-wasm/src/storage.rs).
//
// Each download's pieces go at their offsets into one file, `p2p-share/<content id>/data`, through a
// `FileSystemSyncAccessHandle` this worker opens on first use and keeps open until the download is removed or the
// page closes: a write is one synchronous call into the file. One file per piece cost the browser process ~2.4
// CPU-seconds per 64 MiB in file creation and handle churn, against under 0.1 for writes into one open file
// (BENCHMARKS.md, browser-opfs), on a machine where a transfer is CPU-bound. The page's thread only posts the bytes
// (transferred, not copied). The open handle is an exclusive lock: one tab stores a download; another tab of the
// same browser profile that tries gets a `NoModificationAllowedError`, and the page stops the download there.
//
// A piece can also be hashed here and written only if it matches (one copy out of wasm memory and one message for
// both, instead of a digest on the page's thread that copies the piece and a write that copies it again).
//
// Messages in (from the page):
//   { id, op: 'write', dir, offset, data }   write ArrayBuffer `data` at byte `offset` of content directory `dir`'s
//                                            data file; answers true
//   { id, op: 'write', dir, offset, data, expected }
//                                            the same only if the SHA-256 of `data` is ArrayBuffer `expected`; if not,
//                                            nothing is written and the answer is false
//   { id, op: 'read', dir, offset, length }  `length` bytes at `offset` of the data file: an ArrayBuffer, transferred
//   { id, op: 'finish', dir }                once the writes started before it are done, answers with the data file
//                                            as a `File`, readable for as long as nothing writes to the file: it is
//                                            opened first if it was not, so that no other tab can
//   { id, op: 'remove', dir }                delete content directory `dir` and everything in it, once every write
//                                            started before it has finished
//   { id, op: 'reserve', dir, size }         make the data file `size` bytes long (nothing written is touched), so
//                                            that a browser that cannot hold that much says so before any piece:
//                                            a `QuotaExceededError`. On disk the file is sparse and this is instant;
//                                            a private window keeps the file in memory and refuses past its limit
// Messages out: { id, value } on success, { id, error: { name, message } } on failure. The answer to a write also
// hands its `data` back as `spare` (transferred), written or not, for the page to fill with its next piece. A browser without synchronous
// access handles in workers answers every write with a `NotSupportedError` (the page then writes pieces itself, in
// files of their own); a data file another tab has open, with a `NoModificationAllowedError`.
//
// No flush(): it syncs the file to disk, a cost per piece that buys nothing here, since restoring a download
// re-hashes every piece's range and fetches again any piece a crash cut short.
'use strict';

const ROOT_DIR = 'p2p-share';
const DATA_FILE = 'data';
/** The error a data file another tab has open gives. */
const LOCKED = 'NoModificationAllowedError';
/** Open data files by content directory name: a Promise of `{ file, access }`. */
const open = new Map();
/** Writes and reads running now; a finish or remove waits for them (a read may be using the open file). */
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

async function dataFile(dirName) {
  const dir = await (await root()).getDirectoryHandle(dirName, { create: true });
  return dir.getFileHandle(DATA_FILE, { create: true });
}

/** The open data file of `dirName`, opened on first use. */
function access(dirName) {
  let entry = open.get(dirName);
  if (!entry) {
    entry = (async () => {
      if (typeof FileSystemFileHandle.prototype.createSyncAccessHandle !== 'function') {
        throw new DOMException('this browser has no synchronous file access in workers', 'NotSupportedError');
      }
      const file = await dataFile(dirName);
      return { file, access: await file.createSyncAccessHandle() };
    })();
    open.set(dirName, entry);
    // A failed open (another tab holds the file) is not remembered: the next write tries again.
    entry.catch(() => open.get(dirName) === entry && open.delete(dirName));
  }
  return entry;
}

/** Closes the open data file of `dirName`, if any. */
async function close(dirName) {
  const entry = open.get(dirName);
  if (!entry) return;
  open.delete(dirName);
  (await entry.catch(() => null))?.access.close();
}

/**
 * Writes `data` at `offset` of the data file of `dirName`; with `expected` (an ArrayBuffer) only if the SHA-256 of
 * `data` is `expected`. Resolves with whether it wrote. Called as the request arrives: the barrier it waits for is
 * the last remove before it, never a later one (which waits for this write).
 */
async function write(dirName, offset, data, expected) {
  await barrier;
  if (expected && !(await hashMatches(data, expected))) return false;
  const { access: handle } = await access(dirName);
  const written = handle.write(new Uint8Array(data), { at: offset });
  if (written !== data.byteLength) {
    throw new DOMException(`wrote ${written} of ${data.byteLength} bytes`, 'QuotaExceededError');
  }
  return true;
}

/**
 * Makes the data file of `dirName` at least `size` bytes long by writing one zero byte at `size - 1` when it is
 * shorter (a byte past its end: no data is overwritten). Writing, not `truncate`: a `truncate` past the limit of a
 * private window's in-memory file system brought the whole browser down here (Chromium 156), a write past it
 * writes nothing.
 */
async function reserve(dirName, size) {
  await barrier;
  const { access: handle } = await access(dirName);
  if (size === 0 || handle.getSize() >= size) return true;
  const written = handle.write(new Uint8Array(1), { at: size - 1 });
  if (written !== 1) {
    throw new DOMException(`the browser refused to make the file ${size} bytes long`, 'QuotaExceededError');
  }
  return true;
}

/**
 * The open data file of `dirName` (opened if need be), or null if another tab has it open or this browser has no
 * synchronous access handles.
 */
function accessIfFree(dirName) {
  return access(dirName).catch((e) => {
    if (e?.name !== LOCKED && e?.name !== 'NotSupportedError') throw e;
    return null;
  });
}

/**
 * `length` bytes at `offset` of the data file of `dirName`: through its open handle (opened if it can be: this tab
 * is the one storing the download), or, if another tab has the file open, from a fresh `File` of it, taken again
 * once if that tab's write makes it unreadable during the read.
 */
async function read(dirName, offset, length) {
  const opened = await accessIfFree(dirName);
  let buffer;
  if (opened) {
    buffer = new ArrayBuffer(length);
    const got = opened.access.read(new Uint8Array(buffer), { at: offset });
    if (got !== length) buffer = buffer.slice(0, got);
  } else {
    const snapshot = async () => {
      const file = await (await dataFile(dirName)).getFile();
      return file.slice(offset, offset + length).arrayBuffer();
    };
    buffer = await snapshot().catch((e) => {
      if (e?.name !== 'NotReadableError') throw e;
      return snapshot();
    });
  }
  if (buffer.byteLength !== length) {
    throw new DOMException(`read ${buffer.byteLength} of ${length} bytes`, 'NotReadableError');
  }
  return buffer;
}

/**
 * The data file of `dirName` as a `File`, after the writes and reads started before. The file is opened first if
 * it is not open yet (a download restored complete), so that no other tab writes it while that `File` is in use. If
 * another tab has it open, the `File` is taken anyway: that tab writes only pieces it lacks, and a tab locked out of
 * the file stops at its first write, so this one gets here only with every piece already in the file.
 */
async function finish(dirName) {
  await Promise.allSettled([...running]);
  const opened = await accessIfFree(dirName);
  return (opened?.file ?? (await dataFile(dirName))).getFile();
}

/** Whether the SHA-256 of `data` is `expected` (both ArrayBuffers). */
async function hashMatches(data, expected) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  const want = new Uint8Array(expected);
  return digest.length === want.length && digest.every((b, i) => b === want[i]);
}

async function remove(dirName) {
  await Promise.allSettled([...running]);
  await close(dirName);
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

const isOffset = (n) => Number.isSafeInteger(n) && n >= 0;

self.onmessage = (event) => {
  const { id, op, dir, offset, length, data, expected } = event.data ?? {};
  const named = typeof dir === 'string' && dir !== '';
  let task;
  let transfer = false;
  let spare = null;
  if (op === 'write' && named && isOffset(offset) && data instanceof ArrayBuffer) {
    if (expected !== undefined && !(expected instanceof ArrayBuffer)) {
      task = Promise.reject(new TypeError('storage worker: `expected` is not an ArrayBuffer'));
    } else {
      task = write(dir, offset, data, expected ?? null);
      spare = data;
      running.add(task);
      task.finally(() => running.delete(task)).catch(() => {});
    }
  } else if (op === 'read' && named && isOffset(offset) && isOffset(length)) {
    task = read(dir, offset, length);
    transfer = true;
    running.add(task);
    task.finally(() => running.delete(task)).catch(() => {});
  } else if (op === 'finish' && named) {
    task = finish(dir);
  } else if (op === 'reserve' && named && isOffset(event.data.size)) {
    task = reserve(dir, event.data.size);
    running.add(task);
    task.finally(() => running.delete(task)).catch(() => {});
  } else if (op === 'remove' && named) {
    task = remove(dir).then(() => true);
    barrier = task.catch(() => {});
  } else {
    task = Promise.reject(new TypeError(`storage worker: bad request ${JSON.stringify(op)}`));
  }
  task.then(
    (value) =>
      spare
        ? self.postMessage({ id, value, spare }, [spare])
        : self.postMessage({ id, value }, transfer ? [value] : []),
    (e) => self.postMessage({ id, error: { name: e?.name ?? 'Error', message: e?.message ?? String(e) } }),
  );
};
