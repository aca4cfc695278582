#!/usr/bin/env node
// Where a transfer's CPU goes, by thread: CPU seconds of every thread of every Chromium process (from
// /proc/PID/task, Linux), grouped by process kind and thread name, per MB moved, for the raw RTCDataChannel and for
// this project's one seeder and one leecher (the same runs as tests/bench/cpu.mjs). A tool for tuning, not part of
// `npm run bench`:
//
//   bash scripts/netns.sh node tests/bench/threads.mjs
//
// `CPU_MIB` sets the app's file size (default 64), `CPU_ROUNDS` the rounds (default 1).
import { launchBrowser } from '../harness/browser.mjs';
import { RAW_TOTAL, rawBenchmark } from './raw.mjs';
import { swarmRun } from './app.mjs';
import { chromiumThreads, cpuSampler } from './chromium-cpu.mjs';

const MiB = 1024 * 1024;
const mib = Number(process.env.CPU_MIB || 64);
const rounds = Number(process.env.CPU_ROUNDS || 1);

const { snapshot, stop } = cpuSampler(chromiumThreads);
const spent = (a, b) => {
  const by = new Map();
  for (const [k, v] of b) by.set(v.key, (by.get(v.key) ?? 0) + v.secs - (a.get(k)?.secs ?? 0));
  return by;
};

const rows = [];
const browser = await launchBrowser();
try {
  for (let round = 1; round <= rounds; round++) {
    const r0 = snapshot();
    const [raw] = await rawBenchmark(browser, [128 * 1024]);
    rows.push({ what: `raw ${raw.mbPerS.toFixed(1)} MB/s`, mb: RAW_TOTAL / 1e6, by: spent(r0, snapshot()) });
    let a0;
    let by;
    let t0 = 0;
    await swarmRun(
      { size: mib * MiB, leechers: 1 },
      {
        beforeOpen: () => {
          a0 = snapshot();
          t0 = performance.now();
        },
        afterComplete: () => {
          by = spent(a0, snapshot());
          t0 = performance.now() - t0;
        },
      },
    );
    rows.push({ what: `app ${((mib * MiB) / 1e3 / t0).toFixed(1)} MB/s`, mb: (mib * MiB) / 1e6, by });
  }
} finally {
  stop();
  await browser.close();
}
const keys = [...new Set(rows.flatMap((r) => [...r.by].filter(([, s]) => s / r.mb >= 0.0005).map(([k]) => k)))].sort();
console.log(`| thread | ${rows.map((r) => r.what).join(' | ')} |`);
console.log(`|---|${rows.map(() => '---:').join('|')}|`);
for (const k of keys) console.log(`| ${k} | ${rows.map((r) => ((r.by.get(k) ?? 0) / r.mb).toFixed(4)).join(' | ')} |`);
console.log(`| total | ${rows.map((r) => ([...r.by.values()].reduce((a, b) => a + b, 0) / r.mb).toFixed(4)).join(' | ')} |`);
