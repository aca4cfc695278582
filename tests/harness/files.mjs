// Test files generated on the fly (random bytes) and SHA-256 of files, streamed so 1 GiB needs no 1 GiB buffer.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
