// Debian's stock Firefox ESR driven by puppeteer-core over WebDriver BiDi (Playwright's Firefox is a patched
// build it would download; stock Firefox speaks BiDi): one Firefox per test, one user context per simulated user
// (its own storage, as a Chromium context is). The helpers are app.mjs's for puppeteer pages, with the same names
// and shapes; rows are element handles. What does not depend on the driver (crash watching, the counters test,
// the link check, errors) is app.mjs's own.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { basename, sep } from 'node:path';
import puppeteer from 'puppeteer-core';
import {
  POLL_MS,
  READY_TIMEOUT_MS,
  SHARE_TIMEOUT_MS,
  countersTest,
  errors,
  shareLink,
  unlessCrash,
  watchCrashes,
} from './app.mjs';
import { within } from './deadline.mjs';
import { sha256File } from './files.mjs';
import { FIREFOX } from './paths.mjs';

export { assertNoCrash, counters, unlessCrash } from './app.mjs';

/** From the Save click to the file complete on disk, in milliseconds (a failure guard only). */
const SAVE_TIMEOUT_MS = 60_000;
const SHARE_ROW = '[data-testid=share-row]';
const DOWNLOAD_ROW = '[data-testid=download-row]';

/**
 * Preferences on top of the quiet testing profile puppeteer and Firefox's remote agent already set up (no
 * first-run pages, no add-on or search updates, no safe-browsing lists, no health report).
 */
export const FIREFOX_PREFS = {
  // Host candidates as plain IPs: mDNS names would need multicast, which the namespace does not route.
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // No update checks and no telemetry: a test browser talks only to the test's server.
  'app.update.auto': false,
  'app.update.enabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  // Background tabs (several users in one browser) must not be throttled: they are other people's machines.
  'dom.timeout.enable_budget_timer_throttling': false,
  'dom.min_background_timeout_value': 4,
};

/** Where each user context saves its downloads: `saveAndHash` knows its file by this directory. */
const downloadDirs = new WeakMap();

/** Firefox; with `privateBrowsing`, every window of it is a private window (as `firefox --private`). */
export function launchFirefox({ privateBrowsing = false } = {}) {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: { ...FIREFOX_PREFS, 'browser.privatebrowsing.autostart': privateBrowsing },
  });
}

/**
 * A new simulated user of `browser`: a user context of its own (its own storage), whose downloads go into
 * `downloadDir` (an existing, empty directory) without asking.
 */
export async function newUser(browser, downloadDir) {
  const context = await browser.createBrowserContext({
    downloadBehavior: { policy: 'allow', downloadPath: downloadDir },
  });
  downloadDirs.set(context, downloadDir);
  return context;
}

/** Calls `listener(message)` for the console messages of every page and worker `context` starts from now on. */
export function onConsole(context, listener) {
  context.on('targetcreated', async (target) => {
    const source = target.type() === 'page' ? await target.page() : await target.worker();
    source?.on('console', listener);
  });
}

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

export async function waitReady(page) {
  await page.waitForFunction(() => document.documentElement.dataset.ready === '1', {
    timeout: READY_TIMEOUT_MS,
    polling: POLL_MS,
  });
}

/** Waits until the signaling status shows `state` (`connecting`, `connected` or `reconnecting`). */
export async function waitStatus(page, state, timeout = 30_000) {
  await unlessCrash(page, page.waitForSelector(`[data-testid=status][data-state=${state}]`, { timeout }));
}

