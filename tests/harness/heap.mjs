// JS heap measurement through the DevTools protocol.
//
// `Runtime.getHeapUsage` gives the V8 heap (`usedSize`) and, separately, ArrayBuffer backing stores
// (`backingStorageSize`), which is where wasm linear memory and file bytes held by JS would be: both count, so an
// app that kept a download in an ArrayBuffer or in wasm memory could not pass for one that streams to disk.

/** A CDP session on `page`; `usage()` returns `{ heap, buffers, total }` in bytes. */
export async function heapProbe(page) {
  const cdp = await page.context().newCDPSession(page);
  return {
    async usage() {
      const u = await cdp.send('Runtime.getHeapUsage');
      const buffers = u.backingStorageSize ?? 0;
      return { heap: u.usedSize, buffers, total: u.usedSize + buffers };
    },
    detach: () => cdp.detach().catch(() => {}),
  };
}

/**
 * Samples `probe.usage()` every `intervalMs` milliseconds until `stop()`, keeping the maximum. The interval sets
 * the measurement's resolution only; nothing waits on it.
 */
export function heapSampler(probe, intervalMs = 250) {
  let peak = { heap: 0, buffers: 0, total: 0 };
  let samples = 0;
  let failure = null;
  const sample = async () => {
    try {
      const u = await probe.usage();
      samples += 1;
      if (u.total > peak.total) peak = u;
    } catch (e) {
      failure = e;
    }
  };
  const timer = setInterval(sample, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await sample();
      if (samples === 0 && failure) throw failure;
      return { peak, samples };
    },
  };
}
