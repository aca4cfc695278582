// A real nginx (Debian's) for a test, with the repository's site configuration (deploy/nginx-site.conf) and only
// what a test must change in it: its port (on the test namespace's 10.77.0.1, so that the clients it names are
// not the trusted proxy's own 127.0.0.1; no IPv6 listener), the certificate paths and the
// signaling server it passes to. Every replacement must apply, so a change to the file that a test no longer
// covers fails here. Started by the test (no daemon, files in a temp dir), stopped by it.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { within } from './deadline.mjs';
import { tempDir } from './files.mjs';
import { ROOT } from './paths.mjs';

export const NGINX_BIN = process.env.NGINX || '/usr/sbin/nginx';

const HOST = '10.77.0.1';

async function freeTcpPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function replaceOnce(text, from, to) {
  if (!text.includes(from)) throw new Error(`deploy/nginx-site.conf no longer has ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

/**
 * Starts nginx in front of `upstream` (`127.0.0.1:PORT`) with `cert`/`key` and deploy/nginx-site.conf, or, given
 * `upstreams` (two addresses), in front of both with deploy/nginx-cluster.conf; resolves with its https URL.
 */
export async function startNginx({ upstream, upstreams, cert, key }) {
  const dir = await tempDir();
  const port = await freeTcpPort();
  let site = await readFile(join(ROOT, 'deploy', upstreams ? 'nginx-cluster.conf' : 'nginx-site.conf'), 'utf8');
  site = replaceOnce(site, 'listen 443 ssl;', `listen ${HOST}:${port} ssl;`);
  site = replaceOnce(site, 'listen [::]:443 ssl;', '');
  site = replaceOnce(site, '/etc/letsencrypt/live/share.example.org/fullchain.pem', cert);
  site = replaceOnce(site, '/etc/letsencrypt/live/share.example.org/privkey.pem', key);
  if (upstreams) {
    site = replaceOnce(site, 'server 127.0.0.1:8080 ', `server ${upstreams[0]} `);
    site = replaceOnce(site, 'server 127.0.0.1:8081 ', `server ${upstreams[1]} `);
  } else {
    site = replaceOnce(site, 'http://127.0.0.1:8080', `http://${upstream}`);
  }
  await writeFile(join(dir.path, 'site.conf'), site);
  const temp = (name) => `${name}_temp_path ${join(dir.path, name)};`;
  await writeFile(
    join(dir.path, 'nginx.conf'),
    [
      'daemon off;', 'worker_processes 1;', `pid ${join(dir.path, 'nginx.pid')};`,
      `error_log ${join(dir.path, 'error.log')} warn;`, 'events { worker_connections 256; }',
      `http { access_log off; ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join(' ')}`,
      `include ${join(dir.path, 'site.conf')}; }`,
    ].join('\n'),
  );
  const child = spawn(NGINX_BIN, ['-p', dir.path, '-c', join(dir.path, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stderr.on('data', (d) => output.push(String(d)));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const listening = async () => {
    for (;;) {
      const up = await new Promise((resolve) => {
        const socket = connect(port, HOST, () => resolve(socket.end() && true));
        socket.once('error', () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const failed = exited.then(({ code, signal }) => {
    throw new Error(`nginx exited (${code ?? signal}): ${output.join('')}`);
  });
  await within(15_000, 'nginx to listen', Promise.race([listening(), failed])).catch(async (e) => {
    child.kill('SIGKILL');
    await dir.remove();
    throw e;
  });
  failed.catch(() => {});
  return {
    url: `https://${HOST}:${port}`,
    async stop() {
      child.kill('SIGQUIT');
      await within(10_000, 'nginx to stop', exited).catch(() => child.kill('SIGKILL'));
      await dir.remove();
    },
  };
}
