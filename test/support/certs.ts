/**
 * Certificates for the TLS tests, made by openssl in a temporary folder
 * (removed after the test file): a CA, leaves it signed for localhost and
 * 127.0.0.1 that end on a given day (already past for an expired one), and a
 * self-signed one. `openssl ca` sets the dates, so an expired certificate
 * needs no clock tricks.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export interface Pair {
  key: string;
  cert: string;
  certFile: string;
}

const SAN = 'subjectAltName=DNS:localhost,IP:127.0.0.1';
const DAY_MS = 86_400_000;

/** "20261204000000Z", openssl ca's date form. */
function asn1(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

export function testCertificates(prefix = 'ch2-certs-'): {
  dir: string;
  caFile: string;
  /** A leaf signed by the CA, valid from a day ago until `endsInMs` from now (negative: already expired). */
  leaf(endsInMs: number): Pair;
  /** A self-signed certificate, valid for 30 days. */
  selfSigned(): Pair;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const sh = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  sh('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=ch2 test CA');
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    ['[ca]', 'default_ca = d', '[d]', 'database = index.txt', 'serial = serial', 'new_certs_dir = .', 'default_md = sha256', 'policy = p', 'unique_subject = no', '[p]', 'commonName = supplied', '[ext]', SAN.replace('=', ' = '), ''].join('\n'),
  );
  let n = 0;
  const pair = (name: string): Pair => ({ key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.pem`), 'utf8'), certFile: join(dir, `${name}.pem`) });
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    leaf(endsInMs) {
      const name = `leaf-${++n}`;
      const now = Date.now();
      sh('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost');
      sh('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.pem`, '-notext', '-extensions', 'ext', '-startdate', asn1(Math.min(now, now + endsInMs) - DAY_MS), '-enddate', asn1(now + endsInMs));
      return pair(name);
    },
    selfSigned() {
      const name = `self-${++n}`;
      sh('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', '/CN=localhost', '-addext', SAN);
      return pair(name);
    },
  };
}
