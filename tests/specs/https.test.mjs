// The app over https, served by the signaling server itself (--tls-cert, --tls-key, a certificate the test makes
// for 127.0.0.1), and swarm-peer over wss trusting it with --ca-cert: a file goes native -> browser and browser ->
// native byte-exact, and the page on that https origin has the private file system: a reload mid-download
// resumes from the pieces it stored there.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { assertNoCrash, counters, openLink, reloadAndRestore, saveAndHash, seed, waitComplete, waitCounters }
  from '../harness/app.mjs';
import { tempDir } from '../harness/files.mjs';
import { haveSwarmPeer, nativeGet, nativeSeed, SWARM_PEER_BIN } from '../harness/native-peer.mjs';
import { startSignaling } from '../harness/server.mjs';
import { makeCertificate } from '../harness/tls.mjs';

const MiB = 1024 * 1024;
const skip = haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`;

/** An https signaling server serving a certificate of a test authority; `cert` is the authority's, for --ca-cert. */
async function httpsServer(dir) {
  const { ca, cert, key } = await makeCertificate(dir);
  const server = await startSignaling({ args: ['--tls-cert', cert, '--tls-key', key] });
  assert.match(server.url, /^https:\/\//);
  return { server, cert: ca };
}

spec('over_https_and_wss_files_go_both_ways_and_a_reload_resumes', { timeout: 180_000, skip }, async (s) => {
  const dir = await tempDir();
  const { server, cert } = await httpsServer(dir.path);
  const trust = ['--ca-cert', cert];
  try {
    // Native -> browser, paced so the reload comes mid-download.
    const file = await s.file('over-https.bin', 8 * MiB + 5);
    let native = await nativeSeed(server.url, file, [...trust, '--max-upload-rate', '2MB/s']);
    const { page, row } = await openLink(await s.user({ ignoreHTTPSErrors: true }), native.link);
    assert.ok(native.link.startsWith('https://'), native.link);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    await waitCounters(row, 'a quarter of the pieces', (c) => c.totalPieces > 0 && c.verifiedPieces * 4 >= c.totalPieces);
    await native.peer.stop();
    await waitCounters(row, 'the seeder gone', (c) => c.peers === 0);
    const before = await counters(row);
    assert.ok(before.verifiedPieces < before.totalPieces, 'the reload happens mid-download');
    // Nobody has the file now: these pieces come from the page's private file system on the https origin.
    const resumed = await reloadAndRestore(page, before.verifiedPieces);
    native = await nativeSeed(server.url, file, trust);
    try {
      await waitComplete(resumed, 120_000);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.storage), 'opfs-worker');
      assert.equal((await saveAndHash(resumed)).sha256, file.sha256);
    } finally {
      await native.peer.stop();
    }
    assertNoCrash(page);

    // Browser -> native.
    const back = await s.file('back-over-wss.bin', 3 * MiB + 1);
    const { link } = await seed(await s.user({ ignoreHTTPSErrors: true }), server.url, back);
    const out = join(dir.path, 'native-copy.bin');
    await nativeGet(server.url, link, out, back.sha256, trust);
  } finally {
    await server.stop();
    await dir.remove();
  }
});
