// The real signaling server binary on a real port: started per test, stopped (and restarted) on demand.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SIGNALING_BIN, WWW } from './paths.mjs';
import { within } from './deadline.mjs';

/** Time for the binary to bind and print its address, in milliseconds (a debug build starts in well under 1 s). */
const START_TIMEOUT_MS = 30_000;
/** Time for a graceful shutdown before SIGKILL, in milliseconds. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * Starts `signaling --listen LISTEN --www www/` and resolves once it printed `listening on http://ADDR`.
 * `listen` defaults to port 0 (a free port); pass the address of a stopped server to restart it on the same port.
 */
export async function startSignaling({ listen = '127.0.0.1:0', args = [] } = {}) {
  const child = spawn(SIGNALING_BIN, ['--listen', listen, '--www', WWW, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { RUST_LOG: 'warn', ...process.env },
  });
  // The last lines of stderr, for the failure message (bounded: a chatty server must not grow the test's memory).
  const stderr = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 50) stderr.shift();
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines = createInterface({ input: child.stdout });
  const url = await within(
    START_TIMEOUT_MS,
    `${SIGNALING_BIN} to print "listening on http://ADDR"`,
    new Promise((resolve, reject) => {
      lines.on('line', (line) => {
        const m = /^listening on (https?:\/\/\S+)$/.exec(line.trim());
        if (m) resolve(m[1]);
      });
      child.once('error', (e) => reject(new Error(`cannot start ${SIGNALING_BIN}: ${e.message}`)));
      exited.then(({ code, signal }) =>
        reject(new Error(`signaling exited (${code ?? signal}) before listening:\n${stderr.join('\n')}`)),
      );
    }),
  ).catch((e) => {
    child.kill('SIGKILL');
    throw e;
  });
  let running = true;
  exited.then(() => (running = false));
  return {
    /** `http://127.0.0.1:PORT`, no trailing slash. */
    url: url.replace(/\/$/, ''),
    /** `127.0.0.1:PORT`, to restart on the same port. */
    address: new URL(url).host,
    get running() {
      return running;
    },
    stderr: () => stderr.join('\n'),
    /** SIGKILL, as a crash or a lost machine would; resolves once the process is gone. */
    async kill() {
      if (!running) return;
      child.kill('SIGKILL');
      await exited;
    },
    /** SIGTERM (graceful shutdown), SIGKILL if it does not exit in time; resolves once the process is gone. */
    async stop() {
      if (!running) return;
      child.kill('SIGTERM');
      try {
        await within(STOP_TIMEOUT_MS, 'signaling to exit on SIGTERM', exited);
      } catch {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** The value of one sample line of `serverUrl`'s `/metrics` (`name{labels} value`), 0 when absent. */
export async function metric(serverUrl, sample) {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

/** The body of `serverUrl`'s `/healthz`. */
export async function health(serverUrl) {
  return (await fetch(`${serverUrl}/healthz`)).text();
}