/** Picks `file.path` in the file input; resolves with the new share row and its link once hashing is done. */
export async function share(page, file) {
  const before = (await page.$$(SHARE_ROW)).length;
  const input = await page.$('#file-input');
  await input.uploadFile(file.path);
  // The link is final once the content id is known, that is once the file is hashed.
  const href = await unlessCrash(
    page,
    page.waitForFunction(
      (selector, n) => {
        const a = document.querySelectorAll(selector)[n]?.querySelector('[data-testid=share-link]');
        return a && /#[0-9a-f]{64}$/.test(a.href) && a.getAttribute('href');
      },
      { timeout: SHARE_TIMEOUT_MS, polling: POLL_MS },
      SHARE_ROW,
      before,
    ),
  );
  const row = (await page.$$(SHARE_ROW))[before];
  return { row, link: shareLink(await href.jsonValue(), page.url()) };
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
  return { page, row: await downloadRow(page) };
}

/** The first download row of `page`, once there is one (again after a reload: handles do not survive it). */
export async function downloadRow(page) {
  return unlessCrash(page, page.waitForSelector(DOWNLOAD_ROW, { timeout: READY_TIMEOUT_MS }));
}

/**
 * Resolves once `predicate(counters, arg)` holds for `row`, checked in the page every POLL_MS. `predicate` runs in
 * the page: it may use only its arguments, the row's `data-*` values (digit strings as numbers) and `arg` (JSON).
 */
export async function waitCounters(row, what, predicate, { timeout = 120_000, arg = null } = {}) {
  // puppeteer passes element handles only as arguments of their own.
  const check = new Function('el', 'arg', countersTest(predicate));
  const page = row.frame.page();
  const condition = page.waitForFunction(check, { timeout, polling: POLL_MS }, row, arg);
  await unlessCrash(page, condition).catch((e) => {
    throw new Error(`waiting for ${what}: ${e.message}`);
  });
}

/**
 * Waits until `row` has data-state `complete`; fails at once, with the page's errors, if it turns to `error`.
 */
export async function waitComplete(row, timeout) {
  const page = row.frame.page();
  const ended = (el) => el.dataset.state === 'complete' || el.dataset.state === 'error';
  await unlessCrash(page, page.waitForFunction(ended, { timeout, polling: POLL_MS }, row));
  const state = await row.evaluate((el) => el.dataset.state);
  if (state !== 'complete') {
    throw new Error(`download ended in state ${state}: ${await errors(page)}`);
  }
}

/**
 * A folder's download row waits for its user's choice: gets every file. Resolves once the row is past choosing.
 */
export async function chooseAll(row) {
  const page = row.frame.page();
  const choose = await unlessCrash(page, row.waitForSelector('[data-testid=choose]', { visible: true, timeout: READY_TIMEOUT_MS }));
  await choose.click();
  await waitCounters(row, 'the choice taken', (c) => c.state !== 'choosing', { timeout: 10_000 });
}

/**
 * Clicks Save (or the `button` given) on a complete row; resolves with the SHA-256, size, name and path of the file
 * Firefox saved.
 *
 * puppeteer has no download events over BiDi, so this listens on its BiDi connection for the standard
 * `browsingContext.downloadEnd` event (WebDriver BiDi; puppeteer subscribes to every `browsingContext` event),
 * which says when the file is complete on disk and where: in this user's download directory.
 */
export async function saveAndHash(row, button = '[data-testid=save]') {
  const page = row.frame.page();
  const dir = downloadDirs.get(page.browserContext());
  assert.ok(dir, 'the page belongs to a user made by newUser, which sets its download directory');
  const connection = page.browser().connection;
  let listener;
  const ended = new Promise((resolve) => {
    listener = (event) => {
      if (event.status !== 'complete' || event.filepath?.startsWith(dir + sep)) resolve(event);
    };
    connection.on('browsingContext.downloadEnd', listener);
  });
  try {
    const save = await row.$(button);
    await save.click();
    const end = await unlessCrash(page, within(SAVE_TIMEOUT_MS, 'Firefox to save the file', ended));
    assert.equal(end.status, 'complete', 'the browser saved the file');
    const { size } = await stat(end.filepath);
    return { sha256: await sha256File(end.filepath), size, name: basename(end.filepath), path: end.filepath };
  } finally {
    connection.off('browsingContext.downloadEnd', listener);
  }
}
