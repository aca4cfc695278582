// Waiting on a condition with a timeout as a failure guard only (never a sleep used as synchronisation).

/** Resolves with `promise`, or rejects after `ms` milliseconds with a message naming what was awaited. */
export function within(ms, what, promise) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}
