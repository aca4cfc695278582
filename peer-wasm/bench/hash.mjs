#!/usr/bin/env node
// Sharing a file in the app: time from picking a file until it is hashed (in wasm, 4 MiB chunks, the page
// responsive between chunks), through the real page in headless Chromium. The page is served by a
// static server: hashing needs no signaling. Usage (from the repository root, after
// `cargo run -q -p xtask -- build-wasm`):
//   node peer-wasm/bench/hash.mjs [MiB] | node scripts/bench-section.mjs browser-hash
import { chromium } from 'playwright-core';
import { serveStatic } from '../../tests/harness/static.mjs';
import { CHROMIUM_ARGS } from '../../tests/harness/browser.mjs';
import { CHROMIUM, WWW } from '../../tests/harness/paths.mjs';
import { randomFile, tempDir } from '../../tests/harness/files.mjs';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 256);
const RUNS = 3;

const dir = await tempDir();
const file = await randomFile(dir.path, 'hash-bench.bin', sizeMiB * MiB);
const server = await serveStatic(WWW);
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
try {
  const rows = [];
  for (let run = 0; run < RUNS; run++) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => document.documentElement.dataset.ready === '1');
    const started = Date.now();
    await page.setInputFiles('#file-input', file.path);
    // The share row's hashing progress bar reaches 1 when the last chunk is hashed.
    await page.waitForFunction(() => document.querySelector('[data-testid=share-row] progress.hashing')?.value >= 1,
      null, { timeout: 600_000, polling: 20 });
    rows.push((Date.now() - started) / 1000);
    await page.context().close();
  }
  rows.sort((a, b) => a - b);
  const mb = (sizeMiB * MiB) / 1e6;
  console.log(`${sizeMiB} MiB random file, ${RUNS} runs, headless Chromium; MB = 10^6 bytes. Includes handing the`);
  console.log('file to the page (`setInputFiles`).');
  console.log('');
  console.log('| file | best (s) | median (s) | median MB/s |');
  console.log('|---|---:|---:|---:|');
  const median = rows[Math.floor(rows.length / 2)];
  console.log(`| ${sizeMiB} MiB | ${rows[0].toFixed(2)} | ${median.toFixed(2)} | ${(mb / median).toFixed(0)} |`);
} finally {
  await browser.close();
  server.close();
  await dir.remove();
}
