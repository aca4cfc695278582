#!/usr/bin/env node
// Where the time of a one-seeder-one-leecher transfer goes (a tool for tuning, not part of `npm run bench`):
// the leecher's progress over time (setup vs steady state), CPU seconds per Chromium process, and, with
// `--js-profile`, the top self-time functions of each tab from the DevTools protocol's sampling profiler.
//
//   bash scripts/netns.sh node tests/bench/profile.mjs [--mib 64] [--js-profile]
//
// P2P_WWW serves another build of the app (tests/harness/paths.mjs); SIGNALING_BIN picks the server binary.
import { performance } from 'node:perf_hooks';
import { scenario } from '../harness/scenario.mjs';
import { counters, openLink, seed, waitComplete } from '../harness/app.mjs';
import { chromiumThreads } from './chromium-cpu.mjs';

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const mib = Number(args[args.indexOf('--mib') + 1] || 64) || 64;
const jsProfile = args.includes('--js-profile');
/** Progress samples of the leecher, milliseconds apart. */
const SAMPLE_MS = 250;
/** Functions listed per tab. */
const TOP = 25;
/** Width of a bucket of the per-tab data-channel traffic table, milliseconds. */
const FLOW_MS = 250;

/**
 * Installed in both tabs before the app runs: bytes sent and received on content data channels (label other than
 * `discovery`) and sends that found the channel's `bufferedAmount` above 4 MiB, per FLOW_MS of the page's clock,
 * so that a stall shows on which side it is (the seeder not sending, or the leecher not asking).
 */
function flowMeter(bucketMs) {
  const flow = (window.__flow = { t0: performance.now(), buckets: [], longTasks: [] });
  // Main-thread tasks over 100 ms: a stall on the receiving side that coincides with one is the page's doing.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > 100) flow.longTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask' });
  const bucket = () => {
    const i = Math.floor((performance.now() - flow.t0) / bucketMs);
    return (flow.buckets[i] ??= { sent: 0, sends: 0, received: 0, messages: 0, blocked: 0, buffered: 0 });
  };
  const size = (d) => d.byteLength ?? d.size ?? d.length ?? 0;
  // Highest `bufferedAmount` of the content channels, sampled every 50 ms: data the page handed over that the
  // transport has not sent yet (a stall with a full buffer is the transport's; with an empty one, the page's).
  const channels = new Set();
  setInterval(() => {
    const b = bucket();
    for (const dc of channels) b.buffered = Math.max(b.buffered, dc.bufferedAmount);
  }, 50);
  const watch = (dc) => {
    if (dc.label === 'discovery') return;
    channels.add(dc);
    dc.addEventListener('close', () => channels.delete(dc));
    dc.addEventListener('message', (e) => {
      const b = bucket();
      b.received += size(e.data);
      b.messages += 1;
    });
  };
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (d) {
    if (this.label !== 'discovery') {
      const b = bucket();
      b.sent += size(d);
      b.sends += 1;
      if (this.bufferedAmount > 4 * 1024 * 1024) b.blocked += 1;
    }
    return send.call(this, d);
  };
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...a) {
    const dc = create.apply(this, a);
    watch(dc);
    return dc;
  };
  const add = RTCPeerConnection.prototype.addEventListener;
  RTCPeerConnection.prototype.addEventListener = function (type, fn, ...rest) {
    if (type === 'datachannel') add.call(this, type, (e) => watch(e.channel), ...rest);
    return add.call(this, type, fn, ...rest);
  };
  const ondc = Object.getOwnPropertyDescriptor(RTCPeerConnection.prototype, 'ondatachannel');
  Object.defineProperty(RTCPeerConnection.prototype, 'ondatachannel', {
    ...ondc,
    set(fn) {
      ondc.set.call(this, fn && ((e) => (watch(e.channel), fn.call(this, e))));
    },
  });
}

