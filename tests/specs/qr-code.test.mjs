// A share's QR code: the page loads its QR module (peer-wasm/qr) only when a code is first asked for, and shows
// the link as an SVG QR code; the main module does not carry the encoder.
import assert from 'node:assert/strict';
import { spec } from '../harness/scenario.mjs';
import { assertNoCrash, seed } from '../harness/app.mjs';

spec('a_share_shows_its_qr_code_from_a_module_loaded_on_demand', { timeout: 60_000 }, async (s) => {
  const file = await s.file('qr.bin', 10_000);
  const context = await s.user();
  const fetched = [];
  context.on('request', (r) => fetched.push(new URL(r.url()).pathname));
  const { page, row } = await seed(context, s.server.url, file);
  assert.ok(!fetched.some((p) => p.includes('peer_wasm_qr')), `the QR module was fetched before it was needed`);

  const button = row.locator('.show-qr');
  await button.click();
  const svg = row.locator('.qr svg');
  await svg.waitFor({ timeout: 15_000 });
  assert.equal(await button.getAttribute('aria-expanded'), 'true');
  assert.equal(await svg.getAttribute('role'), 'img');
  // A link of about 90 characters is a version 5 or 6 code: hundreds of dark modules, one path command each.
  const modules = (await row.locator('.qr path').getAttribute('d')).split('M').length - 1;
  assert.ok(modules > 200, `only ${modules} dark modules`);
  assert.ok(fetched.some((p) => p.endsWith('/pkg/peer_wasm_qr_bg.wasm')), 'the QR module came on demand');

  await button.click();
  assert.equal(await row.locator('.qr').isHidden(), true, 'a second click hides the code');
  assertNoCrash(page);
});
