// A real redis-server (Debian's, or $REDIS_SERVER) for the multi-instance specs: on a free loopback port, without
// persistence, started by the test and stopped (or killed, to simulate an outage) by it.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { within } from './deadline.mjs';
import { tempDir } from './files.mjs';

export const REDIS_BIN = process.env.REDIS_SERVER || '/usr/bin/redis-server';

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts redis-server (on `port`, to bring it back where the instances look for it); resolves once it is ready. */
export async function startRedis({ port = null } = {}) {
  port ??= await freePort();
  const dir = await tempDir();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir.path];
  const child = spawn(REDIS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await within(
    15_000,
    'redis-server to be ready',
    new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        log.push(line);
        if (log.length > 50) log.shift();
        if (line.includes('Ready to accept connections')) resolve();
      });
      child.once('error', (e) => reject(new Error(`cannot run ${REDIS_BIN} (npm test installs it): ${e.message}`)));
      exited.then(({ code, signal }) => reject(new Error(`redis-server exited (${code ?? signal}):\n${log.join('\n')}`)));
    }),
  ).catch(async (e) => {
    child.kill('SIGKILL');
    await dir.remove();
    throw e;
  });
  let running = true;
  exited.then(() => (running = false));
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** SIGKILL, as an outage would; resolves once it is gone. */
    async kill() {
      if (running) child.kill('SIGKILL');
      await exited;
      await dir.remove();
    },
  };
}
