// Scenario 2: one seeder, three leechers at once: all complete with the right bytes, and the leechers received at
// least a third of their bytes from each other rather than from the seeder (proves re-sharing).
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { counters, openLink, saveAndHash, seed, waitComplete } from '../harness/app.mjs';

const MiB = 1024 * 1024;
const LEECHERS = 3;

spec('three_leechers_get_a_third_of_their_bytes_from_each_other', { timeout: 180_000 }, async (s) => {
  const file = await s.file('resharing.bin', 32 * MiB);
  const { row: shareRow, link } = await seed(await s.user(), s.server.url, file);

  // At once, as the scenario says: each leecher's window is open first, then all open the link together. Opened one
  // after the other, the first leecher had the seeder alone for a page load or two (a large part of 32 MiB here)
  // and the bytes it took then could only come from the seeder.
  const users = [];
  for (let i = 0; i < LEECHERS; i++) users.push(await s.user());
  const pages = await Promise.all(users.map((user) => user.newPage()));
  const leechers = await Promise.all(users.map((user, i) => openLink(user, link, pages[i])));
  for (const { row } of leechers) await waitComplete(row, 150_000);

  for (const { row } of leechers) {
    const saved = await saveAndHash(row);
    assert.equal(saved.sha256, file.sha256);
  }
  const received = [];
  const sentToOthers = [];
  for (const { row } of leechers) {
    const c = await counters(row);
    received.push(c.downloadedBytes);
    sentToOthers.push(c.uploadedBytes);
  }
  const seederSent = (await counters(shareRow)).uploadedBytes;
  const totalReceived = received.reduce((a, b) => a + b, 0);
  const fromEachOther = sentToOthers.reduce((a, b) => a + b, 0);
  assert.ok(totalReceived >= LEECHERS * file.size, `leechers received ${totalReceived} bytes in all`);
  // Every byte a leecher received came from the seeder or from another leecher.
  assert.ok(
    fromEachOther * 3 >= totalReceived,
    `leechers sent each other ${fromEachOther} of the ${totalReceived} bytes they received (seeder sent ${seederSent})`,
  );
});
