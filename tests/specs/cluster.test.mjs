// Issue 23: several signaling instances as one service through a real Redis (`signaling --redis`). A browser on
// one instance finds by search, and downloads, a file a browser on another instance shares; an instance killed
// mid-transfer: the transfer goes on peer to peer, its peers come back through nginx (deploy/nginx-cluster.conf)
// on the instance that is left, and a newcomer finds them there; Redis killed: an instance's own swarms keep
// working, and once Redis is back a peer on the other instance finds them again.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spec } from '../harness/scenario.mjs';
import { counters, openApp, openLink, saveAndHash, seed, setListed, waitComplete, waitCounters, waitStatus } from '../harness/app.mjs';
import { until } from '../harness/deadline.mjs';
import { tempDir } from '../harness/files.mjs';
import { startNginx } from '../harness/nginx.mjs';
import { startRedis } from '../harness/redis.mjs';
import { downloadResult, search, waitResult } from '../harness/search.mjs';
import { health, metric, startSignaling } from '../harness/server.mjs';
import { makeCertificate } from '../harness/tls.mjs';

const MiB = 1024 * 1024;

/** Redis and two instances of the service; `args` for both. `stop()` tears all three down. */
async function cluster(args = []) {
  const redis = await startRedis();
  const started = [];
  try {
    for (let i = 0; i < 2; i++) started.push(await startSignaling({ args: ['--redis', redis.url, ...args] }));
  } catch (e) {
    for (const server of started) await server.stop();
    await redis.kill();
    throw e;
  }
  const [a, b] = started;
  return {
    redis,
    a,
    b,
    async stop() {
      await a.stop();
      await b.stop();
      await redis.kill();
    },
  };
}

spec('a_browser_on_one_instance_finds_and_downloads_a_file_shared_on_another', { timeout: 150_000 }, async (s) => {
  const { a, b, stop } = await cluster();
  try {
    const network = `test-${randomBytes(6).toString('hex')}`;
    const file = await s.file('across-instances.mp4', 3 * MiB + 17);
    const seeder = await seed(await s.user(), `${b.url}/?network=${network}`, file);
    await setListed(seeder.row);

    const getter = await openApp(await s.user(), `${a.url}/?network=${network}`);
    await waitStatus(getter, 'connected');
    await search(getter, 'across');
    const item = await waitResult(getter, 'across-instances.mp4');
    const row = await downloadResult(item);
    await waitComplete(row, 90_000);
    const saved = await saveAndHash(row);
    assert.equal(saved.sha256, file.sha256);
    // The two pages met through Redis: each instance relayed to the other.
    assert.ok((await metric(a.url, 'signaling_remote_relays_total{outcome="sent"}')) > 0);
    assert.ok((await metric(b.url, 'signaling_remote_relays_total{outcome="sent"}')) > 0);
    assert.equal(await metric(a.url, 'signaling_peers'), 1);
    assert.equal(await metric(b.url, 'signaling_peers'), 1);
  } finally {
    await stop();
  }
});

spec('an_instance_killed_mid_transfer_the_transfer_goes_on_and_its_peers_come_back_on_another', { timeout: 240_000 }, async (s) => {
  const dir = await tempDir();
  const { cert, key } = await makeCertificate(dir.path);
  const { a, b, stop } = await cluster(['--trust-proxy', '127.0.0.1']);
  const nginx = await startNginx({ upstreams: [a.address, b.address], cert, key }).catch(async (e) => {
    await stop();
    throw e;
  });
  try {
    const file = await s.file('instance-killed.bin', 64 * MiB);
    const seeder = await seed(await s.user({ ignoreHTTPSErrors: true }), nginx.url, file);
    // nginx passed the seeder's session to one of the two: that is the one to kill.
    const peers = async (server) => metric(server.url, 'signaling_peers');
    const home = (await peers(a)) === 1 ? a : b;
    const other = home === a ? b : a;
    assert.equal(await peers(home), 1);
    assert.equal(await peers(other), 0);

    const getter = await openLink(await s.user({ ignoreHTTPSErrors: true }), seeder.link);
    await waitCounters(getter.row, 'a first verified piece', (c) => c.verifiedPieces >= 1);
    await home.kill();
    const atKill = await counters(getter.row);
    assert.ok(atKill.verifiedPieces < atKill.totalPieces, 'the instance was killed mid-transfer');
    await waitComplete(getter.row, 120_000);
    assert.equal((await saveAndHash(getter.row)).sha256, file.sha256);

    // Both pages reconnected through nginx, which passed them to the instance that is left.
    await until(60_000, 'both pages to be back on the other instance', async () => (await peers(other)) === 2);
    await waitStatus(seeder.page, 'connected');
    // With the getter gone, a newcomer can get the file only from the seeder, which it finds there.
    await getter.page.context().close();
    await until(30_000, 'the getter to leave', async () => (await peers(other)) === 1);
    const newcomer = await openLink(await s.user({ ignoreHTTPSErrors: true }), seeder.link);
    await waitComplete(newcomer.row, 120_000);
    assert.equal((await saveAndHash(newcomer.row)).sha256, file.sha256);
  } finally {
    await nginx.stop();
    await stop();
    await dir.remove();
  }
});

spec('with_redis_killed_an_instance_keeps_its_swarms_and_others_find_them_once_it_returns', { timeout: 180_000 }, async (s) => {
  const c = await cluster(['--redis-lease-ms', '3000']);
  let redis = c.redis;
  try {
    await redis.kill();
    await until(30_000, 'instance A to say it is degraded', async () => (await health(c.a.url)).startsWith('degraded'));
    const file = await s.file('redis-down.bin', 4 * MiB + 3);
    const seeder = await seed(await s.user(), c.a.url, file);
    const getter = await openLink(await s.user(), seeder.link);
    await waitComplete(getter.row, 90_000);
    assert.equal((await saveAndHash(getter.row)).sha256, file.sha256);
    assert.equal(await metric(c.a.url, 'signaling_redis_up'), 0);

    redis = await startRedis({ port: c.redis.port });
    await until(30_000, 'both instances to reach Redis again', async () =>
      (await health(c.a.url)) === 'ok\n' && (await health(c.b.url)) === 'ok\n');
    // A's peers are leased in Redis again: a newcomer on B finds them.
    const newcomer = await openLink(await s.user(), seeder.link.replace(c.a.url, c.b.url));
    await waitComplete(newcomer.row, 90_000);
    assert.equal((await saveAndHash(newcomer.row)).sha256, file.sha256);
    assert.ok((await metric(c.b.url, 'signaling_remote_relays_total{outcome="sent"}')) > 0);
  } finally {
    await c.a.stop();
    await c.b.stop();
    await redis.kill();
  }
});
