// Behind nginx with the repository's configuration (deploy/nginx-site.conf): nginx terminates TLS and passes the
// app and its WebSocket to the signaling server, which trusts it (--trust-proxy 127.0.0.1) to name the clients.
// Two users move a file through it (the two-users flow), and swarm-peer downloads one over wss through it; and
// the per-address limits count the clients nginx names only when the server trusts it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { spec } from '../harness/scenario.mjs';
import { openLink, saveAndHash, seed, waitComplete } from '../harness/app.mjs';
import { tempDir } from '../harness/files.mjs';
import { haveSwarmPeer, nativeGet, SWARM_PEER_BIN } from '../harness/native-peer.mjs';
import { startNginx } from '../harness/nginx.mjs';
import { startSignaling } from '../harness/server.mjs';
import { makeCertificate } from '../harness/tls.mjs';

const MiB = 1024 * 1024;
const skip = haveSwarmPeer() ? false : `no ${SWARM_PEER_BIN} (cargo test builds it)`;

spec('through_nginx_two_users_and_swarm_peer_move_files', { timeout: 120_000, skip }, async (s) => {
  const dir = await tempDir();
  const { ca, cert, key } = await makeCertificate(dir.path);
  const server = await startSignaling({ args: ['--trust-proxy', '127.0.0.1'] });
  const nginx = await startNginx({ upstream: new URL(server.url).host, cert, key }).catch(async (e) => {
    await server.stop();
    throw e;
  });
  try {
    const file = await s.file('through-nginx.bin', 3 * MiB + 9);
    const { link } = await seed(await s.user({ ignoreHTTPSErrors: true }), nginx.url, file);
    assert.ok(link.startsWith(`${nginx.url}/#`), link);
    const { row } = await openLink(await s.user({ ignoreHTTPSErrors: true }), link);
    await waitComplete(row, 60_000);
    assert.equal((await saveAndHash(row)).sha256, file.sha256);

    await nativeGet(nginx.url, link, join(dir.path, 'native-copy.bin'), file.sha256, ['--ca-cert', ca]);
    // Every session came through nginx and was admitted for the client it named: none refused.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /upgrades_refused_total\{[^}]*\} [1-9]/, metrics);
  } finally {
    await nginx.stop();
    await server.stop();
    await dir.remove();
  }
});

/**
 * A WebSocket handshake through nginx from `localAddress` (one of the namespace's two addresses, so two clients
 * can be told apart); resolves with the HTTP status: 101 when the server took the session.
 */
function handshake(url, localAddress) {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(`${url}/ws`, {
      localAddress,
      rejectUnauthorized: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    });
    request.once('upgrade', (response, socket) => {
      sessions.push(socket);
      resolve(response.statusCode);
    });
    request.once('response', (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.once('error', reject);
    request.end();
  });
}
/** Open sessions, closed at the end of a test. */
const sessions = [];

spec('behind_nginx_the_per_address_limit_counts_the_client_only_with_trust_proxy', { timeout: 60_000 }, async () => {
  const dir = await tempDir();
  const { cert, key } = await makeCertificate(dir.path);
  try {
    for (const trust of [true, false]) {
      const args = ['--max-connections-per-ip', '1', ...(trust ? ['--trust-proxy', '127.0.0.1'] : [])];
      const server = await startSignaling({ args });
      const nginx = await startNginx({ upstream: new URL(server.url).host, cert, key });
      try {
        const first = await handshake(nginx.url, '10.77.0.1');
        const other = await handshake(nginx.url, '10.77.0.2');
        const again = await handshake(nginx.url, '10.77.0.1');
        if (trust) {
          // Two clients, each within its limit; the first one's second session is over it.
          assert.deepEqual([first, other, again], [101, 101, 503]);
        } else {
          // Every session is nginx's (127.0.0.1): the second client is refused as if it were the first.
          assert.equal(first, 101);
          assert.notEqual(other, 101, 'a second client got a session though nginx holds its one');
        }
      } finally {
        for (const socket of sessions.splice(0)) socket.destroy();
        await nginx.stop();
        await server.stop();
      }
    }
  } finally {
    await dir.remove();
  }
});
