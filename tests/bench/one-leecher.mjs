#!/usr/bin/env node
// A quick A/B tool (not part of `npm run bench`): N runs of one seeder and one leecher through the web app, each
// printed as `<tag> <transfer MB/s> <longest pause s> <second half MB/s>` (the figures `npm run bench` takes,
// tests/bench/app.mjs).
// Interleave two builds by alternating runs of this, one with P2P_WWW pointing at the other build's www directory
// (docs/ARCHITECTURE.md, "Building the wasm"):
//
//   for i in 1 2 3; do
//     TAG=new bash scripts/netns.sh node tests/bench/one-leecher.mjs
//     TAG=old P2P_WWW=/tmp/www-old bash scripts/netns.sh node tests/bench/one-leecher.mjs
//   done
//
// MIB sets the file size (default 64), N the runs (default 2).
import { swarmRun } from './app.mjs';

const MiB = 1024 * 1024;
const mib = Number(process.env.MIB || 64);
for (let i = 0; i < Number(process.env.N || 2); i++) {
  const r = await swarmRun({ size: mib * MiB, leechers: 1 });
  const mbPerS = (mib * MiB) / 1e6 / r.transferSeconds[0];
  const secondHalf = (mib * MiB) / 2 / 1e6 / r.secondHalfSeconds[0];
  console.log(process.env.TAG ?? 'run', mbPerS.toFixed(1), r.longestGapSeconds[0].toFixed(2), secondHalf.toFixed(1));
}
