// Scenario 6: the signaling server stops mid-transfer: transfers already running complete; the page shows the
// lost connection; when the server returns, new peers can join.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { screenshot } from '../harness/artifacts.mjs';
import {
  counters,
  openApp,
  openLink,
  saveAndHash,
  seed,
  waitComplete,
  waitCounters,
  waitStatus,
} from '../harness/app.mjs';

const MiB = 1024 * 1024;
spec('running_transfer_completes_while_signaling_is_down', { timeout: 150_000 }, async (s) => {
  const file = await s.file('outage-running.bin', 64 * MiB);
  const { link } = await seed(await s.user(), s.server.url, file);
  const { page, row } = await openLink(await s.user(), link);
  await waitCounters(row, 'a first verified piece', (c) => c.verifiedPieces >= 1);

  await s.server.stop();
  await waitStatus(page, 'reconnecting');
  const atStop = await counters(row);
  assert.ok(atStop.verifiedPieces < atStop.totalPieces, 'the server stopped mid-transfer');

  await waitComplete(row, 90_000);
  const saved = await saveAndHash(row);
  assert.equal(saved.sha256, file.sha256);
});

spec('page_shows_lost_signaling_connection_and_recovers_when_server_returns', { timeout: 120_000 }, async (s) => {
  const page = await openApp(await s.user(), s.server.url);
  await waitStatus(page, 'connected');

  await s.server.stop();
  await waitStatus(page, 'reconnecting');
  await screenshot(page, 'signaling-reconnecting');

  await s.restartServer();
  // Reconnection backs off with jitter; a minute covers several attempts.
  await waitStatus(page, 'connected', 60_000);
});

spec('new_peer_joins_after_signaling_returns', { timeout: 150_000 }, async (s) => {
  const file = await s.file('outage-join.bin', 4 * MiB);
  const { page: seeder, link } = await seed(await s.user(), s.server.url, file);

  await s.server.stop();
  await waitStatus(seeder, 'reconnecting');
  await s.restartServer();
  await waitStatus(seeder, 'connected', 60_000);

  // The seeder rejoined its swarm on reconnection: a newcomer finds it.
  const { row } = await openLink(await s.user(), link);
  await waitComplete(row, 90_000);
  const saved = await saveAndHash(row);
  assert.equal(saved.sha256, file.sha256);
});
