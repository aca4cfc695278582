#!/usr/bin/env node
// OPFS write strategies for downloaded pieces, measured in headless Chromium (why storage.rs writes one file per
// piece). Each strategy stores the same N pieces of random bytes in a fresh directory and reports MB/s:
//   - one file per piece: getFileHandle(create) + createWritable + write + close (what peer-wasm does), one at a
//     time and 8 at once (writes overlap in the app);
//   - one file, pieces at offsets: createWritable({keepExistingData: true}) + seek + write + close per piece
//     (Chromium copies the existing file into a swap file on each createWritable);
//   - one file, sync access handle in a dedicated worker: write({at}) + flush per piece.
// Usage (from the repository root): node peer-wasm/bench/opfs.mjs [MiB] [piece KiB]
//   | node scripts/bench-section.mjs browser-opfs
import { chromium } from 'playwright-core';
import { serveStatic } from '../../tests/harness/static.mjs';
import { CHROMIUM_ARGS } from '../../tests/harness/browser.mjs';
import { CHROMIUM } from '../../tests/harness/paths.mjs';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const totalMiB = Number(process.argv[2] ?? 64);
const pieceKiB = Number(process.argv[3] ?? 256);

const page = `<!doctype html><meta charset=utf-8><script type=module src=bench.js></script>`;
const worker = `
onmessage = async ({ data: { name, pieces, pieceSize } }) => {
  const root = await navigator.storage.getDirectory();
  const fh = await root.getFileHandle(name, { create: true });
  const h = await fh.createSyncAccessHandle();
  const buf = new Uint8Array(pieceSize);
  crypto.getRandomValues(buf.subarray(0, 65536));
  const t = performance.now();
  for (let i = 0; i < pieces; i++) { h.write(buf, { at: i * pieceSize }); h.flush(); }
  h.close();
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
async function sync() {
  const w = new Worker('worker.js');
  const ms = await new Promise((r) => { w.onmessage = (e) => r(e.data); w.postMessage({ name: 'sync', pieces, pieceSize }); });
  w.terminate();
  return ms;
}
window.results = { pieces, pieceSize, perPiece: await perPiece(), perPiece8: await perPieceConcurrent(), sync: await sync(), offsets: await offsets() };`;

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
  const r = await tab.waitForFunction(() => window.results, null, { timeout: 600_000, polling: 200 }).then((h) => h.jsonValue());
  const mb = (totalMiB * 1048576) / 1e6;
  const row = (what, ms) => `| ${what} | ${(ms / r.pieces).toFixed(2)} | ${(mb / (ms / 1000)).toFixed(1)} |`;
  console.log(`${r.pieces} pieces of ${pieceKiB} KiB (${totalMiB} MiB), headless Chromium, persistent profile on disk.`);
  console.log('');
  console.log('| strategy | ms per piece | MB/s |');
  console.log('|---|---:|---:|');
  console.log(row('one file per piece: createWritable + write + close (peer-wasm)', r.perPiece));
  console.log(row('one file per piece, 8 writes in flight (peer-wasm under load)', r.perPiece8));
  console.log(row('one file, sync access handle in a worker: write at offset + flush', r.sync));
  console.log(row('one file, createWritable({keepExistingData}) + seek + write + close', r.offsets));
} finally {
  await context.close();
  server.close();
  await rm(dir, { recursive: true, force: true });
  await rm(profile, { recursive: true, force: true });
}
