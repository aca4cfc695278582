// Test files generated on the fly (random bytes) and SHA-256 of files, streamed so 1 GiB needs no 1 GiB buffer.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

/** Info-ZIP's unzip (scripts/lib/ensure.sh installs it and sets UNZIP_BIN). */
const UNZIP = process.env.UNZIP_BIN || 'unzip';
/** This environment without UNZIP and UNZIPOPT, which unzip reads as default options. */
const UNZIP_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'UNZIP' && k !== 'UNZIPOPT'));

/** Written in 1 MiB chunks: large enough to be fast, small enough to keep the test's memory flat. */
const CHUNK = 1 << 20;

/** A fresh temporary directory; `remove()` deletes it with everything in it. */
export async function tempDir() {
  const path = await mkdtemp(join(tmpdir(), 'p2p-share-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Writes `size` random bytes to `dir/name`; returns its path, size and SHA-256 (hex). */
export async function randomFile(dir, name, size) {
  const path = join(dir, name);
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  try {
    for (let written = 0; written < size; ) {
      const chunk = randomBytes(Math.min(CHUNK, size - written));
      hash.update(chunk);
      await file.write(chunk);
      written += chunk.length;
    }
  } finally {
    await file.close();
  }
  return { path, name, size, sha256: hash.digest('hex') };
}

/** SHA-256 (hex) of a file's bytes. */
export async function sha256File(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Writes a folder at `root` of random files, `layout` being `[path in the folder, size]` pairs (`/` between
 * folders); returns a Map of each path to its SHA-256.
 */
export async function makeTree(root, layout) {
  const expected = new Map();
  for (const [path, size] of layout) {
    const parts = path.split('/');
    const dir = join(root, ...parts.slice(0, -1));
    await mkdir(dir, { recursive: true });
    expected.set(path, (await randomFile(dir, parts.at(-1), size)).sha256);
  }
  return expected;
}

/** Every regular file under `root`, as a Map of its path under `root` (`/` between folders) to its SHA-256. */
export async function treeHashes(root) {
  const found = new Map();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = relative(root, join(entry.parentPath, entry.name)).split(sep).join('/');
    found.set(path, await sha256File(join(root, path)));
  }
  return found;
}

/** Every file of the zip at `zipPath` (read by Info-ZIP's `unzip`), as a Map of its name to its SHA-256. */
export async function zipHashes(zipPath) {
  const names = execFileSync(UNZIP, ['-Z1', zipPath], { encoding: 'utf8', env: UNZIP_ENV }).split('\n').filter(Boolean);
  const found = new Map();
  for (const name of names.filter((n) => !n.endsWith('/'))) {
    const hash = createHash('sha256');
    // `unzip -p` pipes the bytes; wildcards in the name are escaped so that it matches only itself.
    const child = spawn(UNZIP, ['-p', zipPath, name.replace(/[[\]*?\\]/g, '\\$&')], { env: UNZIP_ENV });
    for await (const chunk of child.stdout) hash.update(chunk);
    const code = await new Promise((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`unzip -p ${zipPath} ${name} exited with ${code}`);
    found.set(name, hash.digest('hex'));
  }
  return found;
}