const s = await scenario();
try {
  const file = await s.file(`profile-${mib}.bin`, mib * MiB);
  // As `npm run bench`'s one-leecher runs (tests/bench/app.mjs): the leecher's profile on disk, the seeder an
  // off-the-record context of the same browser.
  const leecherContext = await s.user({ persistent: true });
  const seederContext = await leecherContext.browser().newContext();
  await seederContext.addInitScript(flowMeter, FLOW_MS);
  const { page: seederPage, link } = await seed(seederContext, s.server.url, file);
  await leecherContext.addInitScript(flowMeter, FLOW_MS);
  // Connection milestones of the leecher's tab, from wrappers installed before the app runs (a bench tool only).
  await leecherContext.addInitScript(() => {
    const marks = (window.__marks = []);
    const mark = (what) => marks.push([what, performance.now()]);
    const Pc = window.RTCPeerConnection;
    window.RTCPeerConnection = function (...a) {
      const pc = new Pc(...a);
      mark('RTCPeerConnection created');
      pc.addEventListener('connectionstatechange', () => mark(`connection ${pc.connectionState}`));
      pc.addEventListener('datachannel', (e) => {
        mark(`datachannel ${e.channel.label}`);
        e.channel.addEventListener('message', () => marks.first || (mark('first message'), (marks.first = 1)));
      });
      return pc;
    };
    window.RTCPeerConnection.prototype = Pc.prototype;
    const Ws = window.WebSocket;
    window.WebSocket = function (...a) {
      const ws = new Ws(...a);
      mark('WebSocket created');
      ws.addEventListener('open', () => mark('WebSocket open'));
      return ws;
    };
    window.WebSocket.prototype = Ws.prototype;
    Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
    const send = RTCDataChannel.prototype.send;
    RTCDataChannel.prototype.send = function (d) {
      if (!marks.sent) (marks.sent = 1), mark(`first send on ${this.label}`);
      return send.call(this, d);
    };
  });
  const browserSession = await leecherContext.browser().newBrowserCDPSession();
  const cpuBefore = await processCpu(browserSession);

  const profilers = [];
  if (jsProfile) profilers.push(await startProfiler('seeder', seederPage));
  // The leecher's tab is profiled from its first script on.
  leecherContext.on('page', (page) => {
    if (jsProfile) profilers.push(startProfiler('leecher', page));
  });
  const t0 = performance.now();
  const { row } = await openLink(leecherContext, link);
  const samples = [];
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const c = await counters(row).catch(() => null);
      const threads = chromiumThreads();
      if (c) {
        samples.push({ t: (performance.now() - t0) / 1000, bytes: c.downloadedBytes ?? 0, v: c.verifiedPieces ?? 0, threads });
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  })();
  await waitComplete(row, 600_000);
  const total = (performance.now() - t0) / 1000;
  done = true;
  await sampler;
  const cpuAfter = await processCpu(browserSession);

  const leecherPage = row.page();
  const timeline = await leecherPage.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const wasm = performance.getEntriesByType('resource').find((r) => r.name.endsWith('.wasm'));
    return [
      ['DOMContentLoaded', nav?.domContentLoadedEventEnd],
      ['wasm fetched', wasm?.responseEnd],
      ...window.__marks,
    ];
  });
  console.log('leecher tab timeline (ms since navigation start):');
  for (const [what, at] of timeline) console.log(`  ${Math.round(at ?? -1)}  ${what}`);
  const firstByte = samples.find((x) => x.bytes > 0)?.t ?? NaN;
  console.log(`${mib} MiB in ${total.toFixed(2)} s: ${((mib * MiB) / 1e6 / total).toFixed(1)} MB/s overall`);
  console.log(`first byte counted at ${firstByte.toFixed(2)} s; after it ${((mib * MiB) / 1e6 / (total - firstByte)).toFixed(1)} MB/s`);
  console.log(
    'progress (s, MB, verified pieces, MB/s over the last sample; the busiest Chromium threads over it, CPU ms, ' +
      'renderers by process id):',
  );
  let prev = { t: 0, bytes: 0, threads: new Map() };
  for (const x of samples) {
    const rate = (x.bytes - prev.bytes) / 1e6 / (x.t - prev.t);
    const busy = new Map();
    for (const [id, v] of x.threads) {
      const name = v.key.replace('renderer', `renderer ${v.pid}`);
      busy.set(name, (busy.get(name) ?? 0) + v.secs - (prev.threads.get(id)?.secs ?? v.secs));
    }
    const top = [...busy].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, secs]) => `${k} ${Math.round(secs * 1000)}`);
    console.log(`  ${x.t.toFixed(2)}  ${(x.bytes / 1e6).toFixed(1)}  ${x.v}  ${rate.toFixed(1)}   ${top.join(', ')}`);
    prev = x;
  }
  // Both tabs' traffic on one time axis: the leecher page's clock since its navigation start.
  const seederFlow = await seederPage.evaluate(() => ({ ...window.__flow, now: performance.now() }));
  const leecherFlow = await leecherPage.evaluate(() => ({ ...window.__flow, now: performance.now() }));
  const shift = seederFlow.now - leecherFlow.now; // seeder clock minus leecher clock (same instant, ~ms apart)
  const at = (flow, i) => flow.t0 + i * FLOW_MS - (flow === seederFlow ? shift : 0);
  const rows = new Map();
  for (const [flow, who] of [[seederFlow, 'seeder'], [leecherFlow, 'leecher']]) {
    flow.buckets.forEach((b, i) => {
      if (!b) return;
      const k = Math.round(at(flow, i) / FLOW_MS);
      rows.set(k, { ...rows.get(k), [who]: b });
    });
  }
  console.log(`data-channel traffic per ${FLOW_MS} ms (leecher clock, ms; MB sent by the seeder, sends over 4 MiB buffered, most buffered in MB, messages received (requests and Haves); MB received, messages sent and most buffered in KB by the leecher):`);
  for (const k of [...rows.keys()].sort((a, b) => a - b)) {
    const { seeder: sd, leecher: le } = rows.get(k);
    console.log(
      `  ${String(k * FLOW_MS).padStart(6)}  seeder ${((sd?.sent ?? 0) / 1e6).toFixed(1).padStart(5)} MB ${String(sd?.blocked ?? 0).padStart(3)} over ${((sd?.buffered ?? 0) / 1e6).toFixed(1).padStart(4)} buf ${String(sd?.messages ?? 0).padStart(4)} got` +
        `  leecher ${((le?.received ?? 0) / 1e6).toFixed(1).padStart(5)} MB ${String(le?.sends ?? 0).padStart(4)} sends ${((le?.buffered ?? 0) / 1e3).toFixed(0).padStart(4)} KB buf`,
    );
  }
  for (const [flow, who] of [[seederFlow, 'seeder'], [leecherFlow, 'leecher']]) {
    const tasks = flow.longTasks.map(([t, d]) => `${Math.round(t - (flow === seederFlow ? shift : 0))}+${Math.round(d)}`);
    console.log(`${who} main-thread tasks over 100 ms (leecher clock, start+duration ms): ${tasks.join(' ') || 'none'}`);
  }
  console.log('CPU seconds per Chromium process during the transfer:');
  let cpuTotal = 0;
  for (const [key, after] of cpuAfter) {
    const used = after.cpu - (cpuBefore.get(key)?.cpu ?? 0);
    cpuTotal += used;
    if (used > 0.05) console.log(`  ${after.type} ${key}: ${used.toFixed(2)}`);
  }
  console.log(`  all Chromium processes: ${cpuTotal.toFixed(2)} CPU seconds, ${(cpuTotal / total).toFixed(2)} cores`);
  for (const p of await Promise.all(profilers)) await p.report();
} finally {
  await s.close();
}

/** `Map(pid -> { type, cpu seconds })` of every Chromium process. */
async function processCpu(session) {
  const { processInfo } = await session.send('SystemInfo.getProcessInfo');
  return new Map(processInfo.map((p) => [p.id, { type: p.type, cpu: p.cpuTime }]));
}

/** Starts the sampling profiler in `page`; `report()` stops it and prints the top self-time functions. */
async function startProfiler(who, page) {
  const session = await page.context().newCDPSession(page);
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: 200 });
  await session.send('Profiler.start');
  return {
    async report() {
      const { profile } = await session.send('Profiler.stop');
      const self = new Map();
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      const dt = new Map();
      for (let i = 0; i < profile.samples.length; i++) {
        dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
      }
      let totalUs = 0;
      for (const [id, us] of dt) {
        const f = byId.get(id).callFrame;
        const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
        self.set(name, (self.get(name) ?? 0) + us);
        totalUs += us;
      }
      const idle = self.get('(idle) :-1') ?? 0;
      console.log(`${who} tab: ${((totalUs - idle) / 1e6).toFixed(2)} s busy of ${(totalUs / 1e6).toFixed(2)} s`);
      for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
        console.log(`  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${name}`);
      }
    },
  };
}
