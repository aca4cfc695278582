#!/usr/bin/env node
// `npm run bench` (scripts/bench.sh runs this inside the private network namespace): prints the `browser-bench`
// section of BENCHMARKS.md as markdown on stdout; progress goes to stderr.
import { cpus, totalmem } from 'node:os';
import { launchBrowser } from '../harness/browser.mjs';
import { RAW_HIGH_WATER, RAW_LOW_WATER, RAW_TOTAL, rawBenchmark } from './raw.mjs';
import { APP_RUNS, ONE_LEECHER_RUNS, swarmRun } from './app.mjs';

const MiB = 1024 * 1024;
/**
 * Rounds of the repeated comparison (raw channel, then each one-leecher run, interleaved); `BENCH_REPEAT=0` skips
 * it (a quick run, not for BENCHMARKS.md).
 */
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
/** Message size of the repeated raw runs: the app's block size (`wire::MAX_BLOCK_LEN`). */
const BLOCK = 128 * 1024;
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
      '(`bufferedamountlow`), a new connection per run. Time from the first send to the receiver holding the last ' +
      'byte. Longest pause: the longest time between two messages at the receiver (a stall of the association ' +
      'shows here). Second half: the second half of the bytes over the time the receiver took for it (the steady ' +
      'rate, without the association\'s start).',
    '',
    '| message size | time (s) | throughput (MB/s) | longest pause (s) | second half (MB/s) |',
    '|---:|---:|---:|---:|---:|',
    ...raw.map(
      (r) =>
        `| ${r.messageSize / 1024} KiB | ${(r.ms / 1000).toFixed(2)} | ${r.mbPerS.toFixed(1)} | ` +
        `${(r.longestGapMs / 1000).toFixed(2)} | ${r.secondHalfMbPerS.toFixed(1)} |`,
    ),
    '',
  );
  const ceiling = Math.max(...raw.map((r) => r.mbPerS));
  out.push(...(await appSection(ceiling)));
  if (REPEAT > 0) out.push(...(await repeatedSection(REPEAT)));
} finally {
  await browser.close();
}
console.log(out.join('\n'));

