// The raw RTCDataChannel benchmark (the ceiling): two tabs of one context, tests/bench/raw.{html,js}.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../harness/static.mjs';

export const RAW_TOTAL = 128 * 1024 * 1024;
/** Message sizes, KiB; `BENCH_RAW_KIB=64,128` measures only those (a quick comparison run). */
export const RAW_MESSAGE_SIZES = (process.env.BENCH_RAW_KIB?.split(',').map(Number) ?? [16, 64, 128, 256]).map(
  (k) => k * 1024,
);
/**
 * Send-side high-water mark, bytes: the sender waits for `bufferedamountlow` above it. 4 MiB, as the app's
 * channels; `BENCH_RAW_HIGH_KIB` tries another (an experiment, not for BENCHMARKS.md).
 */
export const RAW_HIGH_WATER = Number(process.env.BENCH_RAW_HIGH_KIB || 4096) * 1024;
/** `bufferedAmountLowThreshold`, bytes: a quarter of the high-water mark keeps the channel fed. */
export const RAW_LOW_WATER = RAW_HIGH_WATER / 4;
/**
 * Small messages the receiver sends back per message received: 0, the ceiling; `BENCH_RAW_ECHO=2` imitates the
 * app's downloader, which sends a request and a `Have` per block (a diagnostic, not for BENCHMARKS.md).
 */
const RAW_ECHO = Number(process.env.BENCH_RAW_ECHO || 0);
/** A 256 MiB run (the repeated comparison's largest) at a pessimistic 2 MB/s takes about 135 s. */
const RUN_TIMEOUT_MS = 180_000;

/**
 * Runs each of `sizes` (message sizes in bytes; every one by default) in `browser`, `total` bytes each, on a new
 * connection each; resolves with `[{ messageSize, ms, mbPerS, longestGapMs, secondHalfMbPerS }]` (MB = 10^6 bytes;
 * `longestGapMs`: the longest time between two messages at the receiver; `secondHalfMbPerS`: the second half of
 * the bytes over the time the receiver took for it, the channel's steady rate).
 */
export async function rawBenchmark(browser, sizes = RAW_MESSAGE_SIZES, total = RAW_TOTAL) {
  const site = await serveStatic(dirname(fileURLToPath(import.meta.url)));
  const context = await browser.newContext();
  try {
    const [sender, receiver] = [await context.newPage(), await context.newPage()];
    for (const page of [sender, receiver]) {
      page.setDefaultTimeout(RUN_TIMEOUT_MS);
      await page.goto(`${site.url}/raw.html`);
    }
    const results = [];
    for (const [i, messageSize] of sizes.entries()) {
      await receiver.evaluate(([run, echo]) => window.rawReceive(run, echo), [i, RAW_ECHO]);
      const { ms, received, longestGap, secondHalfMs } = await sender.evaluate(
        ([run, options]) => window.rawSend(run, options),
        [i, { messageSize, total, highWater: RAW_HIGH_WATER, lowWater: RAW_LOW_WATER }],
      );
      if (received !== total) throw new Error(`raw run ${messageSize}: received ${received} of ${total}`);
      results.push({
        messageSize,
        ms,
        mbPerS: total / 1e6 / (ms / 1000),
        longestGapMs: longestGap,
        secondHalfMbPerS: total / 2 / 1e6 / (secondHalfMs / 1000),
      });
    }
    return results;
  } finally {
    await context.close();
    await site.close();
  }
}
