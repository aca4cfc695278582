// Specs whose feature the app does not have yet are skipped with the reason, visibly, so `npm test` stays honest
// and green; `RUN_PENDING=1 node tests/run.mjs` runs them anyway, to see how far the app is.

/** The `skip` option of a spec: the reason while pending, `false` when RUN_PENDING=1. */
export function pending(reason) {
  return process.env.RUN_PENDING === '1' ? false : `pending: ${reason}`;
}
