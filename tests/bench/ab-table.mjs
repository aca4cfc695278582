#!/usr/bin/env node
// Reads lines `<tag> <transfer MB/s> <longest pause s> <second half MB/s>` (tests/bench/one-leecher.mjs, runs of
// two builds interleaved) and prints a Markdown table: each run by tag, then each tag's median transfer.
import { readFileSync } from 'node:fs';

const rows = readFileSync(0, 'utf8')
  .split('\n')
  .map((l) => l.trim().split(/\s+/))
  .filter((f) => f.length === 4 && f.slice(1).every((x) => Number.isFinite(Number(x))));
const tags = [...new Set(rows.map((r) => r[0]))];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const out = ['| build | runs: transfer MB/s (longest pause s) | median transfer MB/s |', '|---|---|---:|'];
for (const tag of tags) {
  const mine = rows.filter((r) => r[0] === tag);
  const runs = mine.map((r) => `${r[1]} (${r[2]})`).join(', ');
  out.push(`| ${tag} | ${runs} | ${median(mine.map((r) => Number(r[1]))).toFixed(1)} |`);
}
console.log(out.join('\n'));
