// A test certificate authority and a certificate for 127.0.0.1 and 10.77.0.1 (the test namespace's address) it signed (openssl), as a real private authority
// would issue: rustls refuses a self-signed certificate marked as a CA when it is served as the end entity.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes them into `dir`; resolves with the paths: `ca` (for --ca-cert), `cert` and `key` (to serve). */
export async function makeCertificate(dir) {
  const path = (name) => join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=p2p-share test CA', '-keyout', path('ca.key'),
    '-out', path('ca.pem'));
  openssl('req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', path('key.pem'), '-out', path('server.csr'));
  await writeFile(path('san.ext'), 'subjectAltName=IP:127.0.0.1,IP:10.77.0.1\nbasicConstraints=critical,CA:FALSE\n');
  openssl('x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'),
    '-CAcreateserial', '-days', '1', '-extfile', path('san.ext'), '-out', path('cert.pem'));
  return { ca: path('ca.pem'), cert: path('cert.pem'), key: path('key.pem') };
}
