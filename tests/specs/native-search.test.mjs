// Issue 7, native side: discovery between the page and the command-line peer. Each test uses a fresh private
// network (`?network=` for the page, `--network` for swarm-peer), so only its own peers answer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { openApp, seed, setListed, waitStatus } from '../harness/app.mjs';
import { ROOT } from '../harness/paths.mjs';
import { haveSwarmPeer, nativeSearch, nativeSeed, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

const skip = haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`;
// The page's discovery (`?network=`, announcing, the search box) comes with its harness, tests/harness/search.mjs.
const noBrowserDiscovery =
  !existsSync(join(ROOT, 'tests', 'harness', 'search.mjs')) && 'no page discovery yet (tests/harness/search.mjs)';
const MiB = 1024 * 1024;

const freshNetwork = () => `test-${randomBytes(6).toString('hex')}`;

const browserSearchSkip = skip || noBrowserDiscovery;

spec('native_search_finds_a_file_a_browser_shares', { timeout: 150_000, skip: browserSearchSkip }, async (s) => {
  const network = freshNetwork();
  const url = `${s.server.url}/?network=${network}`;
  const video = await s.file('holiday-video.mp4', 2 * MiB + 4_321);
  const other = await s.file('tax-return-2026.pdf', 20_000);
  // A second user shares something that does not match: the first (and only) result must still be the video.
  await setListed((await seed(await s.user(), url, other)).row);
  const { link, row } = await seed(await s.user(), url, video);
  await setListed(row);
  const id = link.split('#')[1];

  // --first: exits at the first result; --wait bounds the listening once a neighbour is reached.
  const found = await nativeSearch(s.server.url, network, ['holiday'], ['--first', '--wait', '60']);

  assert.equal(found.code, 0, `swarm-peer search failed:\n${found.stderr}`);
  assert.equal(found.results.length, 1, `one result expected:\n${JSON.stringify(found.results)}`);
  const [hit] = found.results;
  assert.equal(hit.content, id, 'the result is the content id the page shows');
  assert.equal(hit.link, link, 'the printed link is the link the page shows');
  assert.equal(hit.size, video.size);
  assert.equal(hit.name, 'holiday-video.mp4');
});

spec('a_file_shared_from_a_page_and_from_swarm_peer_has_one_link', { timeout: 120_000, skip }, async (s) => {
  // Both peers name the media type from the extension with the core's table (never the browser's File.type), so
  // the same bytes under the same name are one content: one link, one search result with two sources. An
  // extension in the table, one the browser knows but the table does not, and one nobody knows.
  for (const name of ['holiday-video.mp4', 'notes.rtf', 'data.unknownext']) {
    const file = await s.file(name, 300_000);
    const page = await seed(await s.user(), s.server.url, file);
    const { peer, link } = await nativeSeed(s.server.url, file);
    try {
      assert.equal(link, page.link, `${name}: one link from the page and from swarm-peer`);
    } finally {
      await peer.stop();
    }
  }
});

spec('browser_search_finds_a_file_swarm_peer_shares', { timeout: 150_000, skip: browserSearchSkip }, async (s) => {
  // Imported here: the file is not there before the page has discovery.
  const { search, waitResult } = await import('../harness/search.mjs');
  const network = freshNetwork();
  const video = await s.file('holiday-video.mp4', 1 * MiB + 99);
  const { peer, link } = await nativeSeed(s.server.url, video, ['--network', network], { list: true });
  try {
    const page = await openApp(await s.user(), `${s.server.url}/?network=${network}`);
    await waitStatus(page, 'connected');
    await search(page, 'holiday');
    const item = await waitResult(page, 'holiday-video.mp4');
    assert.equal(await item.getAttribute('data-content'), link.split('#')[1], 'the content swarm-peer shares');
  } finally {
    await peer.stop();
  }
});