/** The project's figures, one row per run; a run that fails is reported as such, not left out. */
async function appSection(ceiling) {
  const rows = [];
  for (const run of APP_RUNS) {
    log(run.name);
    try {
      const r = await swarmRun(run);
      const mb = run.size / 1e6;
      const minMean = (xs) => [Math.min(...xs), xs.reduce((a, b) => a + b, 0) / xs.length];
      const [min, mean] = minMean(r.completeSeconds.map((t) => mb / t));
      const [tMin, tMean] = minMean(r.transferSeconds.map((t) => mb / t));
      const pct = (x) => `${((100 * x) / ceiling).toFixed(0)} %`;
      rows.push(
        `| ${run.name} | ${r.wallSeconds.toFixed(1)} | ${min.toFixed(1)} / ${mean.toFixed(1)} | ${pct(mean)} | ` +
          `${tMin.toFixed(1)} / ${tMean.toFixed(1)} | **${pct(tMean)}** | ` +
          `${(r.seederUploaded / run.size).toFixed(2)} | ` +
          `${Math.max(...r.firstPieceSeconds).toFixed(2)} | ${Math.max(...r.longestGapSeconds).toFixed(2)} | ` +
          `${(mb / r.hashSeconds).toFixed(1)} |`,
      );
    } catch (e) {
      log(`${run.name} failed: ${e.stack}`);
      rows.push(`| ${run.name} | not measured: ${String(e.message).split('\n')[0].replaceAll('|', '/')} | | | | | | | | |`);
    }
  }
  return [
    '### This project, through the web app',
    '',
    'Release wasm, real signaling server, one browser context per user, each leecher\'s window open before the ' +
      'link, all leechers open the link at once. With one leecher, its browser\'s own profile is on disk (a ' +
      'normal profile: OPFS writes go to a file) and the seeder is an off-the-record context of that browser; with ' +
      'several, all are off-the-record contexts of one browser, whose OPFS lives in the browser process\'s memory ' +
      '(every write an IPC and a copy: more CPU per MB). Wall ' +
      'time: from the first leecher opening the link to the last one complete. Open link to complete: file size ' +
      "over the time from a leecher opening the link (page load, wasm, signaling, ICE, manifest included) to its " +
      'download complete (min / mean over leechers). Transfer: file size over the time from the leecher\'s first ' +
      'message on its data channel to the seeder (the handshake, sent as the channel opens; manifest fetch and ' +
      'first request included) to complete, both taken on the leecher page\'s clock. The goal (80 % of the raw ' +
      'ceiling for one leecher) is measured on the transfer figure, because the raw figure also starts on an open ' +
      'channel and excludes page load and connection setup; the open-link figure is what a user waits and is ' +
      'shown beside it. Here both are compared with the best raw figure above; the goal is judged on the repeated ' +
      'comparison below, like for like (the raw channel moving as many bytes) and on medians (one run is too ' +
      'noisy). Seeder upload: bytes the ' +
      'seeder sent over the file size. First piece: time from opening the link to the first verified piece ' +
      '(slowest leecher). Longest pause: the longest time between two messages a leecher received before ' +
      'complete (slowest leecher; compare the raw table\'s). Hashing: file size over the time from picking the file to its link.',
    '',
    '| run | wall time (s) | open link to complete, MB/s (min / mean) | vs raw | transfer MB/s (min / mean) | ' +
      'transfer vs raw | seeder upload / file size | first piece (s) | longest pause (s) | ' +
      'hashing when sharing (MB/s) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ];
}

/**
 * The goal's comparison, like for like and robust to this machine's noise: `rounds` rounds; in each, for every
 * one-leecher run, the raw channel moves the same number of bytes (the app's block size as message size, a new
 * connection, so its start counts as the app's does) and then the app moves the file; medians compared per size.
 */
async function repeatedSection(rounds) {
  /** One side's figures for one round: `{ transfer, pause, half }` (MB/s, s, MB/s), NaN where the run failed. */
  const measure = async (what, run) => {
    log(`repeated comparison, ${what}`);
    try {
      return await run();
    } catch (e) {
      log(`${what} failed: ${e.stack}`);
      return { transfer: NaN, pause: NaN, half: NaN };
    }
  };
  const rows = ONE_LEECHER_RUNS.map(() => ({ raw: [], app: [] }));
  for (let round = 1; round <= rounds; round++) {
    for (const [i, run] of ONE_LEECHER_RUNS.entries()) {
      const at = `round ${round} of ${rounds}`;
      rows[i].raw.push(
        await measure(`${at}: raw RTCDataChannel, ${run.size / MiB} MiB`, async () => {
          const [raw] = await rawBenchmark(browser, [BLOCK], run.size);
          return { transfer: raw.mbPerS, pause: raw.longestGapMs / 1000, half: raw.secondHalfMbPerS };
        }),
      );
      rows[i].app.push(
        await measure(`${at}: ${run.name}`, async () => {
          const app = await swarmRun(run);
          return {
            transfer: run.size / 1e6 / app.transferSeconds[0],
            pause: app.longestGapSeconds[0],
            half: run.size / 2 / 1e6 / app.secondHalfSeconds[0],
          };
        }),
      );
    }
  }
  const median = (xs) => {
    const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    if (s.length === 0) return NaN;
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const fmt = (x) => (Number.isNaN(x) ? 'failed' : x.toFixed(1));
  const pause = (x) => (Number.isNaN(x) ? '-' : x.toFixed(2));
  const pct = (a, b) => `${((100 * a) / b).toFixed(0)} %`;
  const table = [];
  for (const [i, run] of ONE_LEECHER_RUNS.entries()) {
    const r = rows[i];
    const mib = `${run.size / MiB} MiB`;
    for (let k = 0; k < rounds; k++) {
      const [raw, app] = [r.raw[k], r.app[k]];
      table.push(
        `| ${mib} | ${k + 1} | ${fmt(raw.transfer)} (${pause(raw.pause)}) | ${fmt(app.transfer)} (${pause(app.pause)}) | ` +
          `${fmt(raw.half)} | ${fmt(app.half)} |`,
      );
    }
    const of = (side, key) => median(side.map((x) => x[key]));
    const [raw, app, rawHalf, appHalf] = [of(r.raw, 'transfer'), of(r.app, 'transfer'), of(r.raw, 'half'), of(r.app, 'half')];
    table.push(
      `| ${mib} | **median** | **${fmt(raw)}** | **${fmt(app)}** = **${pct(app, raw)}** of raw | ${fmt(rawHalf)} | ` +
        `${fmt(appHalf)} = ${pct(appHalf, rawHalf)} of raw |`,
    );
  }
  return [
    '',
    '### One leecher against the raw channel, repeated',
    '',
    `${rounds} rounds; in each, for each file size, the raw channel moves that many bytes (${BLOCK / 1024} KiB ` +
      "messages, the app's block size, on a new connection as above) and then one seeder and one leecher move the " +
      'file through the app, so that both sides start a new association and a slow or fast spell of this shared ' +
      'machine hits both. Transfer MB/s as in the table above; in brackets, that run\'s longest pause in seconds (a ' +
      'pause of 0.4 s or more is a retransmission timeout of the association, visible in either). **The goal (80 % of ' +
      'the raw channel) is judged here, on the medians of the transfer figures**: a single run of either side ' +
      'moves by a third between runs. Second half: the second half of the bytes over the time it took (the raw ' +
      "receiver's last byte; the app's download complete), the steady rate once each association is past its start, " +
      'shown beside the goal\'s figures.',
    '',
    '| file | round | raw: transfer MB/s (longest pause s) | app: transfer MB/s (longest pause s) | ' +
      'raw: second half MB/s | app: second half MB/s |',
    '|---|---:|---:|---:|---:|---:|',
    ...table,
  ];
}
