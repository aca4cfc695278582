#!/usr/bin/env node
// Replaces the section of BENCHMARKS.md between `<!-- BEGIN name -->` and `<!-- END name -->` with standard input,
// so that every figure in BENCHMARKS.md is written by the benchmark that measured it, never typed by hand.
// Usage: some-benchmark | node scripts/bench-section.mjs <name>
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const name = process.argv[2];
if (!name || !/^[a-z0-9-]+$/.test(name)) {
  console.error('usage: <benchmark> | node scripts/bench-section.mjs <section-name>  (a-z, 0-9, -)');
  process.exit(2);
}
const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'BENCHMARKS.md');
const body = readFileSync(0, 'utf8').trimEnd();
const begin = `<!-- BEGIN ${name} -->`;
const end = `<!-- END ${name} -->`;
let doc = readFileSync(file, 'utf8');
const i = doc.indexOf(begin);
const j = doc.indexOf(end);
const stamp = `_Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC._`;
const block = `${begin}\n${stamp}\n\n${body}\n${end}`;
if (i >= 0 && j > i) {
  doc = doc.slice(0, i) + block + doc.slice(j + end.length);
} else {
  doc = doc.trimEnd() + `\n\n${block}\n`;
}
writeFileSync(file, doc);
console.error(`BENCHMARKS.md: section ${name} updated`);
