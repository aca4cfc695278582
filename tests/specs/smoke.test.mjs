// The app loads: the wasm is fetched and started (ready flag) and the page connects to the signaling server.
import { spec } from '../harness/scenario.mjs';
import { assertNoCrash, openApp, waitStatus } from '../harness/app.mjs';
import { screenshot } from '../harness/artifacts.mjs';

spec('app_loads_and_connects_to_signaling', { timeout: 60_000 }, async (s) => {
  const page = await openApp(await s.user(), s.server.url);
  await waitStatus(page, 'connected');
  await screenshot(page, 'smoke-connected');
  assertNoCrash(page);
});
