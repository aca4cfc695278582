// A native peer that serves corrupt blocks (swarm-peer --lie, test builds only) and an honest native seeder: the
// browser downloader bans the liar, says so, and still saves the exact bytes.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { counters, openLink, saveAndHash, unlessCrash, waitComplete } from '../harness/app.mjs';
import { nativeSeed, SWARM_PEER_BIN, swarmPeerCanLie } from '../harness/native-peer.mjs';

const skip = swarmPeerCanLie() ? false : `${SWARM_PEER_BIN} missing or built without the lying feature (cargo test builds it with)`;
const MiB = 1024 * 1024;

spec('browser_bans_a_lying_native_peer_and_saves_the_exact_bytes', { timeout: 180_000, skip }, async (s) => {
  const file = await s.file('liar.bin', 4 * MiB);
  // The liar alone first: every block it serves is corrupt, so the ban does not depend on which peer the page
  // happens to ask for which piece (with both peers there from the start, the honest one could serve everything).
  const liar = await nativeSeed(s.server.url, file, ['--lie']);
  let honest;
  try {
    const { page, row } = await openLink(await s.user(), liar.link);
    await unlessCrash(
      page,
      page.waitForFunction(
        () => [...document.querySelectorAll('[data-testid=error]')].some((e) => /ban/i.test(e.textContent)),
        null,
        { timeout: 60_000, polling: 100 },
      ),
    );
    const before = await counters(row);
    assert.equal(before.verifiedPieces, 0, 'no corrupt piece was taken as verified');

    honest = await nativeSeed(s.server.url, file);
    assert.equal(honest.link, liar.link, 'both seed the same content');
    await waitComplete(row, 120_000);
    const saved = await saveAndHash(row);
    assert.equal(saved.sha256, file.sha256);
  } finally {
    await liar.peer.stop();
    await honest?.peer.stop();
  }
});
