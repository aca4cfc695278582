#!/usr/bin/env node
// Where relayed datagrams are dropped: one cell of the NAT world (tests/harness/nat.mjs) at a time, with the UDP
// counters of /proc/net/snmp (`RcvbufErrors`: datagrams a full socket receive buffer dropped; `InErrors`) read
// before and after the transfer on the public side (coturn's namespace) and in the seeder's and the getter's homes,
// and the CPU seconds coturn, the swarm-peers and Chromium spent during it (from /proc, sampled every 50 ms).
//
//   scripts/netns.sh node tests/bench/nat-drops.mjs
//
// CELLS: comma-separated `seeder-getter:from-to` (default native-browser:symmetric-symmetric,
// browser-browser:symmetric-symmetric); SIZE in bytes (default 20000000).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpuSampler, statSeconds } from './chromium-cpu.mjs';
import { randomFile } from '../harness/files.mjs';
import { natUnavailable, startNatWorld } from '../harness/nat.mjs';

const cells = (process.env.CELLS || 'native-browser:symmetric-symmetric,browser-browser:symmetric-symmetric')
  .split(',')
  .map((c) => {
    const [pair, kinds] = c.split(':');
    const [seeder, getter] = pair.split('-');
    const [from, to] = kinds.split('-');
    return { seeder, getter, from, to };
  });
const size = Number(process.env.SIZE || 20_000_000);
const unavailable = natUnavailable();
if (unavailable) {
  console.error(`nat-drops: ${unavailable}`);
  process.exit(1);
}

/** The Udp line of /proc/net/snmp as an object, in the namespace `prefix` enters (none: this one). */
function udp(prefix = []) {
  const text = execFileSync(prefix[0] ?? 'cat', [...prefix.slice(1), ...(prefix.length ? ['cat'] : []), '/proc/net/snmp'], { encoding: 'utf8' });
  const [names, values] = text.split('\n').filter((l) => l.startsWith('Udp:'));
  const keys = names.split(/\s+/).slice(1);
  const nums = values.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, nums[i]]));
}
/** `Map<pid, { kind, secs }>`: CPU seconds so far of coturn, each swarm-peer and Chromium (all processes together). */
function transferCpu() {
  const out = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const kind = comm === 'turnserver' ? 'coturn' : comm === 'swarm-peer' ? 'swarm-peer' : /chrom/.test(comm) ? 'chromium' : null;
      if (kind) out.set(pid, { kind, secs: statSeconds(stat) });
    } catch {
      // Ended between the listing and the read.
    }
  }
  return out;
}
/** CPU seconds by kind between two snapshots of `transferCpu`, as "kind N.NN s". */
const cpuDelta = (a, b) => {
  const by = {};
  for (const [pid, v] of b) by[v.kind] = (by[v.kind] ?? 0) + v.secs - (a.get(pid)?.secs ?? 0);
  return Object.entries(by).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ');
};
const delta = (a, b) => `RcvbufErrors +${b.RcvbufErrors - a.RcvbufErrors}, InErrors +${b.InErrors - a.InErrors}, InDatagrams +${b.InDatagrams - a.InDatagrams}`;

const world = await startNatWorld();
const cpu = cpuSampler(transferCpu);
// RMEM=BYTES: the receive buffer a UDP socket gets when it asks none (net.core.rmem_default), in every namespace.
if (process.env.RMEM) {
  const homes = [...Object.values(world.homes.seeder), ...Object.values(world.homes.getter)];
  for (const prefix of [[], ...homes.map((h) => h.prefix)]) {
    const argv = [...prefix, 'sysctl', '-qw', `net.core.rmem_default=${process.env.RMEM}`];
    execFileSync(argv[0], argv.slice(1));
  }
}
try {
  const file = await randomFile(world.dir, 'drops.bin', size);
  for (const cell of cells) {
    const where = { public: [], seeder: world.homes.seeder[cell.from].prefix, getter: world.homes.getter[cell.to].prefix };
    const cpuBefore = cpu.snapshot();
    const before = Object.fromEntries(Object.entries(where).map(([k, p]) => [k, udp(p)]));
    const { took, ms } = await world.transfer({ ...cell, file });
    const after = Object.fromEntries(Object.entries(where).map(([k, p]) => [k, udp(p)]));
    const cpuAfter = cpu.snapshot();
    console.log(`${cell.seeder}->${cell.getter} ${cell.from}->${cell.to}: ${took}, ${(ms / 1000).toFixed(2)} s, ${(size / 1e6 / (ms / 1000)).toFixed(1)} MB/s`);
    for (const k of Object.keys(where)) console.log(`  ${k}: ${delta(before[k], after[k])}`);
    console.log(`  CPU: ${cpuDelta(cpuBefore, cpuAfter)}`);
  }
} finally {
  cpu.stop();
  await world.stop();
}
