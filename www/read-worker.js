// Reads byte ranges of Blobs (a shared File, stored piece Files) off the page's thread (peer-wasm/src/source.rs).
//
// On the page's thread each block a seeder served cost a `Blob.slice` (a synchronous round trip to the browser
// process: 0.3 ms idle, ~3.4 ms per call while the browser process was busy sending) and an `arrayBuffer` call; the
// seeder's main thread was ~85 % busy. Here the worker waits for those, and the page only posts the request (the
// Blob is passed by reference) and receives the bytes (transferred, not copied).
//
// Read-ahead: every read is a round trip to the browser process, which reads the file; 128 KiB reads of a 64 MiB
// file cost about twice the CPU of 1 MiB reads, and four times that of 4 MiB reads. A request may name its Blob with
// a `key` (the page gives each Blob it reads often a key of its own, so one key always means the same bytes). When
// a keyed request starts where a recent one of that key ended (a downloader fetching pieces in order), the worker
// reads the whole aligned CHUNK around it once and answers this and the following requests from it. Random reads
// stay exact reads, so nothing is read twice where nobody reads in order. At most MAX_CHUNKS chunks are kept.
//
// A key starting with `m` names a Blob of many files (a shared folder, one Blob of its files): there every file a
// read touches costs the browser a file open, about 0.2 ms, so a 128 KiB read of 4 KiB files costs as much as
// 32 small reads, and a downloader's requests come a 1 MiB run at a time (PROTOCOL.md 2.9, piece choice). Each
// of its reads takes the whole chunk, in order or not: every file is opened once a chunk, not once a request.
//
// Messages in (from the page):  { id, blob, start, end, key? }   read bytes start..end of `blob`
// Messages out:                 { id, buffer }                    an ArrayBuffer, transferred
//                               { id, error: { name, message } }
'use strict';

/** Bytes read at once when reads come in order: aligned chunks of this size. */
const CHUNK = 1024 * 1024;
/** Chunks kept (8 MiB): enough for several downloaders each reading in order. */
const MAX_CHUNKS = 8;
/** Ends of recent requests remembered per key, and keys remembered. */
const RECENT_ENDS = 32;
const RECENT_KEYS = 16;

/** `key/chunk index` → Promise of the chunk's ArrayBuffer; in use order, least recently used first. */
const chunks = new Map();
/** key → ends of its recent requests; in use order. */
const recent = new Map();

/** Whether a request of `key` for start..end follows a recent one (and remembers this one). */
function inOrder(key, start, end) {
  const ends = recent.get(key) ?? [];
  recent.delete(key);
  recent.set(key, ends);
  if (recent.size > RECENT_KEYS) recent.delete(recent.keys().next().value);
  const follows = ends.includes(start);
  ends.push(end);
  if (ends.length > RECENT_ENDS) ends.shift();
  return follows;
}

/** Bytes start..end of `blob`: from a chunk when keyed and in order (or its chunk is already here), else exact. */
async function read(blob, start, end, key) {
  const index = Math.floor(start / CHUNK);
  const sameChunk = index === Math.floor((end - 1) / CHUNK);
  if (typeof key === 'string' && end > start && sameChunk) {
    const name = `${key}/${index}`;
    const follows = inOrder(key, start, end) || key.startsWith('m');
    let chunk = chunks.get(name);
    if (chunk) {
      chunks.delete(name);
      chunks.set(name, chunk);
    } else if (follows) {
      chunk = blob.slice(index * CHUNK, Math.min(blob.size, (index + 1) * CHUNK)).arrayBuffer();
      chunks.set(name, chunk);
      chunk.catch(() => chunks.get(name) === chunk && chunks.delete(name));
      if (chunks.size > MAX_CHUNKS) chunks.delete(chunks.keys().next().value);
    }
    if (chunk) {
      const bytes = await chunk.catch(() => null);
      const from = start - index * CHUNK;
      if (bytes && from + (end - start) <= bytes.byteLength) return bytes.slice(from, from + (end - start));
    }
  }
  return blob.slice(start, end).arrayBuffer();
}

// A request that cannot be read names no id to answer: failing the worker sends every waiting read back to the
// page's thread (peer-wasm/src/worker_client.rs) instead of leaving one waiting forever.
onmessageerror = () => {
  throw new Error('read worker: a request could not be read');
};

onmessage = async (event) => {
  const { id, blob, start, end, key } = event.data;
  try {
    const buffer = await read(blob, start, end, key);
    postMessage({ id, buffer }, [buffer]);
  } catch (e) {
    postMessage({ id, error: { name: String(e?.name ?? 'Error'), message: String(e?.message ?? e) } });
  }
};
