// The page's vendored libraries (www/vendor/NAME/) must be byte for byte the files of the npm package of the version
// package.json pins, so that an update is `npm install NAME@X` plus copying its files, never a hand edit. Run by
// `npm test`; exits 1 naming what differs.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies;
let failed = false;
for (const name of readdirSync(join(root, 'www/vendor'))) {
  const installed = join(root, 'node_modules', name);
  const version = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version;
  if (pinned[name] !== version) {
    console.error(`www/vendor/${name}: package.json pins ${pinned[name]}, node_modules has ${version}`);
    failed = true;
  }
  for (const file of readdirSync(join(root, 'www/vendor', name))) {
    if (!readFileSync(join(root, 'www/vendor', name, file)).equals(readFileSync(join(installed, file)))) {
      console.error(`www/vendor/${name}/${file} differs from ${name}@${version}'s; copy it from node_modules/${name}`);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
