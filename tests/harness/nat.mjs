// Homes behind NAT routers, for tests of NAT traversal: real Linux NAT (iptables MASQUERADE) in network namespaces
// inside the test namespace (scripts/netns.sh), so nothing leaves the machine.
//
//   public side (the test namespace itself): 198.51.100.1 on its loopback, where the signaling server and coturn
//   listen; one veth link per home, 203.0.113.(8i+1)/29 on this side.
//
//   a home of kind `none`: one namespace, the peer's, with the link's other end 203.0.113.(8i+2) (a public address,
//     as a server or an open network has).
//   a home of kind `cone` or `symmetric`: a router namespace (WAN 203.0.113.(8i+2), LAN 192.168.i.1/24) and the
//     peer's namespace (192.168.i.2/24, default route through the router). The router masquerades what leaves by its
//     WAN and drops what comes in unasked, like a home router: `cone` keeps the source port (MASQUERADE maps a
//     source to one public port for every destination, "endpoint-independent mapping"), `symmetric` picks a random
//     port per destination (`--random-fully`: "endpoint-dependent mapping", as carrier-grade and many corporate
//     NATs do), so that the address a STUN server sees is not the one another peer would.
//
// Every namespace lives as long as a `sleep` process that holds it; killing the holders removes the namespaces and,
// with them, every veth link. Needs root (inside scripts/netns.sh) and iptables.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './browser.mjs';
import { tempDir } from './files.mjs';
import { CHROMIUM } from './paths.mjs';

const run = promisify(execFile);

/** The public side's address: the signaling server, coturn and the page are reached there. */
export const PUBLIC = '198.51.100.1';
export const IPTABLES = process.env.IPTABLES || '/usr/sbin/iptables';
export const KINDS = ['none', 'cone', 'symmetric'];

/** Why NAT tests cannot run here, or null: they need root inside the test namespace, and iptables. */
export function natUnavailable() {
  if (process.getuid?.() !== 0 || !process.env.P2P_IN_NETNS) return 'needs root inside scripts/netns.sh';
  if (!existsSync(IPTABLES)) return `no ${IPTABLES} (scripts/lib/ensure.sh installs it)`;
  return null;
}

/** Starts a process holding a new network namespace; resolves with it once the namespace exists. */
async function holder() {
  const child = spawn('unshare', ['--net', '--', 'sh', '-c', 'echo up; exec sleep infinity'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`unshare --net exited (${code})`))),
  ]);
  if (line !== 'up') throw new Error(`unexpected output from the namespace holder: ${line}`);
  return child;
}

/** `nsenter --net=...` for the namespace `child` holds. */
const enter = (child) => ['nsenter', `--net=/proc/${child.pid}/ns/net`];

async function sh(argv) {
  try {
    await run(argv[0], argv.slice(1));
  } catch (e) {
    throw new Error(`${argv.join(' ')}: ${e.stderr || e.message}`);
  }
}

/**
 * Builds one home of `kind` as link `index` (1..30) of the public side. Resolves with the home: `prefix` (a
 * command prefix that runs a program in the peer's namespace), `address` (the peer's own address), `launchBrowser()`
 * (a Chromium in the peer's namespace that treats the public page as a secure origin), and `stop()`.
 */
