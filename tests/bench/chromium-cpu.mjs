// CPU seconds used so far by every running Chromium process, from /proc (Linux), for the benchmarks that say where
// the CPU goes (tests/bench/cpu.mjs, peer-wasm/bench/opfs.mjs).
import { readFileSync, readdirSync } from 'node:fs';

/**
 * `Map<pid, { kind, secs }>`: `kind` is `browser` (the process without `--type=`), `renderer` (tabs, their
 * workers and WebRTC threads), `network` (the network service) or `other`.
 */
export function chromiumCpu() {
  const out = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chromium')) continue;
      // utime and stime, fields 14 and 15 of /proc/PID/stat, counted after the parenthesised command name.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      const type = cmd.match(/--type=([a-z-]+)/)?.[1];
      const kind = !type ? 'browser' : type === 'renderer' ? 'renderer' : cmd.includes('NetworkService') ? 'network' : 'other';
      out.set(pid, { kind, secs: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}
