// CPU seconds used so far by every running Chromium process, from /proc (Linux), for the benchmarks that say where
// the CPU goes (tests/bench/cpu.mjs, tests/bench/threads.mjs, peer-wasm/bench/opfs.mjs).
import { readFileSync, readdirSync } from 'node:fs';

/**
 * Every running Chromium process as `[pid, kind]`: `kind` is `browser` (the process without `--type=`), `renderer`
 * (tabs, their workers and WebRTC threads), `network` (the network service) or `other`.
 */
export function* chromiumProcesses() {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmd;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // The process ended between the listing and the read.
    }
    if (!cmd.includes('chromium')) continue;
    const type = cmd.match(/--type=([a-z-]+)/)?.[1];
    yield [pid, !type ? 'browser' : type === 'renderer' ? 'renderer' : cmd.includes('NetworkService') ? 'network' : 'other'];
  }
}

/** CPU seconds (utime + stime) of a `/proc/.../stat` line: fields 14 and 15, counted after the command name. */
export function statSeconds(stat) {
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** `Map<pid, { kind, secs }>` for every running Chromium process. */
export function chromiumCpu() {
  const out = new Map();
  for (const [pid, kind] of chromiumProcesses()) {
    try {
      out.set(pid, { kind, secs: statSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8')) });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}

/**
 * `Map<"pid/tid", { pid, key, secs }>` for every thread of every running Chromium process; `key` is the process
 * kind and the thread's name with trailing digits as `#` ("renderer WebRTC_W_and_N", "network Chrome_ChildIOT").
 */
export function chromiumThreads() {
  const out = new Map();
  for (const [pid, kind] of chromiumProcesses()) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '#');
        out.set(`${pid}/${tid}`, { pid, key: `${kind} ${name}`, secs: statSeconds(stat) });
      }
    } catch {
      // Ended between the listing and the read.
    }
  }
  return out;
}

/**
 * Samples `read` (`chromiumCpu` or `chromiumThreads`) every 50 ms, so that a process that ends (a closed context's
 * renderer) keeps its last sample: `snapshot()` is a copy of every entry seen so far, `stop()` ends the sampling.
 */
export function cpuSampler(read) {
  const seen = new Map();
  const refresh = () => {
    for (const [k, v] of read()) seen.set(k, v);
  };
  const timer = setInterval(refresh, 50);
  return {
    snapshot() {
      refresh();
      return new Map([...seen].map(([k, v]) => [k, { ...v }]));
    },
    stop: () => clearInterval(timer),
  };
}
