// PROTOCOL.md 2.10 across stacks: a swarm-peer that takes data-channel messages of 64 KiB (RFC 8841's default,
// and some stacks' only size) seeds to Chromium and Firefox, which read the connection's size from
// `pc.sctp.maxMessageSize` and ask for their 128 KiB blocks in 32 KiB parts (whole blocks would be refused), and
// downloads from a Chromium seeder, which sends it nothing longer. Every copy is byte-exact.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { openLink, saveAndHash, seed, waitComplete } from '../harness/app.mjs';
import * as firefox from '../harness/firefox.mjs';
import { tempDir } from '../harness/files.mjs';
import { haveSwarmPeer, nativeGet, nativeSeed, SWARM_PEER_BIN } from '../harness/native-peer.mjs';

const skip = haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`;
const MiB = 1024 * 1024;
const SIXTY_FOUR_KIB = ['--max-message-size', '65536'];

spec('browsers_download_from_a_native_seeder_that_takes_64_kib_messages', { timeout: 180_000, skip }, async (s) => {
  const file = await s.file('narrow-seeder.bin', 5 * MiB + 4_321);
  const { peer, link } = await nativeSeed(s.server.url, file, SIXTY_FOUR_KIB);
  try {
    const [chromium, gecko] = await Promise.all([
      openLink(await s.user(), link),
      firefox.openLink(await s.firefoxUser(), link),
    ]);
    await Promise.all([waitComplete(chromium.row, 120_000), firefox.waitComplete(gecko.row, 120_000)]);
    for (const saved of [await saveAndHash(chromium.row), await firefox.saveAndHash(gecko.row)]) {
      assert.equal(saved.size, file.size);
      assert.equal(saved.sha256, file.sha256);
    }
    firefox.assertNoCrash(gecko.page);
    assert.doesNotMatch(peer.stderr(), /peer cannot send|refused/, 'a browser asked for what did not fit');
  } finally {
    await peer.stop();
  }
});

spec('native_that_takes_64_kib_messages_downloads_from_a_browser_seeder', { timeout: 180_000, skip }, async (s) => {
  const file = await s.file('narrow-leecher.bin', 5 * MiB + 4_321);
  const { link } = await seed(await s.user(), s.server.url, file);
  const dir = await tempDir();
  try {
    await nativeGet(s.server.url, link, join(dir.path, 'native-copy.bin'), file.sha256, SIXTY_FOUR_KIB);
  } finally {
    await dir.remove();
  }
});
