// One test's world: its own signaling server on a free port, its own browsers (Chromium, and Firefox when a spec
// asks for a Firefox user), one context per simulated user, its own temporary files; all of it torn down after
// the test, also when it fails.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchBrowser, launchPersistentUser } from './browser.mjs';
import { launchFirefox, newUser as newFirefoxUser, onConsole } from './firefox.mjs';
import { startSignaling } from './server.mjs';
import { randomFile, tempDir } from './files.mjs';
import { screenshot } from './artifacts.mjs';

/** Console lines kept for a failure report, across all users. */
const CONSOLE_LINES = 200;

/**
 * A node:test test whose body gets a fresh scenario: `spec('name', { timeout }, async (s) => { ... })`.
 * When the body throws, every open page is screenshotted to `artifacts/failed-<name>-<i>.png`; then everything is
 * torn down, whatever happened.
 */
export function spec(name, options, body) {
  test(name, options, async () => {
    const s = await scenario();
    try {
      await body(s);
    } catch (e) {
      await failureScreenshots(name, s.contexts);
      console.error(`--- ${name}: last browser console lines\n${s.consoleLines.join('\n')}`);
      console.error(`--- ${name}: last signaling server log lines\n${s.server.stderr()}`);
      throw e;
    } finally {
      await s.close();
    }
  });
}

/**
 * `const s = await scenario()`, then `s.user()` for a new user (browser context), `s.firefoxUser()` for a new
 * user in Firefox (a puppeteer browser context: drive it with firefox.mjs), `s.file(name, size)` for a random
 * file, `s.server` for the signaling server (`s.restartServer()` brings it back on the same port).
 */
export async function scenario() {
  const cleanups = [];
  const contexts = [];
  // The last console lines of every page, for the failure report (bounded: pages can log a lot).
  const consoleLines = [];
  const consoleOf = (who) => (m) => {
    consoleLines.push(`[${who}] ${m.type()}: ${m.text()}`);
    if (consoleLines.length > CONSOLE_LINES) consoleLines.shift();
  };
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  const dir = await tempDir();
  cleanups.push(dir.remove);
  let server;
  try {
    server = await startSignaling();
  } catch (e) {
    await close();
    throw e;
  }
  const s = {
    server,
    browser: null,
    firefox: null,
    contexts,
    consoleLines,
    /** Tears everything down: contexts, browser, server, files. Never throws. */
    close,
    /**
     * A new simulated user: its own browser context (its own storage), downloads accepted. `ignoreHTTPSErrors`
     * for a test's own https server, whose certificate no browser trusts.
     */
    async user({ persistent = false, profileParent, ignoreHTTPSErrors = false } = {}) {
      if (persistent) {
        const user = await launchPersistentUser({ profileParent });
        cleanups.push(user.close);
        contexts.push(user.context);
        user.context.on('console', consoleOf(`user ${contexts.length}`));
        return user.context;
      }
      if (!s.browser) {
        s.browser = await launchBrowser();
        const browser = s.browser;
        cleanups.push(() => browser.close());
      }
      const context = await s.browser.newContext({ acceptDownloads: true, ignoreHTTPSErrors });
      contexts.push(context);
      context.on('console', consoleOf(`user ${contexts.length}`));
      return context;
    },
    /** A new simulated user in Firefox: its own user context (its own storage), downloads saved without asking. */
    async firefoxUser() {
      if (!s.firefox) {
        s.firefox = await launchFirefox();
        const firefox = s.firefox;
        cleanups.push(() => firefox.close());
      }
      const downloads = join(dir.path, `downloads-${contexts.length + 1}`);
      await mkdir(downloads);
      const context = await newFirefoxUser(s.firefox, downloads);
      contexts.push(context);
      // A puppeteer context has no console event of its own: its pages have.
      onConsole(context, consoleOf(`user ${contexts.length} (Firefox)`));
      return context;
    },
    /** A file of `size` random bytes: `{ path, name, size, sha256 }`. */
    file: (name, size) => randomFile(dir.path, name, size),
    /** Starts the server again on the port it had (after `s.server.stop()`). */
    async restartServer() {
      const address = s.server.address;
      s.server = await startSignaling({ listen: address });
      return s.server;
    },
  };
  // Whichever server is current at the end (a restart replaces it).
  cleanups.push(() => s.server.stop());
  return s;
}

// On failure, a picture of every open page helps more than a stack trace.
async function failureScreenshots(testName, contexts) {
  let i = 0;
  for (const context of contexts) {
    // A puppeteer context's `pages()` is a promise; a Playwright context's is an array.
    for (const page of await context.pages()) {
      await screenshot(page, `failed-${testName}-${i++}`).catch(() => {});
    }
  }
}
