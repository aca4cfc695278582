// A download is restored from both storage layouts (peer-wasm/src/storage.rs), also mixed in one download: pieces
// at their offsets in the content's data file (today's layout) and pieces in files of their own (the layout of
// earlier versions, and of the page-thread fallback). A piece whose range of the data file is damaged is not
// counted, and is fetched again; everything else is not.
//
// A leecher downloads a file completely and closes its tab. A same-origin page without the app then moves every
// even piece out of the data file into its own piece file (zeroing its range in the data file, so only the piece
// file has it), overwrites part of piece 1's range with garbage and appends garbage past the content's end. The
// reopened app must count every piece but piece 1, from its own storage (no peer is online); a new seeder must then
// send piece 1 and nothing more, and the saved file must be the original.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import {
  assertNoCrash,
  counters,
  downloadRow,
  openApp,
  openLink,
  saveAndHash,
  seed,
  waitComplete,
  waitCounters,
} from '../harness/app.mjs';

const MiB = 1024 * 1024;
/** The piece whose range of the data file is damaged: an odd one, so it stays in the data file. */
const DAMAGED = 1;

/** Runs in a same-origin page with no app in it: rewrites the stored download as described above. */
async function mixLayouts({ pieceSize, damaged }) {
  const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('p2p-share');
  const dirs = [];
  for await (const [, handle] of root.entries()) if (handle.kind === 'directory') dirs.push(handle);
  if (dirs.length !== 1) throw new Error(`expected one stored download, found ${dirs.length}`);
  const [dir] = dirs;
  const dataHandle = await dir.getFileHandle('data');
  const data = new Uint8Array(await (await dataHandle.getFile()).arrayBuffer());
  const pieces = Math.ceil(data.length / pieceSize);
  const writable = await dataHandle.createWritable({ keepExistingData: true });
  let moved = 0;
  for (let i = 0; i < pieces; i += 2) {
    const bytes = data.slice(i * pieceSize, Math.min((i + 1) * pieceSize, data.length));
    const own = await (await dir.getFileHandle(`p${i}`, { create: true })).createWritable();
    await own.write(bytes);
    await own.close();
    await writable.write({ type: 'write', position: i * pieceSize, data: new Uint8Array(bytes.length) });
    moved += 1;
  }
  await writable.write({
    type: 'write',
    position: damaged * pieceSize + 100,
    data: crypto.getRandomValues(new Uint8Array(1000)),
  });
  // Bytes past the content's end, which Save must leave out.
  await writable.write({ type: 'write', position: data.length, data: crypto.getRandomValues(new Uint8Array(777)) });
  await writable.close();
  return { size: data.length, pieces, moved };
}

const NAME = 'download_restores_from_piece_files_and_data_file_and_refetches_only_a_damaged_piece';

spec(NAME, { timeout: 120_000 }, async (s) => {
  const file = await s.file('restore-layouts.bin', 4 * MiB + 4_321);
  const first = await seed(await s.user(), s.server.url, file);
  const context = await s.user();
  const leecher = await openLink(context, first.link);
  await waitComplete(leecher.row, 60_000);
  const { totalPieces } = await counters(leecher.row);
  // Piece sizes are powers of two (PROTOCOL.md 1.6): the one for which `totalPieces` pieces hold the file.
  const pieceSize = 2 ** Math.ceil(Math.log2(file.size / totalPieces));
  assert.ok((totalPieces - 1) * pieceSize < file.size && file.size <= totalPieces * pieceSize);
  await leecher.page.close();
  await first.page.close();

  const other = await context.newPage();
  await other.goto(`${s.server.url}/style.css`);
  const mixed = await other.evaluate(mixLayouts, { pieceSize, damaged: DAMAGED });
  await other.close();
  assert.equal(mixed.size, file.size, 'the data file held the whole download');
  assert.equal(mixed.pieces, totalPieces);
  assert.ok(mixed.moved >= 2, 'pieces were moved to files of their own');

  const page = await openApp(context, s.server.url);
  const row = downloadRow(page);
  await row.waitFor();
  // Nobody has the file now: whatever is verified comes from the page's own storage.
  await waitCounters(row, 'every intact piece restored', (c, n) => c.verifiedPieces >= n, {
    arg: totalPieces - 1,
    timeout: 30_000,
  });
  const restored = await counters(row);
  assert.equal(restored.verifiedPieces, totalPieces - 1, 'the damaged piece is not counted');
  assert.notEqual(restored.state, 'complete');

  const second = await seed(await s.user(), s.server.url, file);
  await waitComplete(row, 60_000);
  // The seeder's counters are refreshed on its own timer: wait for them to count the upload, then compare.
  await waitCounters(second.row, "the seeder's upload counted", (c, n) => c.uploadedBytes >= n, {
    arg: pieceSize,
    timeout: 30_000,
  });
  const sent = (await counters(second.row)).uploadedBytes;
  assert.equal(sent, pieceSize, 'the new seeder sent the damaged piece and nothing more');
  const saved = await saveAndHash(row);
  assert.equal(saved.size, file.size);
  assert.equal(saved.sha256, file.sha256);
  assertNoCrash(page);
});
