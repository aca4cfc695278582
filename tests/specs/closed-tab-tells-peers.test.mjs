// A tab that goes tells its peers at once. On `pagehide` the page says goodbye on every channel and closes its
// connections, so a downloader sees its seeder go right away and not from its timeouts (ICE consent and the
// swarm's idle timeout took 18 to 28 s here before). A tab whose goodbye never reaches a peer (its renderer killed;
// a Firefox downloader missed 3 closes in 14) is seen gone from the server's `peer_left` once its channel has
// stayed silent for the departure grace (3 s). The guards below are under the grace for the goodbye, and far under
// the timeouts for the server's word.
import { spec } from '../harness/scenario.mjs';
import { assertNoCrash, openLink, seed, waitCounters } from '../harness/app.mjs';

const MiB = 1024 * 1024;
/** Far under the 18 s the timeouts took at the least: the server's word is seen in under 4 s. */
const TOLD_WITHIN_MS = 8_000;
/** Under the departure grace (3 s): only the goodbye or the closed connection tells the downloader this fast. */
const GOODBYE_WITHIN_MS = 2_500;

/** A seeder of a 64 MiB file and a downloader that has its first piece from it. */
async function downloading(s) {
  const file = await s.file('closed-tab.bin', 64 * MiB);
  const seeder = await seed(await s.user(), s.server.url, file);
  const { page, row } = await openLink(await s.user(), seeder.link);
  await waitCounters(row, 'a first piece from the seeder', (c) => c.verifiedPieces >= 1 && c.peers === 1);
  return { seeder, page, row };
}

spec('a_closing_tab_tells_its_peers_at_once', { timeout: 120_000 }, async (s) => {
  const { seeder, page, row } = await downloading(s);
  await seeder.page.close();
  await waitCounters(row, 'the downloader seeing its seeder go', (c) => c.peers === 0, { timeout: GOODBYE_WITHIN_MS });
  assertNoCrash(page);
});

spec('a_tab_that_crashes_is_seen_gone_from_the_servers_word', { timeout: 120_000 }, async (s) => {
  const { seeder, page, row } = await downloading(s);
  // The renderer dies on the spot: no pagehide, no goodbye, no connection closed. Only its socket to the server
  // closes (the browser holds it), and the server tells the swarm it left.
  const cdp = await seeder.page.context().newCDPSession(seeder.page);
  const crashed = new Promise((resolve) => seeder.page.once('crash', resolve));
  // The command gets no answer from a renderer that died.
  cdp.send('Page.crash').catch(() => {});
  await crashed;
  await waitCounters(row, 'the downloader seeing its seeder go', (c) => c.peers === 0, { timeout: TOLD_WITHIN_MS });
  assertNoCrash(page);
});
