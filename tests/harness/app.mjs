// The web app, driven only through its test contract (docs/ARCHITECTURE.md, "tests"): element ids, data-testid
// and data-* attributes. No private hooks. These helpers take playwright-core pages (Chromium); firefox.mjs has
// the same helpers for puppeteer-core pages (Firefox) and shares the engine-neutral parts exported here.
import assert from 'node:assert/strict';
import { sha256File } from './files.mjs';

/** Loading the page and its wasm, in milliseconds. */
export const READY_TIMEOUT_MS = 30_000;
/** Hashing a file when sharing; 1 GiB at a slow 20 MB/s is about 50 s. */
export const SHARE_TIMEOUT_MS = 120_000;
/**
 * How often page-side conditions are checked, in milliseconds. `requestAnimationFrame` polling would stall in
 * background tabs, which is what most simulated users are.
 */
export const POLL_MS = 100;
const LINK = /^https?:\/\/[^/]+\/#[0-9a-f]{64}$/;

/**
 * Crashes of each page opened through `openApp`: uncaught exceptions (a wasm trap is one), Rust panics (the
 * panic hook logs `panicked at` to the console, whether or not the page turns it into a message) and exceptions
 * thrown by app.js's event handler (peer-wasm catches them and logs `the page's event handler threw`).
 */
const crashes = new WeakMap();

/**
 * Opens `url` in a new tab of `context`, or in `page` (a blank tab of it opened earlier), and waits for the app's
 * ready flag.
 */
export async function openApp(context, url, page = null) {
  page ??= await context.newPage();
  watchCrashes(page);
  await page.goto(url);
  await waitReady(page);
  return page;
}

/** How Firefox's own report of a failed connection begins (PeerConnection.sys.mjs, "ICE failed, add a STUN..."). */
const FIREFOX_ICE_FAILED = 'WebRTC: ICE failed';

/**
 * Records `page`'s crashes for `assertNoCrash` and `unlessCrash`, from now on (reloads included). Playwright and
 * puppeteer pages both emit `pageerror` and `console` events of these shapes.
 */
export function watchCrashes(page) {
  const seen = [];
  let crashed;
  const crash = new Promise((_, reject) => (crashed = reject));
  // Only raced against waits: never left unhandled.
  crash.catch(() => {});
  crashes.set(page, { seen, crash });
  const record = (message) => {
    seen.push(message);
    crashed(new Error(`the page crashed: ${message}`));
  };
  page.on('pageerror', (e) => {
    // Firefox reports a connection whose ICE failed (a peer that vanished) as an error of the page, though no
    // code of the page threw: the app sees the failure on its own and handles it.
    if (!e.message.startsWith(FIREFOX_ICE_FAILED)) record(e.message);
  });
  page.on('console', (m) => {
    const text = m.text();
    if (text.includes('panicked at') || text.includes("the page's event handler threw")) record(text);
  });
}

/** Fails if `page` threw an uncaught exception since `openApp` (page reloads included). */
export function assertNoCrash(page) {
  assert.deepEqual(crashes.get(page)?.seen ?? [], [], 'no uncaught exception in the page');
}

/** `promise`, or a rejection as soon as `page` crashes: a crashed page fails a test at once, not at its timeout. */
export function unlessCrash(page, promise) {
  const watched = crashes.get(page);
  return watched ? Promise.race([promise, watched.crash]) : promise;
}

export async function waitReady(page) {
  await page.waitForFunction(() => document.documentElement.dataset.ready === '1', null, {
    timeout: READY_TIMEOUT_MS,
    polling: POLL_MS,
  });
}

/** Waits until the signaling status shows `state` (`connecting`, `connected` or `reconnecting`). */
export async function waitStatus(page, state, timeout = 30_000) {
  await unlessCrash(page, page.locator(`[data-testid=status][data-state=${state}]`).waitFor({ timeout }));
}

/**
 * Picks `file.path` in the file input (a folder's path in the folder input with `{ folder: true }`); resolves
 * with the new share row and its link once hashing is done.
 */
export async function share(page, file, { folder = false } = {}) {
  const rows = page.locator('[data-testid=share-row]');
  const before = await rows.count();
  await page.setInputFiles(folder ? '#folder-input' : '#file-input', file.path);
  const row = rows.nth(before);
  await unlessCrash(page, row.waitFor({ timeout: SHARE_TIMEOUT_MS }));
  const link = row.locator('[data-testid=share-link]');
  // The link is final once the content id is known, that is once the file is hashed.
  await unlessCrash(
    page,
    page.waitForFunction((a) => /#[0-9a-f]{64}$/.test(a.href), await link.elementHandle(), {
      timeout: SHARE_TIMEOUT_MS,
      polling: POLL_MS,
    }),
  );
  return { row, link: shareLink(await link.getAttribute('href'), page.url()) };
}

