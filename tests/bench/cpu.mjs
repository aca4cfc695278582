#!/usr/bin/env node
// Where a transfer's CPU goes, against the raw channel's: CPU seconds of every Chromium process (from /proc, Linux),
// per MB moved, for the raw RTCDataChannel (tests/bench/raw.mjs, 128 KiB messages) and for this project's one
// seeder and one leecher through the web app (tests/bench/app.mjs; CPU counted from the leecher opening the link to
// complete, page load and connection setup included). On a machine with few cores both are CPU-bound, so the ratio
// of CPU per MB bounds the ratio of throughputs. Prints a Markdown table for BENCHMARKS.md:
//
//   bash scripts/netns.sh node tests/bench/cpu.mjs | node scripts/bench-section.mjs browser-cpu
//
// `CPU_MIB` sets the app's file size (default 64), `CPU_ROUNDS` the rounds of both (default 2).
import { cpus } from 'node:os';
import { launchBrowser } from '../harness/browser.mjs';
import { RAW_TOTAL, rawBenchmark } from './raw.mjs';
import { swarmRun } from './app.mjs';
import { chromiumCpu, cpuSampler } from './chromium-cpu.mjs';

const MiB = 1024 * 1024;
const mib = Number(process.env.CPU_MIB || 64);
const rounds = Number(process.env.CPU_ROUNDS || 2);
const KINDS = ['browser', 'renderer', 'network', 'other'];

const { snapshot, stop } = cpuSampler(chromiumCpu);
/** CPU seconds by kind between two snapshots. */
const spent = (a, b) => {
  const by = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const [pid, v] of b) by[v.kind] += v.secs - (a.get(pid)?.secs ?? 0);
  return by;
};

const rows = [];
const browser = await launchBrowser();
try {
  for (let round = 1; round <= rounds; round++) {
    console.error(`cpu: round ${round}: raw`);
    const r0 = snapshot();
    const [raw] = await rawBenchmark(browser, [128 * 1024]);
    rows.push({ what: 'raw RTCDataChannel, 128 KiB messages', mb: RAW_TOTAL / 1e6, secs: raw.ms / 1000, by: spent(r0, snapshot()) });
    console.error(`cpu: round ${round}: app`);
    let a0;
    let by;
    const t0 = { ms: 0 };
    await swarmRun(
      { size: mib * MiB, leechers: 1 },
      {
        beforeOpen: () => {
          a0 = snapshot();
          t0.ms = performance.now();
        },
        afterComplete: () => {
          by = spent(a0, snapshot());
          t0.ms = performance.now() - t0.ms;
        },
      },
    );
    rows.push({ what: `this project, 1 seeder and 1 leecher, ${mib} MiB`, mb: (mib * MiB) / 1e6, secs: t0.ms / 1000, by });
  }
} finally {
  stop();
  await browser.close();
}

console.log(
  `${cpus().length} cores. CPU seconds per MB moved, all Chromium processes, by kind (renderer: the tabs, their ` +
    'workers and their WebRTC threads, where SCTP runs; network: the network service, where UDP packets are sent ' +
    'and received). MB/s: the raw run\'s throughput; the app\'s from opening the link to complete (page load and ' +
    'connection setup included, as its CPU). Cores: CPU seconds over the run\'s time.',
);
console.log('');
console.log(`| run | MB/s | ${KINDS.join(' | ')} | total CPU-s per MB | cores |`);
console.log(`|---|---:|${KINDS.map(() => '---:').join('|')}|---:|---:|`);
for (const r of rows) {
  const total = KINDS.reduce((a, k) => a + r.by[k], 0);
  console.log(
    `| ${r.what} | ${(r.mb / r.secs).toFixed(1)} | ${KINDS.map((k) => (r.by[k] / r.mb).toFixed(3)).join(' | ')} | ` +
      `**${(total / r.mb).toFixed(3)}** | ${(total / r.secs).toFixed(2)} |`,
  );
}
