/**
 * The agent bundle against real TLS servers (node:https, certificates made by
 * openssl): --ca-file (CA_FILE) for a private CA, a config file's caFile and
 * insecure: true (with its warning at start), readable TLS failures, and a bad
 * CA file refused at start (exit 2, one line).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { after, test } from 'node:test';
import { testCertificates } from '../support/certs.ts';
import { configFiles } from '../support/config-files.ts';
import { metricsPort, run, start, startMailer } from '../support/process.ts';

const certs = testCertificates();
const { file } = configFiles('ch2-tls-proc-');
const DAY_MS = 86_400_000;
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function https(pair: { key: string; cert: string }): Promise<number> {
  const server = createServer(pair, (_req, res) => res.end('ok'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const good = await https(certs.leaf(30 * DAY_MS));
const expired = await https(certs.leaf(-3 * DAY_MS - 3_600_000));
const self = await https(certs.selfSigned());
// Nobody listens at the mailer's port: these tests read the agent's own lines.
const MAILER = ['--mailer', '127.0.0.1:9'];

test('--ca-file trusts a private CA; without it the check says the CA is unknown', async () => {
  const without = start('agent', ['--target', `https://localhost:${good}/`, ...MAILER]);
  const withCa = start('agent', ['--target', `https://localhost:${good}/`, ...MAILER], { CA_FILE: certs.caFile });
  try {
    await without.waitFor(/System down: TLS error: certificate signed by an unknown CA \(trust it with --ca-file\)\./);
    await withCa.waitFor(/^System up\.$/m);
  } finally {
    await Promise.all([without.stop(), withCa.stop()]);
  }
});

test('an expired certificate: "TLS error: certificate expired 3 days ago"', async () => {
  const agent = start('agent', ['--target', `https://localhost:${expired}/`, '--ca-file', certs.caFile, ...MAILER]);
  try {
    await agent.waitFor(/System down: TLS error: certificate expired 3 days ago\./);
  } finally {
    await agent.stop();
  }
});

test('insecure: true in a config file: up on a self-signed certificate, with a warning at start', async () => {
  const path = file(`targets:\n  - name: lab\n    url: https://localhost:${self}/\n    insecure: true\n  - name: strict\n    url: https://127.0.0.1:${self}/\n`, 'yaml');
  const agent = start('agent', ['--config', path, '--view', 'lines', '--log-level', 'debug', ...MAILER]);
  try {
    await agent.waitFor(/TLS certificates are not verified \(insecure: true\) for lab: anyone on the way can pose as this site\./);
    await agent.waitFor(/lab: up/i);
    await agent.waitFor(/strict: check failed: TLS error: self-signed certificate \(trust it with --ca-file, or set insecure: true\)/);
  } finally {
    await agent.stop();
  }
});

test('a CA file that cannot be read or holds no certificate stops the agent with one line (exit 2)', () => {
  const missing = run('agent', ['--ca-file', '/nonexistent/ca.pem']);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  assert.match(missing.stderr, /--ca-file.*cannot read "\/nonexistent\/ca\.pem": no such file/);
  const notPem = file('not a certificate', 'pem');
  const bad = run('agent', [], { CA_FILE: notPem });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /holds no PEM certificate/);
  const http = file(`{"targets": [{"url": "http://localhost/", "insecure": true}]}`);
  const refused = run('agent', ['--config', http]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /"insecure": applies to https:\/\/ targets only\./);
});

test('--cert-expiry 14d: a certificate that expires in 3 days opens an incident, reminds, shows in the metrics; the renewal sends the up', async () => {
  const soon = certs.leaf(3 * DAY_MS + 3_600_000);
  const server = createServer(soon, (_req, res) => res.end('ok'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const mailer = await startMailer();
  const agent = start('agent', [
    '--target', `https://localhost:${port}/`, '--ca-file', certs.caFile, '--cert-expiry', '14d', '--interval', '200ms',
    '--remind-every', '1s', '--mailer', `127.0.0.1:${mailer.port}`, '--metrics-port', '0',
  ]);
  try {
    const metrics = await metricsPort(agent);
    const down = await agent.waitFor(/Alert: https:\/\/localhost:\d+\/ is down \(certificate expires in 3 days \((\d{4}-\d\d-\d\d)\)\); telling the mailer\./);
    assert.equal(down[1], new Date(Date.now() + 3 * DAY_MS + 3_600_000).toISOString().slice(0, 10));
    await mailer.waitFor(/Sending email: To: admin@work Message: The service is down!/);
    await agent.waitFor(/is still down after .*reminder 1/);
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    const seconds = Number(/^ch2_cert_expiry_seconds\{target="https:\/\/localhost:\d+\/"\} (-?\d+)$/m.exec(text)?.[1]);
    assert.ok(Math.abs(seconds - (3 * DAY_MS + 3_600_000) / 1000) < 120, `ch2_cert_expiry_seconds ${seconds}`);
    // Renewed: the kept-alive connection still has the old certificate; the agent must see the new one.
    server.setSecureContext(certs.leaf(20 * DAY_MS));
    await agent.waitFor(/Alert: https:\/\/localhost:\d+\/ is up \(down for [^)]*\); telling the mailer\./);
    await mailer.waitFor(/Sending email: To: admin@work Message: The service is back up\./);
  } finally {
    await Promise.all([agent.stop(), mailer.stop()]);
  }
});
