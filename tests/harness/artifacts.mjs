// Screenshots of the main states, saved under artifacts/ so a person can look at them.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ARTIFACTS } from './paths.mjs';

/** Saves a full-page screenshot as `artifacts/<name>.png` and returns its path. */
export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name.replace(/[^a-z0-9_-]+/gi, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
