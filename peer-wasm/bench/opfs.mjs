#!/usr/bin/env node
// OPFS write strategies for downloaded pieces, measured in headless Chromium (why storage.rs writes one file per
// piece). Each strategy stores the same N pieces of random bytes in a fresh directory and reports MB/s:
//   - one file per piece: getFileHandle(create) + createWritable + write + close (what peer-wasm does), one at a
//     time and 8 at once (writes overlap in the app);
//   - one file, pieces at offsets: createWritable({keepExistingData: true}) + seek + write + close per piece
//     (Chromium copies the existing file into a swap file on each createWritable);
//   - one file per piece from a dedicated worker with a sync access handle: getFileHandle(create) +
//     createSyncAccessHandle + truncate + write + close + getFile (what peer-wasm's storage worker does);
//   - one file, sync access handle in a dedicated worker: write({at}) + flush per piece, and without flush.
// Besides time, the CPU seconds all Chromium processes spent (from /proc, Linux): per-file operations are round
// trips to the browser process, which the data channels' packets also go through.
// Usage (from the repository root): node peer-wasm/bench/opfs.mjs [MiB] [piece KiB]
//   | node scripts/bench-section.mjs browser-opfs
import { chromium } from 'playwright-core';
import { serveStatic } from '../../tests/harness/static.mjs';
import { CHROMIUM_ARGS } from '../../tests/harness/browser.mjs';
import { CHROMIUM } from '../../tests/harness/paths.mjs';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumCpu } from '../../tests/bench/chromium-cpu.mjs';

const totalMiB = Number(process.argv[2] ?? 64);
const pieceKiB = Number(process.argv[3] ?? 256);

const page = `<!doctype html><meta charset=utf-8><script type=module src=bench.js></script>`;
const worker = `
onmessage = async ({ data: { name, pieces, pieceSize, flush, perPiece } }) => {
  const root = await navigator.storage.getDirectory();
  const buf = new Uint8Array(pieceSize);
  crypto.getRandomValues(buf.subarray(0, 65536));
  const t = performance.now();
  if (perPiece) {
    const dir = await root.getDirectoryHandle(name, { create: true });
    for (let i = 0; i < pieces; i++) {
      const fh = await dir.getFileHandle('p' + i, { create: true });
      const h = await fh.createSyncAccessHandle();
      h.truncate(0); h.write(buf, { at: 0 }); h.close();
      await fh.getFile();
    }
  } else {
    const fh = await root.getFileHandle(name, { create: true });
    const h = await fh.createSyncAccessHandle();
    for (let i = 0; i < pieces; i++) { h.write(buf, { at: i * pieceSize }); if (flush) h.flush(); }
    h.close();
  }
  postMessage(performance.now() - t);
};`;
const bench = `
const pieces = ${Math.round((totalMiB * 1024) / pieceKiB)}, pieceSize = ${pieceKiB * 1024};
const buf = new Uint8Array(pieceSize); crypto.getRandomValues(buf.subarray(0, 65536));
const root = await navigator.storage.getDirectory();
async function perPiece() {
  const dir = await root.getDirectoryHandle('per-piece', { create: true });
  const t = performance.now();
  for (let i = 0; i < pieces; i++) {
    const fh = await dir.getFileHandle('p' + i, { create: true });
    const w = await fh.createWritable(); await w.write(buf); await w.close(); await fh.getFile();
  }
  return performance.now() - t;
}
async function perPieceConcurrent() {
  // Writes overlap in the app: the swarm hands out the next verified piece before the last write finished.
  const dir = await root.getDirectoryHandle('per-piece-8', { create: true });
  const t = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < pieces) {
      const i = next++;
      const fh = await dir.getFileHandle('p' + i, { create: true });
      const w = await fh.createWritable(); await w.write(buf); await w.close(); await fh.getFile();
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return performance.now() - t;
}
async function offsets() {
  const fh = await root.getFileHandle('offsets', { create: true });
  const t = performance.now();
  for (let i = 0; i < pieces; i++) {
    const w = await fh.createWritable({ keepExistingData: true }); await w.seek(i * pieceSize); await w.write(buf); await w.close();
  }
  return performance.now() - t;
}
async function sync(options) {
  const w = new Worker('worker.js');
  const ms = await new Promise((r) => { w.onmessage = (e) => r(e.data); w.postMessage({ pieces, pieceSize, ...options }); });
  w.terminate();
  return ms;
}
window.strategies = {
  perPiece, perPiece8: perPieceConcurrent,
  workerPerPiece: () => sync({ name: 'worker-per-piece', perPiece: true }),
  syncFlush: () => sync({ name: 'sync-flush', flush: true }),
  sync: () => sync({ name: 'sync', flush: false }),
  offsets,
};
window.pieces = pieces;`;

const dir = await mkdtemp(join(tmpdir(), 'opfs-bench-'));
await writeFile(join(dir, 'index.html'), page);
await writeFile(join(dir, 'bench.js'), bench);
await writeFile(join(dir, 'worker.js'), worker);
const server = await serveStatic(dir);
const profile = await mkdtemp(join(tmpdir(), 'opfs-profile-'));
// A persistent profile: OPFS on disk, as for a real user (an incognito context keeps it in memory).
const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
try {
  const tab = await context.newPage();
  await tab.goto(`${server.url}/index.html`);
  await tab.waitForFunction(() => window.strategies, null, { timeout: 60_000, polling: 200 });
  const pieces = await tab.evaluate(() => window.pieces);
  const mb = (totalMiB * 1048576) / 1e6;
  console.log(`${pieces} pieces of ${pieceKiB} KiB (${totalMiB} MiB), headless Chromium, persistent profile on disk.`);
  console.log('CPU: seconds all Chromium processes spent during the strategy (browser process alone in brackets).');
  console.log('');
  console.log('| strategy | ms per piece | MB/s | CPU (s) |');
  console.log('|---|---:|---:|---:|');
  const rows = [
    ['perPiece', 'one file per piece: createWritable + write + close (the page-thread fallback)'],
    ['perPiece8', 'one file per piece, 8 writes in flight'],
    ['workerPerPiece', 'one file per piece from a worker: sync access handle, truncate + write + close, getFile (peer-wasm)'],
    ['syncFlush', 'one file, sync access handle in a worker: write at offset + flush'],
    ['sync', 'one file, sync access handle in a worker: write at offset, no flush'],
    ['offsets', 'one file, createWritable({keepExistingData}) + seek + write + close'],
  ];
  for (const [key, what] of rows) {
    const before = chromiumTotals();
    const ms = await tab.evaluate((k) => window.strategies[k](), key);
    const after = chromiumTotals();
    console.log(
      `| ${what} | ${(ms / pieces).toFixed(2)} | ${(mb / (ms / 1000)).toFixed(1)} | ` +
        `${(after.all - before.all).toFixed(2)} (${(after.browser - before.browser).toFixed(2)}) |`,
    );
  }
} finally {
  await context.close();
  server.close();
  await rm(dir, { recursive: true, force: true });
  await rm(profile, { recursive: true, force: true });
}

/** CPU seconds used so far by every Chromium process, and by the browser process alone. */
function chromiumTotals() {
  let all = 0;
  let browser = 0;
  for (const { kind, secs } of chromiumCpu().values()) {
    all += secs;
    if (kind === 'browser') browser += secs;
  }
  return { all, browser };
}
