#!/usr/bin/env node
// Where relayed datagrams are dropped: one cell of the NAT world (tests/harness/nat.mjs) at a time, with the UDP
// counters of /proc/net/snmp (`RcvbufErrors`: datagrams a full socket receive buffer dropped; `InErrors`) read
// before and after the transfer on the public side (coturn's namespace) and in the seeder's and the getter's homes.
//
//   scripts/netns.sh node tests/bench/nat-drops.mjs
//
// CELLS: comma-separated `seeder-getter:from-to` (default native-browser:symmetric-symmetric,
// browser-browser:symmetric-symmetric); SIZE in bytes (default 20000000).
import { execFileSync } from 'node:child_process';
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
const delta = (a, b) => `RcvbufErrors +${b.RcvbufErrors - a.RcvbufErrors}, InErrors +${b.InErrors - a.InErrors}, InDatagrams +${b.InDatagrams - a.InDatagrams}`;

const world = await startNatWorld();
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
    const before = Object.fromEntries(Object.entries(where).map(([k, p]) => [k, udp(p)]));
    const { took, ms } = await world.transfer({ ...cell, file });
    const after = Object.fromEntries(Object.entries(where).map(([k, p]) => [k, udp(p)]));
    console.log(`${cell.seeder}->${cell.getter} ${cell.from}->${cell.to}: ${took}, ${(ms / 1000).toFixed(2)} s, ${(size / 1e6 / (ms / 1000)).toFixed(1)} MB/s`);
    for (const k of Object.keys(where)) console.log(`  ${k}: ${delta(before[k], after[k])}`);
  }
} finally {
  await world.stop();
}
