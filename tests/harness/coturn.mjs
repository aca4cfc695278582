// A real coturn (Debian's `turnserver`) for a test, with the repository's configuration (deploy/turnserver.conf:
// the TURN REST API scheme, quotas, private ranges denied) and only what a test must change on top: a free port of
// the test namespace's 10.77.0.1, the secret, no TLS, and the namespace's own (private) addresses allowed as
// peers. Started by the test, stopped by it.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { within } from './deadline.mjs';
import { tempDir } from './files.mjs';
import { ROOT } from './paths.mjs';

export const TURNSERVER_BIN = process.env.TURNSERVER || '/usr/bin/turnserver';
/** The test namespace's address (scripts/netns.sh) that browsers and peers reach. */
const HOST = '10.77.0.1';

/**
 * An init script (`context.addInitScript(relayOnly)`): only relayed candidates for every connection the page makes
 * (a test-only setting, not a user flag); the connections kept in `window.testPcs`.
 */
export function relayOnly() {
  const Native = window.RTCPeerConnection;
  window.testPcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config = {}) {
      super({ ...config, iceTransportPolicy: 'relay' });
      window.testPcs.push(this);
    }
  };
}

/** A UDP port free right now on HOST (the kernel picks it; coturn binds it a moment later). */
async function freeUdpPort(host) {
  const socket = createSocket('udp4');
  await new Promise((resolve, reject) => socket.bind(0, host, resolve).once('error', reject));
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

/**
 * Starts coturn with `secret` (coturn's `static-auth-secret`); resolves once it listens, with its `turn:` URL and
 * `stop()`. `lines()` gives its last log lines (allocations, refusals).
 */
export async function startCoturn({ secret, realm = 'p2p-test', host = HOST }) {
  const port = await freeUdpPort(host);
  // Its pid file and (unused) user database in a directory of its own, not /var/run and /var/lib.
  const dir = await tempDir();
  // Relay ports: a range of its own per test, away from the listening port.
  const minPort = 40000 + (port % 10000);
  const args = [
    '-c', join(ROOT, 'deploy', 'turnserver.conf'),
    '--verbose', '--no-tls', '--no-dtls', '--no-tcp-relay', '--log-file=stdout',
    `--listening-ip=${host}`, `--listening-port=${port}`, `--relay-ip=${host}`, `--external-ip=${host}`,
    `--min-port=${minPort}`, `--max-port=${minPort + 200}`,
    `--realm=${realm}`, `--static-auth-secret=${secret}`,
    // The namespace's own addresses are private: allowed as peers here, refused by default. (Another `host` is a
    // public one, as in tests/harness/nat.mjs: private addresses stay refused, as in production.)
    ...(host === HOST ? [`--allowed-peer-ip=${HOST}`, '--allowed-peer-ip=10.77.0.2'] : []),
    `--pidfile=${join(dir.path, 'turnserver.pid')}`, `--userdb=${join(dir.path, 'turndb')}`,
  ];
  const child = spawn(TURNSERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  const keep = (line) => {
    log.push(line);
    if (log.length > 200) log.shift();
  };
  createInterface({ input: child.stdout }).on('line', keep);
  createInterface({ input: child.stderr }).on('line', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // Ready once it answers a STUN Binding request (coturn logs nothing when its UDP listener is up).
  const failed = new Promise((_, reject) => {
    child.once('error', (e) => reject(new Error(`cannot start ${TURNSERVER_BIN}: ${e.message}`)));
    exited.then(({ code, signal }) => reject(new Error(`coturn exited (${code ?? signal}):\n${log.join('\n')}`)));
  });
  await within(15_000, 'coturn to answer STUN', Promise.race([stunAnswered(host, port), failed])).catch(async (e) => {
    child.kill('SIGKILL');
    await dir.remove();
    throw e;
  });
  return {
    url: `turn:${host}:${port}?transport=udp`,
    lines: () => [...log],
    async stop() {
      child.kill('SIGTERM');
      await within(10_000, 'coturn to stop', exited).catch(() => child.kill('SIGKILL'));
      await dir.remove();
    },
  };
}

/** Resolves once a STUN Binding request to host:port is answered (sent again every 100 ms until then). */
async function stunAnswered(host, port) {
  const socket = createSocket('udp4');
  // Binding request: type 0x0001, length 0, the magic cookie, a random transaction id (RFC 5389).
  const request = Buffer.concat([Buffer.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]), randomBytes(12)]);
  try {
    await new Promise((resolve, reject) => {
      socket.once('message', resolve);
      socket.once('error', reject);
      const send = () => socket.send(request, port, host);
      const timer = setInterval(send, 100);
      socket.once('message', () => clearInterval(timer));
      send();
    });
  } finally {
    socket.close();
  }
}