/** The absolute form of a share row's `href` on a page at `pageUrl`, checked against the contract's form. */
export function shareLink(href, pageUrl) {
  const absolute = new URL(href, pageUrl).href;
  assert.match(absolute, LINK, 'a share link has the form http://host:port/#<64 hex>');
  return absolute;
}

/** A new user's tab on the app, connected, sharing `file`: resolves with `{ page, row, link }`. */
export async function seed(context, url, file) {
  const page = await openApp(context, url);
  await waitStatus(page, 'connected');
  const { row, link } = await share(page, file);
  return { page, row, link };
}

/**
 * Opens a share link in a new tab of `context`, or in `page` (a blank tab of it opened earlier); resolves with the
 * page and its download row.
 */
export async function openLink(context, link, page = null) {
  page = await openApp(context, link, page);
  const row = downloadRow(page);
  await unlessCrash(page, row.waitFor({ timeout: READY_TIMEOUT_MS }));
  return { page, row };
}

/**
 * Resolves once `predicate(counters, arg)` holds for `row`, checked in the page every POLL_MS. `predicate` runs in
 * the page: it may use only its arguments, the row's `data-*` values (digit strings as numbers) and `arg` (JSON).
 */
export async function waitCounters(row, what, predicate, { timeout = 120_000, arg = null } = {}) {
  // Playwright passes the page function one argument; element handles may sit inside it.
  const check = new Function('input', `const { el, arg } = input;\n${countersTest(predicate)}`);
  const page = row.page();
  const condition = page.waitForFunction(check, { el: await row.elementHandle(), arg }, { timeout, polling: POLL_MS });
  await unlessCrash(page, condition).catch((e) => {
    throw new Error(`waiting for ${what}: ${e.message}`);
  });
}

/**
 * The body of a page function that has the row element `el` and `arg` in scope and returns `predicate(counters,
 * arg)`. The function is built in node and shipped as a function: no eval inside the page, whatever its
 * Content-Security-Policy.
 */
export function countersTest(predicate) {
  return `const c = {};
    for (const [k, v] of Object.entries(el.dataset)) c[k] = /^\\d+$/.test(v) ? Number(v) : v;
    return (${predicate.toString()})(c, arg);`;
}

/** The first download row of `page`. */
export function downloadRow(page) {
  return page.locator('[data-testid=download-row]').first();
}

/**
 * Numbers of a row's `data-*` counters (`downloadedBytes`, `uploadedBytes`, `verifiedPieces`, ... ); `row` is a
 * Playwright locator or a puppeteer element handle.
 */
export async function counters(row) {
  const data = await row.evaluate((el) => ({ ...el.dataset }));
  const out = {};
  for (const [k, v] of Object.entries(data)) out[k] = /^\d+$/.test(v) ? Number(v) : v;
  return out;
}

/**
 * Asserts that a seeder, the only source after a download was resumed with `restored` (its counters then), sent the
 * pieces that were missing and nothing more. One piece of slack covers the last piece being shorter than the
 * others.
 */
export async function assertSentOnlyWhatWasMissing(seederRow, restored, fileSize) {
  const pieceSize = Math.ceil(fileSize / restored.totalPieces);
  const missingBytes = fileSize - restored.verifiedPieces * pieceSize;
  const sent = (await counters(seederRow)).uploadedBytes;
  assert.ok(
    sent <= missingBytes + pieceSize,
    `the new seeder sent ${sent} bytes; only ${missingBytes} bytes were missing after the reload`,
  );
}

/**
 * Waits until `row` has data-state `complete`; fails at once, with the page's errors, if it turns to `error`.
 */
export async function waitComplete(row, timeout) {
  await unlessCrash(
    row.page(),
    row.page().waitForFunction(
      (el) => el.dataset.state === 'complete' || el.dataset.state === 'error',
      await row.elementHandle(),
      { timeout, polling: POLL_MS },
    ),
  );
  const state = await row.getAttribute('data-state');
  if (state !== 'complete') {
    throw new Error(`download ended in state ${state}: ${await errors(row.page())}`);
  }
}

/**
 * Clicks Save (or the `button` given) on a complete row; resolves with the SHA-256, size and name of the bytes the
 * browser saved.
 */
