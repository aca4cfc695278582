#!/usr/bin/env node
// Across NATs: the NAT matrix of tests/specs/nat-matrix.test.mjs (homes behind real Linux NAT routers, coturn and
// the signaling server on the public side; tests/harness/nat.mjs) with files of 20 MB and 64 MiB, every cell in one
// run: open link (or start `swarm-peer get`) to complete, and the path the connection took. Prints a
// Markdown table for BENCHMARKS.md:
//
//   cargo build --release -p signaling -p peer-native && cargo run -q -p xtask -- build-wasm &&
//     SIGNALING_BIN=target/release/signaling SWARM_PEER_BIN=target/release/swarm-peer \
//     scripts/netns.sh node tests/bench/nat.mjs | node scripts/bench-section.mjs nat
//
// RUNS the runs a cell (default 3; its median is reported); SIZES the sizes in bytes (comma-separated; default
// 20000000,67108864); PAIRS a subset of the pairs
// (browser-browser,native-browser,native-native) for a quick look, without the tables that compare them.
import { randomFile } from '../harness/files.mjs';
import { KINDS, natUnavailable, startNatWorld } from '../harness/nat.mjs';

const sizes = (process.env.SIZES || '20000000,67108864').split(',').map(Number);
const runs = Number(process.env.RUNS || 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ALL_PAIRS = [['browser', 'browser'], ['native', 'browser'], ['native', 'native']];
// PAIRS=native-browser,... measures only those (the ratio tables need browser-browser).
const PAIRS = process.env.PAIRS
  ? ALL_PAIRS.filter(([s, g]) => process.env.PAIRS.split(',').includes(`${s}-${g}`))
  : ALL_PAIRS;
const unavailable = natUnavailable();
if (unavailable) {
  console.error(`nat bench: ${unavailable}`);
  process.exit(1);
}
const label = (n) => (n % (1024 * 1024) === 0 ? `${n / 1024 / 1024} MiB` : `${n / 1e6} MB`);
const world = await startNatWorld();
const rows = [];
try {
  for (const size of sizes) {
    const file = await randomFile(world.dir, `bench-${size}.bin`, size);
    for (const [seeder, getter] of PAIRS) {
      for (const from of KINDS) {
        for (const to of KINDS) {
          const times = [];
          const paths = new Set();
          for (let run = 0; run < runs; run++) {
            const { took, ms } = await world.transfer({ seeder, getter, from, to, file });
            console.error(`${label(size)} ${seeder}->${getter} ${from}->${to} (${run + 1}/${runs}): ${took}, ${(ms / 1000).toFixed(2)} s`);
            times.push(ms);
            paths.add(took);
          }
          const ms = median(times);
          const took = paths.size === 1 ? [...paths][0] : 'mixed';
          rows.push({ size, pair: `${seeder} → ${getter}`, from, to, took, s: ms / 1000, mbPerS: size / 1e6 / (ms / 1000) });
        }
      }
    }
  }
} finally {
  await world.stop();
}
if (PAIRS.length < ALL_PAIRS.length) process.exit(0);
const lines = [
  'One seeder, one getter, each in its own home (none: a public address; cone: port-keeping NAT; symmetric:',
  '`MASQUERADE --random-fully`), coturn on the public side; open link (or start of `swarm-peer get`) to complete,',
  `connecting included; the median of ${runs} runs a cell, each with a fresh seeder and getter.`,
  '',
  '| size | pair | seeder home | getter home | path | time (s) | MB/s |',
  '|---|---|---|---|---|---:|---:|',
  ...rows.map((r) => `| ${label(r.size)} | ${r.pair} | ${r.from} | ${r.to} | ${r.took} | ${r.s.toFixed(2)} | ${r.mbPerS.toFixed(1)} |`),
  '',
];
// Relayed next to direct: per size and pair, the median MB/s of each path.
lines.push('| size | pair | direct, median MB/s | relayed, median MB/s | relayed / direct |', '|---|---|---:|---:|---:|');
for (const size of sizes) {
  for (const [seeder, getter] of PAIRS) {
    const pair = `${seeder} → ${getter}`;
    const of = (path) => rows.filter((r) => r.size === size && r.pair === pair && r.took === path).map((r) => r.mbPerS);
    const [d, r] = [median(of('direct')), median(of('relayed'))];
    lines.push(`| ${label(size)} | ${pair} | ${d.toFixed(1)} | ${r.toFixed(1)} | ${Math.round((100 * r) / d)} % |`);
  }
}
// Each cell's time next to browser → browser between the same homes (issue 27: no cell over 2x its Chromium
// counterpart).
lines.push('', '| size | seeder home | getter home | native → browser / browser → browser | native → native / browser → browser |', '|---|---|---|---:|---:|');
let worst = 0;
for (const size of sizes) {
  for (const from of KINDS) {
    for (const to of KINDS) {
      const time = (pair) => rows.find((r) => r.size === size && r.pair === pair && r.from === from && r.to === to).s;
      const base = time('browser → browser');
      const [nb, nn] = [time('native → browser') / base, time('native → native') / base];
      worst = Math.max(worst, nb, nn);
      lines.push(`| ${label(size)} | ${from} | ${to} | ${nb.toFixed(2)} | ${nn.toFixed(2)} |`);
    }
  }
}
lines.push('', `Slowest cell against its browser → browser counterpart: ${worst.toFixed(2)}x.`);
console.log(lines.join('\n'));
