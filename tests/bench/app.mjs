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
 * transferSeconds[], secondHalfSeconds[], longestGapSeconds[], seederUploaded }`; `firstPieceSeconds` and
 * `completeSeconds` count from the moment that user opened the link, `transferSeconds` from its first content data
 * channel opening to complete, `secondHalfSeconds` from half of the file's bytes received to complete
 * (`transferClock`).
 * `hooks.beforeOpen()` runs just before the leechers open the link, `hooks.afterComplete()` once all are complete.
 */
export async function swarmRun({ size, leechers }, hooks = {}) {
  const s = await scenario();
  try {
    const file = await s.file(`bench-${size}.bin`, size);
    // Each leecher's browser window is open before anything is timed, as a user's is before they open a link: a
    // new window of headless Chromium starts a renderer for the browser's own UI (`--top-chrome-webui`), which
    // took about 0.6 CPU-seconds, within the first 2 s of a download when the window opened with the link.
    // Added to a page after it loaded, the init script applies from its next navigation: the link.
    const leecherTabs = [];
    let seederContext = null;
    if (leechers === 1) {
      // One leecher: a browser whose own profile is on disk, as a user's normal profile is, and the seeder in an
      // off-the-record context of that browser (it stores nothing; both users share one browser, as the raw
      // channel's two tabs do). An off-the-record context keeps its OPFS in the browser process's memory, where
      // every write of a download is an IPC and a copy: about 0.01 CPU-s per MB more (tests/bench/threads.mjs).
      const context = await s.user({ persistent: true });
      seederContext = await context.browser().newContext();
      leecherTabs.push({ context, page: context.pages()[0] ?? (await context.newPage()) });
    } else {
      // Several leechers: off-the-record contexts of one browser. A browser per user costs more on this small
      // machine than that storage does: one leecher in a browser of its own was slower in an A/B, not faster.
      for (let i = 0; i < leechers; i++) {
        const context = await s.user();
        leecherTabs.push({ context, page: await context.newPage() });
      }
    }
    for (const { context } of leecherTabs) await context.addInitScript(transferClock, size);
    const seeder = await openApp(seederContext ?? (await s.user()), s.server.url);
    await waitStatus(seeder, 'connected');
    const hashStart = performance.now();
    const { row: shareRow, link } = await share(seeder, file);
    const hashSeconds = (performance.now() - hashStart) / 1000;

    hooks.beforeOpen?.();
    const start = performance.now();
    const runs = await Promise.all(
      leecherTabs.map(async ({ context, page }) => {
        const opened = performance.now();
        const { row } = await openLink(context, link, page);
        await waitCounters(row, 'a first verified piece', (c) => c.verifiedPieces >= 1, {
          timeout: RUN_TIMEOUT_MS,
        });
        const firstPiece = (performance.now() - opened) / 1000;
        await waitComplete(row, RUN_TIMEOUT_MS);
        const complete = (performance.now() - opened) / 1000;
        const clock = await row.page().evaluate(() => window.__benchClock);
        if (clock?.channel == null || clock.half == null || clock.complete == null) throw new Error(`no transfer clock: ${JSON.stringify(clock)}`);
        return {
          row,
          firstPiece,
          complete,
          transfer: (clock.complete - clock.channel) / 1000,
          secondHalf: (clock.complete - clock.half) / 1000,
          longestGap: clock.longestGap / 1000,
        };
      }),
    );
    const wallSeconds = (performance.now() - start) / 1000;
    hooks.afterComplete?.();
    // Counters are refreshed a few times a second, so the seeder's may lag the leechers' completion. Every byte a
    // leecher received was sent by the seeder or by another leecher: wait until the seeder's counter accounts for
    // its share (a failure guard, not a delay: it returns as soon as the figures add up).
    const rows = runs.map((r) => r.row);
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
      transferSeconds: runs.map((r) => r.transfer),
      secondHalfSeconds: runs.map((r) => r.secondHalf),
      longestGapSeconds: runs.map((r) => r.longestGap),
      seederUploaded,
    };
  } finally {
    await s.close();
  }
}

/**
 * Installed in each leecher's context before the app runs (a bench instrument, not an app hook): the page's clock
 * when the first message goes out on a content data channel (label other than `discovery`; the first is the
 * handshake, sent as the channel to the seeder opens, before the manifest fetch and the first block request) and
 * when a download row first shows `data-state=complete` (a MutationObserver, so no polling delay). The difference
 * is the transfer time comparable with the raw figure, which also starts on an open channel. Also when the bytes
 * received on content channels reached half of `size` (the file's): from there to complete is the second half, the
 * transfer's steady rate, as the raw bench reports it.
 */
function transferClock(size) {
  const clock = (window.__benchClock = {
    channel: null,
    half: null,
    complete: null,
    received: 0,
    lastMessage: null,
    longestGap: 0,
  });
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    if (clock.channel === null && this.label !== 'discovery') clock.channel = performance.now();
    return send.call(this, data);
  };
  // The longest time between two messages received on content channels until complete, as the raw bench reports.
  const watch = (dc) => {
    if (dc.label === 'discovery') return;
    dc.addEventListener('message', ({ data }) => {
      if (clock.complete !== null) return;
      const now = performance.now();
      clock.received += data.byteLength ?? data.size ?? 0;
      if (clock.half === null && clock.received >= size / 2) clock.half = now;
      if (clock.lastMessage !== null) clock.longestGap = Math.max(clock.longestGap, now - clock.lastMessage);
      clock.lastMessage = now;
    });
  };
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...a) {
    const dc = create.apply(this, a);
    watch(dc);
    return dc;
  };
  const ondc = Object.getOwnPropertyDescriptor(RTCPeerConnection.prototype, 'ondatachannel');
  Object.defineProperty(RTCPeerConnection.prototype, 'ondatachannel', {
    ...ondc,
    set(fn) {
      ondc.set.call(this, fn && ((e) => (watch(e.channel), fn.call(this, e))));
    },
  });
  new MutationObserver(() => {
    if (clock.complete === null && document.querySelector('[data-testid=download-row][data-state=complete]')) {
      clock.complete = performance.now();
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
}

const ALL_RUNS = [
  { name: '1 seeder, 1 leecher, 64 MiB', size: 64 * MiB, leechers: 1 },
  { name: '1 seeder, 1 leecher, 256 MiB', size: 256 * MiB, leechers: 1 },
  { name: '1 seeder, 3 leechers, 64 MiB', size: 64 * MiB, leechers: 3 },
  { name: '1 seeder, 6 leechers, 64 MiB', size: 64 * MiB, leechers: 6 },
];
/** The runs with one leecher: the ones the throughput goal is about. */
export const ONE_LEECHER_RUNS = ALL_RUNS.filter((r) => r.leechers === 1);
/** Every run; `BENCH_RUNS=0,0,2` picks runs by index, repeats allowed (a quick comparison, not for BENCHMARKS.md). */
export const APP_RUNS = process.env.BENCH_RUNS
  ? process.env.BENCH_RUNS.split(',').map((i) => ALL_RUNS[Number(i)]).filter(Boolean)
  : ALL_RUNS;