export async function saveAndHash(row, button = '[data-testid=save]') {
  const page = row.page();
  const [download] = await Promise.all([page.waitForEvent('download'), row.locator(button).click()]);
  const path = await download.path();
  const failure = await download.failure();
  assert.equal(failure, null, 'the browser saved the file');
  const { size } = await import('node:fs/promises').then((fs) => fs.stat(path));
  return { sha256: await sha256File(path), size, name: download.suggestedFilename() };
}

/**
 * What the page says went wrong, joined (a Playwright or a puppeteer page): its visible `[data-testid=error]`
 * banners, then the state line of each download row that failed (`data-failure` set: a download's failure is said
 * in its row, not in a banner).
 */
export async function errors(page) {
  const texts = await page.$$eval('[data-testid=error], [data-testid=download-row][data-failure] .state', (els) =>
    els.map((el) => el.innerText));
  return texts.map((t) => t.trim()).filter(Boolean).join(' | ');
}

/**
 * Reloads `page` mid-download; resolves with its download row once the `verified` pieces counted before the
 * reload came back from its storage.
 */
export async function reloadAndRestore(page, verified) {
  await page.reload();
  await waitReady(page);
  const resumed = downloadRow(page);
  await resumed.waitFor();
  await waitCounters(
    resumed,
    `${verified} pieces restored from storage`,
    (c, atLeast) => c.verifiedPieces >= atLeast,
    { timeout: 60_000, arg: verified },
  );
  return resumed;
}

/**
 * Ticks or unticks a row's "List in search" (a share's, or a complete download's) and waits for the page to say
 * the state holds (`data-listed`).
 */
export async function setListed(row, listed = true) {
  const box = row.locator('[data-testid=list]');
  if (listed) await box.check();
  else await box.uncheck();
  const want = String(listed);
  await waitCounters(row, `listed ${want}`, (c, arg) => c.listed === arg, { timeout: 10_000, arg: want });
}

/**
 * A folder's download row waits for its user's choice: unticks the files and folders at `untick` (paths in the
 * folder), then gets the rest. Resolves once the row is past choosing.
 */
export async function chooseFiles(row, untick = []) {
  await unlessCrash(row.page(), row.locator('[data-testid=choose]').waitFor({ timeout: READY_TIMEOUT_MS }));
  for (const path of untick) {
    const box = row.locator(`li[data-path="${path}"] > label .pick, li[data-folder="${path}"] > details > summary .pick`);
    await box.uncheck();
  }
  await row.locator('[data-testid=choose]').click();
  await waitCounters(row, 'the choice taken', (c) => c.state !== 'choosing', { timeout: 10_000 });
}

/**
 * Clicks the Save of file `path` in a folder's row: the browser saves it under the file's own name; resolves with
 * the SHA-256 of the bytes saved.
 */
export async function saveFile(row, path) {
  const saved = await saveAndHash(row.locator(`li[data-path="${path}"]`), '[data-testid=save-file]');
  assert.equal(saved.name, path.split('/').pop(), `${path} is saved under its own name`);
  return saved.sha256;
}

/** A new user's tab, connected, sharing the folder at `root` through its folder picker: `{ page, row, link }`. */
export async function seedFolder(context, url, root) {
  const page = await openApp(context, url);
  await waitStatus(page, 'connected');
  const { row, link } = await share(page, { path: root }, { folder: true });
  return { page, row, link };
}

/**
 * Gives `context`'s pages a folder picker: headless Chromium shows none, so `showDirectoryPicker` resolves with
 * the directory `picked` of the page's private file system (a real FileSystemDirectoryHandle, written through the
 * same API a picked folder is). `pickedFiles(page)` reads back what was written there.
 */
export async function givePickedFolder(context) {
  await context.addInitScript(() => {
    window.showDirectoryPicker = async () =>
      (await navigator.storage.getDirectory()).getDirectoryHandle('picked', { create: true });
  });
}

/**
 * What Save all wrote into the picked folder (`givePickedFolder`): an object of each file's path to its SHA-256, or
 * to its size with `{ sizes: true }` (for files too large to hash in the page).
 */
export async function pickedFiles(page, { sizes = false } = {}) {
  return page.evaluate(async (sizesOnly) => {
    const out = {};
    const walk = async (dir, prefix) => {
      for await (const [name, handle] of dir.entries()) {
        if (handle.kind === 'directory') {
          await walk(handle, `${prefix}${name}/`);
          continue;
        }
        const file = await handle.getFile();
        if (sizesOnly) {
          out[prefix + name] = file.size;
        } else {
          const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
          out[prefix + name] = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
        }
      }
    };
    await walk(await (await navigator.storage.getDirectory()).getDirectoryHandle('picked'), '');
    return out;
  }, sizes);
}
