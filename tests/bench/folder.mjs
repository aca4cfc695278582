#!/usr/bin/env node
// Folders in the page against single files (issue 22): 10,000 files of 4 KiB in 100 folders, and one 1 GiB file
// with 100 small ones, each shared from Chromium's folder picker and, in the same run, as one file holding the same
// bytes (the folder's piece stream: its files in the manifest's order). For each: the time to hash it at share
// (picked to link shown) and the time to move it to a second browser (link opened to complete; a folder's choice
// of every file made at once), median of N runs. Prints a Markdown table for BENCHMARKS.md:
//
//   cargo build -p signaling && cargo run -q -p xtask -- build-wasm &&
//     scripts/netns.sh node tests/bench/folder.mjs | node scripts/bench-section.mjs browser-tree
//
// N sets the runs of each transfer (default 3; the 1 GiB share runs once); ONLY=small measures only the small files.
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { scenario } from '../harness/scenario.mjs';
import { chooseFiles, openApp, openLink, share, waitComplete, waitStatus } from '../harness/app.mjs';
import { randomFile, tempDir } from '../harness/files.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
const runs = Number(process.env.N || 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Writes the folder `root` of `layout` ([path, size]) and the single file `flat` of its bytes in manifest order. */
async function prepare(root, flat, layout) {
  for (const [path, size] of layout) {
    const parts = path.split('/');
    await mkdir(join(root, ...parts.slice(0, -1)), { recursive: true });
    await randomFile(join(root, ...parts.slice(0, -1)), parts.at(-1), size);
  }
  const out = createWriteStream(flat);
  const sorted = [...layout].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const [path] of sorted) {
    if (!out.write(await readFile(join(root, ...path.split('/'))))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return layout.reduce((sum, [, n]) => sum + n, 0);
}

/** Seeds `target` (a folder with `folder`), then moves it to `runs` fresh downloaders one after another. */
async function measure(s, target, folder, count, bytes) {
  const seeder = await openApp(await s.user(), s.server.url);
  await waitStatus(seeder, 'connected');
  const picked = performance.now();
  const { link } = await share(seeder, { path: target }, { folder });
  const hash = (performance.now() - picked) / 1000;
  const times = [];
  for (let i = 0; i < count; i++) {
    // On disk past a few hundred MB: an off-the-record context keeps its private file system in memory.
    const context = await s.user({ persistent: bytes > 256 * MiB });
    const opened = performance.now();
    const { row } = await openLink(context, link);
    if (folder) await chooseFiles(row);
    await waitComplete(row, 900_000);
    times.push((performance.now() - opened) / 1000);
    await context.close();
  }
  await seeder.context().close();
  return { hash, transfer: median(times) };
}

const shares = [
  {
    what: '10,000 files of 4 KiB in 100 folders',
    layout: Array.from({ length: 10_000 }, (_, i) => [`d${String(i % 100).padStart(2, '0')}/f${i}.bin`, 4 * KiB]),
    runs,
  },
  {
    what: 'one 1024 MiB file and 100 files of about 10 KiB',
    layout: [['big.bin', 1024 * MiB], ...Array.from({ length: 100 }, (_, i) => [`small/s${i}.txt`, 10_000 + i])],
    runs: 1,
  },
];

const s = await scenario();
const dir = await tempDir();
const rows = [];
try {
  for (const [n, { what, layout, runs: count }] of shares.entries()) {
    if (process.env.ONLY === 'small' && n > 0) continue;
    const root = join(dir.path, `share${n}`, 'Folder');
    const flat = join(dir.path, `share${n}.bin`);
    const bytes = await prepare(root, flat, layout);
    const folder = await measure(s, root, true, count, bytes);
    const file = await measure(s, flat, false, count, bytes);
    console.error(`${what}: hash ${folder.hash.toFixed(2)} / ${file.hash.toFixed(2)} s, move ${folder.transfer.toFixed(2)} / ${file.transfer.toFixed(2)} s`);
    rows.push({ what, bytes, count, folder, file });
  }
} finally {
  await dir.remove();
  await s.close();
}
console.log('Chromium (headless) to Chromium in the test namespace, the web app end to end; each share hashed in the');
console.log('page (picked to link shown), then moved to fresh downloaders one after another (link opened to complete;');
console.log('the folder chosen whole); the single file holds the same bytes as the folder (its piece stream).');
console.log('');
console.log('| share | bytes | hash: folder / file (s) | transfer: folder / file (s) | runs | folder / file |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const ratio = r.folder.transfer / r.file.transfer;
  console.log(`| ${r.what} | ${r.bytes} | ${r.folder.hash.toFixed(2)} / ${r.file.hash.toFixed(2)} | ${r.folder.transfer.toFixed(2)} / ${r.file.transfer.toFixed(2)} | ${r.count} | ${ratio.toFixed(2)} |`);
}
