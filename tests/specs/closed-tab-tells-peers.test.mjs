// A tab that closes tells its peers at once: on `pagehide` the page says goodbye on every channel and closes its
// connections, so a downloader sees its seeder go right away and not from its timeouts (ICE consent and the
// swarm's idle timeout took 18 to 28 s here before). The guard below is far under that.
import { spec } from '../harness/scenario.mjs';
import { assertNoCrash, openLink, seed, waitCounters } from '../harness/app.mjs';

const MiB = 1024 * 1024;
/** Far under the 18 s the timeouts took at the least: a goodbye or a closed connection is seen in well under a second. */
const TOLD_WITHIN_MS = 8_000;

spec('a_closing_tab_tells_its_peers_at_once', { timeout: 120_000 }, async (s) => {
  const file = await s.file('closed-tab.bin', 64 * MiB);
  const seeder = await seed(await s.user(), s.server.url, file);
  const { page, row } = await openLink(await s.user(), seeder.link);
  await waitCounters(row, 'a first piece from the seeder', (c) => c.verifiedPieces >= 1 && c.peers === 1);
  await seeder.page.close();
  await waitCounters(row, 'the downloader seeing its seeder go', (c) => c.peers === 0, { timeout: TOLD_WITHIN_MS });
  assertNoCrash(page);
});
