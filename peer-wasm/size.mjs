#!/usr/bin/env node
// Shipped size of the web app: each file the browser downloads, raw and gzip (level 9, as a server would send
// it), as a Markdown table for BENCHMARKS.md. Run after `cargo run -q -p xtask -- build-wasm`:
//   node peer-wasm/size.mjs | node scripts/bench-section.mjs browser-size
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = ['www/pkg/peer_wasm_bg.wasm', 'www/pkg/peer_wasm.js', 'www/app.js', 'www/index.html', 'www/style.css', 'www/storage-worker.js', 'www/read-worker.js'];
// Fetched only on first use: the QR code module (peer-wasm/qr) when a code is first shown, the zip writer when
// Save all first makes a zip.
const WHEN = {
  'www/pkg/peer_wasm_qr_bg.wasm': 'when a QR code is first shown',
  'www/pkg/peer_wasm_qr.js': 'when a QR code is first shown',
  'www/vendor/client-zip/index.js': 'when Save all first makes a zip',
};
const onDemand = Object.keys(WHEN);
const missing = [...files, ...onDemand].filter((f) => !existsSync(join(root, f)));
if (missing.length > 0) {
  console.error(`missing ${missing.join(', ')}: run \`cargo run -q -p xtask -- build-wasm\` first`);
  process.exit(1);
}
const kb = (n) => (n / 1000).toFixed(1);
const measure = (f) => {
  const bytes = readFileSync(join(root, f));
  return { f, raw: bytes.length, gz: gzipSync(bytes, { level: 9 }).length };
};
const rows = files.map(measure);
const later = onDemand.map(measure);
const sum = (pick, list) => list.reduce((a, r) => a + r[pick], 0);
const wasmAndGlue = rows.slice(0, 2);
console.log('| file | raw (KB) | gzip (KB) |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| \`${r.f}\` | ${kb(r.raw)} | ${kb(r.gz)} |`);
console.log(`| **wasm + its JS glue** | **${kb(sum('raw', wasmAndGlue))}** | **${kb(sum('gz', wasmAndGlue))}** |`);
console.log(`| **everything the page loads** | **${kb(sum('raw', rows))}** | **${kb(sum('gz', rows))}** |`);
for (const r of later) console.log(`| \`${r.f}\` (${WHEN[r.f]}) | ${kb(r.raw)} | ${kb(r.gz)} |`);
console.log('');
console.log('KB = 1,000 bytes. Goal: wasm + JS under 150 KB gzip (WebTorrent\'s bundle is about 65 KB gzip).');
