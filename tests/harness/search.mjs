// The app's discovery network and search, through the test contract only (docs/ARCHITECTURE.md, "tests"):
// `#network` with `data-name` and `data-neighbours`, the form `#search-input` + `#search-button`,
// `#search-state` with `data-state` in `idle|searching|results|error`, and `#search-results` items
// `li[data-content=<64 hex>]` with `data-score`, `data-sources` and a "Download" button.
import { downloadRow, unlessCrash } from './app.mjs';

/** Result items appear as answers travel back from peers a few hops away. */
const RESULT_TIMEOUT_MS = 30_000;
const POLL_MS = 100;

/** The discovery network `page` shows it is in. */
export async function networkName(page) {
  await page.locator('#network[data-name]:not([data-name=""])').waitFor({ timeout: RESULT_TIMEOUT_MS });
  return page.locator('#network').getAttribute('data-name');
}

/** Waits until `page` has at least `n` discovery neighbours. */
export async function waitNeighbours(page, n, timeout = RESULT_TIMEOUT_MS) {
  await unlessCrash(
    page,
    page.waitForFunction((min) => Number(document.querySelector('#network')?.dataset.neighbours) >= min, n, {
      timeout,
      polling: POLL_MS,
    }),
  );
}

/** Types `text` in the search box and submits it with the Search button. */
export async function search(page, text) {
  await page.fill('#search-input', text);
  await page.click('#search-button');
}

/** The result items of `page`, best first. */
export function results(page) {
  return page.locator('#search-results li[data-content]');
}

/** Waits for the result item whose name contains `name`; resolves with its locator. */
export async function waitResult(page, name, timeout = RESULT_TIMEOUT_MS) {
  const item = results(page).filter({ hasText: name }).first();
  await unlessCrash(page, item.waitFor({ timeout }));
  return item;
}

/** Presses a result's Download button; resolves with the download row it starts. */
export async function downloadResult(item) {
  const page = item.page();
  await item.getByRole('button', { name: /^Download\b/ }).click();
  const row = downloadRow(page);
  await unlessCrash(page, row.waitFor({ timeout: RESULT_TIMEOUT_MS }));
  return row;
}
