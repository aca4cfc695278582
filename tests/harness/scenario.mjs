// One test's world: its own signaling server on a free port, its own browser, one context per simulated user,
// its own temporary files; all of it torn down after the test, also when it fails.
import { test } from 'node:test';
import { launchBrowser, launchPersistentUser } from './browser.mjs';
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
 * `const s = await scenario()`, then `s.user()` for a new user (browser context), `s.file(name, size)` for a
 * random file, `s.server` for the signaling server (`s.restartServer()` brings it back on the same port).
 */
export async function scenario() {
  const cleanups = [];
  const contexts = [];
  // The last console lines of every page, for the failure report (bounded: pages can log a lot).
  const consoleLines = [];
  const watch = (context, who) => {
    context.on('console', (m) => {
      consoleLines.push(`[${who}] ${m.type()}: ${m.text()}`);
      if (consoleLines.length > CONSOLE_LINES) consoleLines.shift();
    });
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
    contexts,
    consoleLines,
    /** Tears everything down: contexts, browser, server, files. Never throws. */
    close,
    /** A new simulated user: its own browser context (its own storage), downloads accepted. */
    async user({ persistent = false } = {}) {
      if (persistent) {
        const user = await launchPersistentUser();
        cleanups.push(user.close);
        contexts.push(user.context);
        watch(user.context, `user ${contexts.length}`);
        return user.context;
      }
      if (!s.browser) {
        s.browser = await launchBrowser();
        const browser = s.browser;
        cleanups.push(() => browser.close());
      }
      const context = await s.browser.newContext({ acceptDownloads: true });
      contexts.push(context);
      watch(context, `user ${contexts.length}`);
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
    for (const page of context.pages()) {
      await screenshot(page, `failed-${testName}-${i++}`).catch(() => {});
    }
  }
}
