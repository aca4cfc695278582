#!/usr/bin/env node
// The browser suite: every `tests/specs/*.test.mjs`, one file at a time (2 cores: browsers in parallel would slow
// each other into timeouts), with node's built-in test runner. `node tests/run.mjs WORD...` runs only the spec
// files whose name contains one of the words. scripts/test.sh runs this inside the private network namespace.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, ROOT } from './harness/paths.mjs';

const dir = join(ROOT, 'tests', 'specs');
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.mjs'))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort()
  .map((f) => join(dir, f));
if (files.length === 0) {
  console.error(`no spec file in ${dir} matches ${filters.join(' ')}`);
  process.exit(1);
}
// Failure pictures of an earlier run would be mistaken for this run's.
const earlier = existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS) : [];
for (const name of earlier.filter((n) => n.startsWith('failed-'))) rmSync(join(ARTIFACTS, name));
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  cwd: ROOT,
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
