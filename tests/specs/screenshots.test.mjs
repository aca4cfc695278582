// Scenario 9: screenshots of the main states (empty app, shared file, download in progress, download complete) are
// saved under artifacts/ for a person to look at. Other specs add theirs (waiting, reconnecting, errors).
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { spec } from '../harness/scenario.mjs';
import { screenshot } from '../harness/artifacts.mjs';
import { openApp, openLink, share, waitComplete, waitCounters, waitStatus } from '../harness/app.mjs';

const MiB = 1024 * 1024;

spec('main_states_are_saved_as_screenshots', { timeout: 120_000 }, async (s) => {
  const file = await s.file('screenshots.bin', 48 * MiB);
  const shots = [];
  const seeder = await openApp(await s.user(), s.server.url);
  await waitStatus(seeder, 'connected');
  shots.push(await screenshot(seeder, 'app-empty'));
  const { link } = await share(seeder, file);
  shots.push(await screenshot(seeder, 'app-shared'));

  const { page, row } = await openLink(await s.user(), link);
  await waitCounters(row, 'a download in progress', (c) => c.state === 'downloading' && c.verifiedPieces >= 1);
  shots.push(await screenshot(page, 'download-in-progress'));
  await waitComplete(row, 90_000);
  shots.push(await screenshot(page, 'download-complete'));
  shots.push(await screenshot(seeder, 'app-shared-after-upload'));

  for (const path of shots) assert.ok((await stat(path)).size > 0, `${path} is a non-empty image`);
});
