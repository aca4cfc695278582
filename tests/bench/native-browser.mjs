#!/usr/bin/env node
// Native peer and browser throughput through the product: a 256 MiB file from a native seeder (`swarm-peer
// share`) to a browser downloader (timed from opening the link to the row's `complete`), and from a browser seeder
// to a native downloader (`swarm-peer get`, timed from start to exit), with the real signaling server in the
// private network namespace. Prints a Markdown table for scripts/bench-section.mjs:
//
//   cargo build --release -p peer-native && cargo run -q -p xtask -- build-wasm && cargo build -p signaling &&
//   SWARM_PEER_BIN=target/release/swarm-peer scripts/netns.sh node tests/bench/native-browser.mjs |
//     node scripts/bench-section.mjs native-browser-bench
//
// NATIVE_BROWSER_MIB changes the size (default 256). NATIVE_BROWSER_ONLY=native-to-browser (or browser-to-native)
// runs one direction and prints one line, `seconds MB/s`: what tests/bench/native-browser-ab.mjs reads.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { scenario } from '../harness/scenario.mjs';
import { openLink, seed, waitComplete } from '../harness/app.mjs';
import { sha256File, tempDir } from '../harness/files.mjs';
import { within } from '../harness/deadline.mjs';
import { nativeSeed, startSwarmPeer, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

const MiB = 1024 * 1024;
const mib = Number(process.env.NATIVE_BROWSER_MIB || 256);
/** Failure guard, milliseconds: 256 MiB at a pessimistic 2 MB/s. */
const RUN_TIMEOUT_MS = 600_000;

async function nativeToBrowser() {
  const s = await scenario();
  try {
    const file = await s.file('native-to-browser.bin', mib * MiB);
    const { peer, link } = await nativeSeed(s.server.url, file);
    try {
      const start = performance.now();
      const { row } = await openLink(await s.user(), link);
      await waitComplete(row, RUN_TIMEOUT_MS);
      return (performance.now() - start) / 1000;
    } finally {
      await peer.stop();
    }
  } finally {
    await s.close();
  }
}

async function browserToNative() {
  const s = await scenario();
  const dir = await tempDir();
  try {
    const file = await s.file('browser-to-native.bin', mib * MiB);
    const { link } = await seed(await s.user(), s.server.url, file);
    const out = join(dir.path, 'copy.bin');
    const start = performance.now();
    const peer = startSwarmPeer(s.server.url, ['get', link, '-o', out]);
    const { code } = await within(RUN_TIMEOUT_MS, 'swarm-peer get', peer.exited);
    const secs = (performance.now() - start) / 1000;
    if (code !== 0) throw new Error(`swarm-peer get failed:\n${peer.stderr()}`);
    if ((await sha256File(out)) !== file.sha256) throw new Error('the native copy differs from the source');
    return secs;
  } finally {
    await dir.remove();
    await s.close();
  }
}

const rate = (secs) => ((mib * MiB) / secs / 1e6).toFixed(1);
const only = process.env.NATIVE_BROWSER_ONLY;
if (only) {
  const run = { 'native-to-browser': nativeToBrowser, 'browser-to-native': browserToNative }[only];
  if (!run) throw new Error(`NATIVE_BROWSER_ONLY: native-to-browser or browser-to-native, not ${only}`);
  const secs = await run();
  console.log(`${secs.toFixed(2)} ${rate(secs)}`);
  process.exit(0);
}
const a = await nativeToBrowser();
const b = await browserToNative();
console.log(`${mib} MiB, one seeder and one downloader, Chromium (headless) and \`${SWARM_PEER_BIN.split('/').slice(-2).join('/')}\`, in the test namespace.`);
console.log('');
console.log('| path | time (s) | MB/s |');
console.log('|---|---:|---:|');
console.log(`| native seeder → browser downloader (link opened → complete) | ${a.toFixed(2)} | ${rate(a)} |`);
console.log(`| browser seeder → native downloader (\`get\` started → file written) | ${b.toFixed(2)} | ${rate(b)} |`);
