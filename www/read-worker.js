// Reads byte ranges of Blobs (a shared File, stored piece Files) off the page's thread (peer-wasm/src/source.rs).
//
// On the page's thread each block a seeder served cost a `Blob.slice` (a synchronous round trip to the browser
// process: 0.3 ms idle, ~3.4 ms per call while the browser process was busy sending) and an `arrayBuffer` call; the
// seeder's main thread was ~85 % busy. Here the worker waits for those, and the page only posts the request (the
// Blob is passed by reference) and receives the bytes (transferred, not copied).
//
// Messages in (from the page):  { id, blob, start, end }    read bytes start..end of `blob`
// Messages out:                 { id, buffer }              an ArrayBuffer, transferred
//                               { id, error: { name, message } }
'use strict';

// A request that cannot be read names no id to answer: failing the worker sends every waiting read back to the
// page's thread (peer-wasm/src/worker_client.rs) instead of leaving one waiting forever.
onmessageerror = () => {
  throw new Error('read worker: a request could not be read');
};

onmessage = async (event) => {
  const { id, blob, start, end } = event.data;
  try {
    const buffer = await blob.slice(start, end).arrayBuffer();
    postMessage({ id, buffer }, [buffer]);
  } catch (e) {
    postMessage({ id, error: { name: String(e?.name ?? 'Error'), message: String(e?.message ?? e) } });
  }
};
