#!/usr/bin/env node
// Through TURN or not: one seeder and one leecher (two Chromium contexts) move a file through the web app, each
// run either on direct pairs or with both browsers allowed only relayed candidates (iceTransportPolicy "relay",
// as tests/specs/turn-relay.test.mjs), through a real coturn (deploy/turnserver.conf) whose credentials the
// signaling server hands out. Runs alternate (direct, relay, direct, ...) so drift falls on both; prints a Markdown
// table of medians for BENCHMARKS.md:
//
//   cargo build -p signaling && cargo run -q -p xtask -- build-wasm &&
//     scripts/netns.sh node tests/bench/turn.mjs | node scripts/bench-section.mjs turn
//
// MIB sets the size (default 64), N the runs of each (default 3).
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scenario } from '../harness/scenario.mjs';
import { openApp, openLink, share, waitComplete, waitCounters, waitStatus } from '../harness/app.mjs';
import { relayOnly, startCoturn } from '../harness/coturn.mjs';
import { startSignaling } from '../harness/server.mjs';
import { tempDir } from '../harness/files.mjs';

const MiB = 1024 * 1024;
const mib = Number(process.env.MIB || 64);
const runs = Number(process.env.N || 3);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const s = await scenario();
const secret = randomBytes(24).toString('hex');
const coturn = await startCoturn({ secret });
const dir = await tempDir();
await writeFile(join(dir.path, 'secret'), `${secret}\n`);
const server = await startSignaling({ args: ['--turn-url', coturn.url, '--turn-secret', join(dir.path, 'secret')] });
const results = { direct: [], relay: [] };
try {
  const file = await s.file('turn-bench.bin', mib * MiB);
  for (let i = 0; i < runs; i++) {
    for (const mode of ['direct', 'relay']) {
      const [seederContext, leecherContext] = [await s.user(), await s.user()];
      if (mode === 'relay') for (const c of [seederContext, leecherContext]) await c.addInitScript(relayOnly);
      const seeder = await openApp(seederContext, server.url);
      await waitStatus(seeder, 'connected');
      const { link } = await share(seeder, file);
      const opened = performance.now();
      const { row } = await openLink(leecherContext, link);
      await waitCounters(row, 'a first piece', (c) => c.verifiedPieces >= 1, { timeout: 120_000 });
      const firstPiece = (performance.now() - opened) / 1000;
      await waitComplete(row, 600_000);
      const complete = (performance.now() - opened) / 1000;
      results[mode].push({ firstPiece, mbPerS: (mib * MiB) / 1e6 / complete });
      console.error(`${mode} ${i + 1}/${runs}: first piece ${firstPiece.toFixed(2)} s, ${(mib * MiB / 1e6 / complete).toFixed(1)} MB/s`);
      await seederContext.close();
      await leecherContext.close();
    }
  }
} finally {
  await server.stop();
  await coturn.stop();
  await dir.remove();
  await s.close();
}
const row = (mode) => {
  const r = results[mode];
  return `| ${mode === 'relay' ? 'relayed (TURN, coturn)' : 'direct'} | ${median(r.map((x) => x.mbPerS)).toFixed(1)} | ${median(r.map((x) => x.firstPiece)).toFixed(2)} | ${r.length} |`;
};
console.log(`${mib} MiB, one seeder and one leecher (two Chromium contexts of one headless browser), open link to complete,`);
console.log('runs alternated; medians. Both relayed peers use the same coturn on this machine (two relay legs).');
console.log('');
console.log('| path | open link to complete (MB/s) | open link to first piece (s) | runs |');
console.log('|---|---:|---:|---:|');
console.log(row('direct'));
console.log(row('relay'));
const ratio = median(results.relay.map((x) => x.mbPerS)) / median(results.direct.map((x) => x.mbPerS));
console.log('');
console.log(`Relayed at ${(ratio * 100).toFixed(0)} % of direct.`);