export async function home(kind, index, pageOrigin) {
  if (!KINDS.includes(kind)) throw new Error(`unknown NAT kind ${kind}`);
  const holders = [];
  const outer = `nat${index}`;
  const near = `203.0.113.${8 * index + 1}`;
  const far = `203.0.113.${8 * index + 2}`;
  const stop = async () => {
    for (const h of holders) h.kill('SIGKILL');
    await Promise.all(holders.map((h) => (h.exitCode === null && h.signalCode === null ? once(h, 'exit') : null)));
  };
  try {
    const peer = await holder();
    holders.push(peer);
    const inPeer = enter(peer);
    let address;
    if (kind === 'none') {
      await sh(['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(peer.pid)]);
      await sh([...inPeer, 'ip', 'addr', 'add', `${far}/29`, 'dev', 'eth0']);
      await sh([...inPeer, 'ip', 'link', 'set', 'eth0', 'up']);
      await sh([...inPeer, 'ip', 'route', 'add', 'default', 'via', near]);
      address = far;
    } else {
      const router = await holder();
      holders.push(router);
      const inRouter = enter(router);
      await sh(['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'wan', 'netns', String(router.pid)]);
      await sh([...inRouter, 'ip', 'addr', 'add', `${far}/29`, 'dev', 'wan']);
      await sh([...inRouter, 'ip', 'link', 'set', 'wan', 'up']);
      await sh([...inRouter, 'ip', 'link', 'set', 'lo', 'up']);
      await sh([...inRouter, 'ip', 'route', 'add', 'default', 'via', near]);
      await sh([...inRouter, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      await sh([...inRouter, 'ip', 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(peer.pid)]);
      await sh([...inRouter, 'ip', 'addr', 'add', `192.168.${index}.1/24`, 'dev', 'lan']);
      await sh([...inRouter, 'ip', 'link', 'set', 'lan', 'up']);
      await sh([...inPeer, 'ip', 'addr', 'add', `192.168.${index}.2/24`, 'dev', 'eth0']);
      await sh([...inPeer, 'ip', 'link', 'set', 'eth0', 'up']);
      await sh([...inPeer, 'ip', 'route', 'add', 'default', 'via', `192.168.${index}.1`]);
      const ipt = [...inRouter, IPTABLES];
      await sh([...ipt, '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE',
        ...(kind === 'symmetric' ? ['--random-fully'] : [])]);
      // A home router: answers come in, nothing else. Dropped before conntrack confirms it, an unasked packet
      // leaves no entry behind that would change the mapping of the peer's own packet that follows.
      for (const chain of ['FORWARD', 'INPUT']) {
        await sh([...ipt, '-A', chain, '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
        await sh([...ipt, '-A', chain, '-i', 'wan', '-j', 'DROP']);
      }
      address = `192.168.${index}.2`;
    }
    await sh([...inPeer, 'ip', 'link', 'set', 'lo', 'up']);
    await sh(['ip', 'addr', 'add', `${near}/29`, 'dev', outer]);
    await sh(['ip', 'link', 'set', outer, 'up']);
    const browsers = [];
    return {
      kind,
      address,
      prefix: inPeer,
      /** A Chromium whose network is this home's (started through nsenter; driven over a pipe, not a port). */
      async launchBrowser() {
        const dir = await tempDir();
        const wrapper = join(dir.path, 'chromium');
        await writeFile(wrapper, `#!/bin/sh\nexec ${inPeer.join(' ')} ${CHROMIUM} "$@"\n`);
        await chmod(wrapper, 0o755);
        const browser = await chromium.launch({
          executablePath: wrapper,
          headless: true,
          // The page is served over plain HTTP from a public address: a secure origin only by this flag.
          args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${pageOrigin}`],
        });
        browsers.push({ browser, dir });
        return browser;
      },
      async stop() {
        for (const { browser, dir } of browsers.splice(0)) {
          await browser.close().catch(() => {});
          await dir.remove();
        }
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Puts PUBLIC on the test namespace's loopback and lets it route between homes; `remove()` takes it off. */
export async function publicSide() {
  await sh(['ip', 'addr', 'add', `${PUBLIC}/32`, 'dev', 'lo']);
  await sh(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  return { remove: () => sh(['ip', 'addr', 'del', `${PUBLIC}/32`, 'dev', 'lo']) };
}

/**
 * Whether a connection between homes of these kinds can be direct: one side has a public address, or both NATs
 * keep the port a STUN server saw. Behind a symmetric NAT facing any NAT, only a relayed pair works.
 */
export const directPossible = (a, b) => a === 'none' || b === 'none' || (a === 'cone' && b === 'cone');
