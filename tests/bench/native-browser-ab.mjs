#!/usr/bin/env node
// Paired comparison of two builds on one native <-> browser path: runs the path alternately with build A and build
// B (A, B, A, B, ...) so drift of the machine falls on both, and prints each build's median, mean, standard
// deviation and range. One run of this path varies by about +-15 % here (BENCHMARKS.md, native-browser-ab): compare
// medians of many pairs, never two runs. A build is a `www` directory (with `pkg/` built by `xtask build-wasm`)
// and a `swarm-peer` binary; build the older one from a worktree with its own target directory:
//
//   git worktree add /tmp/old <rev> && (cd /tmp/old && cargo build --release -p peer-native &&
//     cargo run -q -p xtask -- build-wasm)
//   cargo build --release -p peer-native && cargo run -q -p xtask -- build-wasm && cargo build -p signaling
//   A_WWW=/tmp/old/www A_BIN=/tmp/old/target/release/swarm-peer B_WWW=www B_BIN=target/release/swarm-peer \
//     scripts/netns.sh node tests/bench/native-browser-ab.mjs | node scripts/bench-section.mjs native-browser-ab
//
// AB_PAIRS sets the number of pairs (default 10), AB_PATH the path (native-to-browser, the default, or
// browser-to-native), AB_LABELS the two names in the table ("A,B"); NATIVE_BROWSER_MIB the size (default 256).
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pairs = Number(process.env.AB_PAIRS || 10);
const path = process.env.AB_PATH || 'native-to-browser';
const mib = Number(process.env.NATIVE_BROWSER_MIB || 256);
const labels = (process.env.AB_LABELS || 'A,B').split(',');
const builds = ['A', 'B'].map((k, i) => {
  const www = process.env[`${k}_WWW`];
  const bin = process.env[`${k}_BIN`];
  if (!www || !bin) throw new Error(`set ${k}_WWW and ${k}_BIN (see the comment at the top of this file)`);
  return { label: labels[i] || k, www: resolve(www), bin: resolve(bin), rates: [] };
});

/** One run of the path with one build: its MB/s. */
function once(build) {
  return new Promise((done, fail) => {
    const env = { ...process.env, P2P_WWW: build.www, SWARM_PEER_BIN: build.bin, NATIVE_BROWSER_ONLY: path };
    const child = spawn(process.execPath, [join(here, 'native-browser.mjs')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', fail);
    child.on('exit', (code) => {
      const m = /^([\d.]+) ([\d.]+)$/m.exec(out);
      if (code !== 0 || !m) fail(new Error(`${build.label}: run failed (exit ${code}): ${out}`));
      else done(Number(m[2]));
    });
  });
}

for (let i = 0; i < pairs; i++) {
  for (const b of builds) {
    const rate = await once(b);
    b.rates.push(rate);
    console.error(`pair ${i + 1}/${pairs} ${b.label}: ${rate} MB/s`);
  }
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
const sd = (xs) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
const f = (x) => x.toFixed(1);
console.log(`${mib} MiB, ${path.replaceAll('-', ' ')}, ${pairs} pairs run alternately, Chromium (headless) and \`swarm-peer\` (release), in the test namespace.`);
console.log('');
console.log('| build | median MB/s | mean MB/s | sd | min | max |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const b of builds) {
  const r = b.rates;
  console.log(`| ${b.label} | ${f(median(r))} | ${f(mean(r))} | ${f(sd(r))} | ${f(Math.min(...r))} | ${f(Math.max(...r))} |`);
}
