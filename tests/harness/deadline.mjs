// Waiting on a condition with a timeout as a failure guard only (never a sleep used as synchronisation).

/** Resolves with `promise`, or rejects after `ms` milliseconds with a message naming what was awaited. */
export function within(ms, what, promise) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** Resolves once `check()` holds (asked every 100 ms), or rejects after `ms` milliseconds naming `what`. */
export async function until(ms, what, check) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
