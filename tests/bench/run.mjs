#!/usr/bin/env node
// `npm run bench` (scripts/bench.sh runs this inside the private network namespace): prints the `browser-bench`
// section of BENCHMARKS.md as markdown on stdout; progress goes to stderr.
import { cpus, totalmem } from 'node:os';
import { launchBrowser } from '../harness/browser.mjs';
import { RAW_HIGH_WATER, RAW_LOW_WATER, RAW_TOTAL, rawBenchmark } from './raw.mjs';

const MiB = 1024 * 1024;
const log = (...a) => console.error('bench:', ...a);

const browser = await launchBrowser();
const out = [];
try {
  const cpu = cpus();
  out.push(
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; ` +
      `Chromium ${browser.version()}, headless, one browser, inside the private network namespace when root. ` +
      'MB/s = 10^6 bytes per second.',
    '',
  );

  log(`raw RTCDataChannel, ${RAW_TOTAL / MiB} MiB per message size`);
  const raw = await rawBenchmark(browser);
  out.push(
    `### Raw RTCDataChannel (the ceiling)`,
    '',
    `Plain JS, two tabs of one context, signaling over BroadcastChannel; one ordered channel, ${RAW_TOTAL / MiB} MiB ` +
      `per run, high-water mark ${RAW_HIGH_WATER / MiB} MiB, resume at ${RAW_LOW_WATER / MiB} MiB ` +
      '(`bufferedamountlow`). Time from the first send to the receiver holding the last byte.',
    '',
    '| message size | time (s) | throughput (MB/s) |',
    '|---:|---:|---:|',
    ...raw.map((r) => `| ${r.messageSize / 1024} KiB | ${(r.ms / 1000).toFixed(2)} | ${r.mbPerS.toFixed(1)} |`),
    '',
  );
} finally {
  await browser.close();
}
console.log(out.join('\n'));
