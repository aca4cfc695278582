// Scenario 4: a link to content nobody has: the page says so and keeps waiting; when a seeder appears later, the
// download starts and completes.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { screenshot } from '../harness/artifacts.mjs';
import {
  assertNoCrash,
  counters,
  errors,
  openApp,
  openLink,
  saveAndHash,
  share,
  waitComplete,
  waitStatus,
} from '../harness/app.mjs';

const MiB = 1024 * 1024;

spec('link_nobody_seeds_waits_then_completes_once_a_seeder_appears', { timeout: 150_000 }, async (s) => {
  const file = await s.file('nobody-has-it.bin', 4 * MiB);
  // The link is learnt from a user who shares and then leaves entirely (context closed: no tab, no storage).
  const firstContext = await s.user();
  const first = await openApp(firstContext, s.server.url);
  await waitStatus(first, 'connected');
  const { link } = await share(first, file);
  await firstContext.close();

  const { page, row } = await openLink(await s.user(), link);
  await waitStatus(page, 'connected');
  // Connected, joined, nobody there: waiting, with no peer, and no error.
  const waiting = await counters(row);
  assert.equal(waiting.state, 'waiting');
  assert.equal(waiting.peers, 0);
  assert.equal(await errors(page), '');
  await screenshot(page, 'nobody-has-it-waiting');

  const seeder = await openApp(await s.user(), s.server.url);
  await waitStatus(seeder, 'connected');
  const again = await share(seeder, file);
  assert.equal(again.link, link, 'the same bytes give the same link');

  await waitComplete(row, 90_000);
  const saved = await saveAndHash(row);
  assert.equal(saved.sha256, file.sha256);
  assertNoCrash(page);
});
