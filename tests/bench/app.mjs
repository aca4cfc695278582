// The project's own figures, measured through the web app's UI contract only (as a user would see them): one
// seeder and N leechers in one browser (one context per user), the real signaling server, the release wasm.
import { performance } from 'node:perf_hooks';
import { scenario } from '../harness/scenario.mjs';
import { counters, openApp, openLink, share, waitComplete, waitCounters, waitStatus } from '../harness/app.mjs';

const MiB = 1024 * 1024;
/** Generous failure guards, milliseconds: a 256 MiB run at a pessimistic 2 MB/s takes about 130 s. */
const RUN_TIMEOUT_MS = 600_000;
/** How long the seeder's upload counter may take to catch up once all leechers are complete, milliseconds. */
const COUNTER_SETTLE_MS = 5_000;

/**
 * One run: a seeder shares a `size`-byte random file, `leechers` users open its link at the same time.
 * Resolves with seconds and bytes: `{ hashSeconds, wallSeconds, firstPieceSeconds[], completeSeconds[],
 * seederUploaded }`; every time counts from the moment that user opened the link.
 */
export async function swarmRun({ size, leechers }) {
  const s = await scenario();
  try {
    const file = await s.file(`bench-${size}.bin`, size);
    const seeder = await openApp(await s.user(), s.server.url);
    await waitStatus(seeder, 'connected');
    const hashStart = performance.now();
    const { row: shareRow, link } = await share(seeder, file);
    const hashSeconds = (performance.now() - hashStart) / 1000;

    const contexts = [];
    for (let i = 0; i < leechers; i++) contexts.push(await s.user());
    const start = performance.now();
    const runs = await Promise.all(
      contexts.map(async (context) => {
        const opened = performance.now();
        const { row } = await openLink(context, link);
        await waitCounters(row, 'a first verified piece', (c) => c.verifiedPieces >= 1, {
          timeout: RUN_TIMEOUT_MS,
        });
        const firstPiece = (performance.now() - opened) / 1000;
        await waitComplete(row, RUN_TIMEOUT_MS);
        return { firstPiece, complete: (performance.now() - opened) / 1000 };
      }),
    );
    const wallSeconds = (performance.now() - start) / 1000;
    // Counters are refreshed a few times a second, so the seeder's may lag the leechers' completion. Every byte a
    // leecher received was sent by the seeder or by another leecher: wait until the seeder's counter accounts for
    // its share (a failure guard, not a delay: it returns as soon as the figures add up).
    const rows = await Promise.all(contexts.map((c) => c.pages()[0].locator('[data-testid=download-row]').first()));
    let received = 0;
    let fromLeechers = 0;
    for (const row of rows) {
      const c = await counters(row);
      received += c.downloadedBytes;
      fromLeechers += c.uploadedBytes;
    }
    await waitCounters(shareRow, "the seeder's final upload count", (c, bytes) => c.uploadedBytes >= bytes, {
      timeout: COUNTER_SETTLE_MS,
      arg: received - fromLeechers,
    }).catch(() => {});
    const seederUploaded = (await counters(shareRow)).uploadedBytes;
    return {
      hashSeconds,
      wallSeconds,
      firstPieceSeconds: runs.map((r) => r.firstPiece),
      completeSeconds: runs.map((r) => r.complete),
      seederUploaded,
    };
  } finally {
    await s.close();
  }
}

const ALL_RUNS = [
  { name: '1 seeder, 1 leecher, 64 MiB', size: 64 * MiB, leechers: 1 },
  { name: '1 seeder, 1 leecher, 256 MiB', size: 256 * MiB, leechers: 1 },
  { name: '1 seeder, 3 leechers, 64 MiB', size: 64 * MiB, leechers: 3 },
  { name: '1 seeder, 6 leechers, 64 MiB', size: 64 * MiB, leechers: 6 },
];
/** Every run; `BENCH_RUNS=0,0,2` picks runs by index, repeats allowed (a quick comparison, not for BENCHMARKS.md). */
export const APP_RUNS = process.env.BENCH_RUNS
  ? process.env.BENCH_RUNS.split(',').map((i) => ALL_RUNS[Number(i)]).filter(Boolean)
  : ALL_RUNS;
