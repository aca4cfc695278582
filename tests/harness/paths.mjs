// Where things are: the repository root, the signaling binary, the browsers, the artifacts directory.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The app the signaling server serves; P2P_WWW points elsewhere (a bench of a build that is not in www/pkg). */
export const WWW = process.env.P2P_WWW ? resolve(process.env.P2P_WWW) : join(ROOT, 'www');
/** Screenshots for people to look at (git-ignored); CI keeps them as artifacts. */
export const ARTIFACTS = join(ROOT, 'artifacts');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
/** scripts/test.sh sets SIGNALING_BIN; run by hand, the debug build is used. */
export const SIGNALING_BIN = process.env.SIGNALING_BIN || join(targetDir, 'debug', 'signaling');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** Debian's stock Firefox ESR, for the cross-engine specs (scripts/lib/ensure.sh installs it). */
export const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
