// Debian's Chromium driven by playwright-core (which never downloads a browser): one browser per test, one context
// per simulated user; tabs of one user are pages of one context, so they share OPFS and BroadcastChannel.
import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM } from './paths.mjs';

/** The flags that work on the project's machines (../shared/ENVIRONMENT.md). */
export const CHROMIUM_ARGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Host candidates as plain IPs: mDNS names would need multicast, which the namespace does not route.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // Background tabs (several users in one browser) must not be throttled: they are other people's machines.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  // Root cannot use Chromium's sandbox.
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
];

export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A user whose storage lives in a profile directory on disk (a persistent context, its own browser process), for
 * tests where OPFS must be on disk rather than in an off-the-record context's memory (large files, quota). The
 * profile goes in a new directory under `profileParent` (a small file system, for a disk that fills up).
 */
export async function launchPersistentUser({ profileParent = tmpdir() } = {}) {
  const dir = await mkdtemp(join(profileParent, 'p2p-share-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
