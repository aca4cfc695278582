// The disk fills up mid-download: the download stops, and Retry after space is freed resumes it without fetching
// verified pieces again.
//
// A real small disk: the recipient's browser profile lives on a tmpfs of its own (mounted by the test, so root
// only), nearly filled with a filler file, so the browser's own write of a piece fails half-way through the file
// (the page sets the file's size aside first, but sparsely: the disk fills as pieces land). The row then says why,
// once (`storage_full`), shows no peers, and the seeder sees the peer leave. The filler is deleted and Retry
// clicked: the download resumes from the stored pieces, a new seeder (the first one left) sends only what was
// missing, and the saved file is byte-exact.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { tempDir } from '../harness/files.mjs';
import {
  assertNoCrash,
  assertSentOnlyWhatWasMissing,
  counters,
  errors,
  openLink,
  saveAndHash,
  seed,
  waitComplete,
  waitCounters,
} from '../harness/app.mjs';

const MB = 1_000_000;
const FILE = 48 * MB;
/** Free space left on the small disk once the filler is written: about half the file. */
const LEFT = 24 * MB;
const skip = process.getuid?.() === 0 ? false : 'mounting the small disk (a tmpfs) needs root';

spec('a_full_disk_stops_the_download_and_retry_resumes_it', { timeout: 180_000, skip }, async (s) => {
  const file = await s.file('storage-full.bin', FILE);
  const disk = await tempDir();
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', disk.path]);
  try {
    const first = await seed(await s.user(), s.server.url, file);
    const recipient = await s.user({ persistent: true, profileParent: disk.path });
    // The profile is on the small disk now (the browser wrote what it writes at start): fill all but LEFT.
    const filler = join(disk.path, 'filler');
    const { bavail, bsize } = await statfs(disk.path);
    await writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - LEFT)));

    const { page, row } = await openLink(recipient, first.link);
    await waitCounters(row, 'the download stopped by the full disk', (c) => c.state === 'error', { timeout: 90_000 });
    const stopped = await counters(row);
    assert.equal(stopped.failure, 'storage_full', await errors(page));
    assert.equal(stopped.peers, 0);
    assert.ok(
      stopped.verifiedPieces > 0 && stopped.verifiedPieces < stopped.totalPieces,
      `${JSON.stringify(stopped)}: ${await errors(page)}`,
    );
    assert.match(await errors(page), /Storage is full.*download stopped/);
    await waitCounters(first.row, 'the seeder seeing the peer leave', (c) => c.peers === 0);
    const sentBefore = (await counters(first.row)).uploadedBytes;
    assert.ok(sentBefore < file.size, `the seeder sent ${sentBefore} bytes: the whole file crossed`);
    await first.page.close();

    // Space freed; a new seeder; Retry.
    await rm(filler);
    const second = await seed(await s.user(), s.server.url, file);
    const retry = row.locator('[data-testid=retry]');
    assert.equal(await retry.isVisible(), true, 'Retry is offered');
    await retry.click();
    await waitCounters(row, 'the download resumed', (c) => c.state !== 'error');
    await waitComplete(row, 120_000);
    assert.equal((await counters(row)).failure, undefined, 'the failure is gone from the row');
    await assertSentOnlyWhatWasMissing(second.row, stopped, file.size);
    assert.equal((await saveAndHash(row)).sha256, file.sha256);
    assertNoCrash(page);
    await recipient.close();
  } finally {
    execFileSync('umount', ['-l', disk.path]);
    await disk.remove();
  }
});
