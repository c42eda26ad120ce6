/**
 * The HTTP checks of https targets against real TLS servers (node:https with
 * certificates openssl made), on both backends: a private CA trusted through
 * caFile, insecure: true, and each TLS failure in one readable line.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:https';
import { after, test } from 'node:test';
import { HttpConnections } from '../../agent/checks/http-connections.ts';
import { createHttpProbe } from '../../agent/checks/http-probe.ts';
import { caFileValue } from '../../agent/setting-values.ts';
import type { TargetSpec } from '../../agent/target.ts';
import { testCertificates } from '../support/certs.ts';
import { sampleTarget } from '../support/sample-target.ts';

const certs = testCertificates();
const DAY_MS = 86_400_000;
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return (server.address() as { port: number }).port;
}
const https = (pair: { key: string; cert: string }) => listen(createServer(pair, (_req, res) => res.end('ok')));

const good = await https(certs.leaf(30 * DAY_MS));
const expired = await https(certs.leaf(-3 * DAY_MS - 3_600_000));
const self = await https(certs.selfSigned());
const plain = await listen(createHttpServer((_req, res) => res.end('plain')));
const ca = caFileValue(certs.caFile);
const soonServer = createServer(certs.leaf(3 * DAY_MS + 3_600_000), (_req, res) => res.end('ok'));
const soon = await listen(soonServer);

for (const backend of ['node', 'undici'] as const) {
  const pool = new HttpConnections({ backend });
  after(() => pool.close());
  // Every target registered before the first check, as the monitor does (undici takes the origins' settings then).
  const specs = new Map<string, TargetSpec>();
  const target = (port: number, extra: Partial<TargetSpec> = {}, host = 'localhost'): string => {
    const spec = sampleTarget(`https://${host}:${port}/`, extra);
    pool.register(spec);
    specs.set(`${host}:${port}`, spec);
    return `${host}:${port}`;
  };
  target(good);
  target(good, ca, '127.0.0.1');
  target(expired, ca);
  target(self);
  target(self, { insecure: true }, '127.0.0.1');
  target(plain);
  target(soon, { ...ca, certExpiryMs: 14 * DAY_MS });
  const check = (port: number, host = 'localhost') => createHttpProbe(specs.get(`${host}:${port}`)!, pool).check();

  test(`${backend}: a private CA's certificate is refused without caFile, and up with it`, async () => {
    const without = await check(good);
    assert.equal(without.ok, false);
    assert.equal(without.reason, 'TLS error: certificate signed by an unknown CA (trust it with --ca-file)');
    const withCa = await check(good, '127.0.0.1');
    assert.equal(withCa.ok, true, withCa.reason);
  });

  test(`${backend}: an expired certificate says how long ago`, async () => {
    const result = await check(expired);
    assert.equal(result.reason, 'TLS error: certificate expired 3 days ago');
  });

  test(`${backend}: a self-signed certificate, and insecure: true`, async () => {
    assert.equal((await check(self)).reason, 'TLS error: self-signed certificate (trust it with --ca-file, or set insecure: true)');
    const insecure = await check(self, '127.0.0.1');
    assert.equal(insecure.ok, true, insecure.reason);
  });

  test(`${backend}: certExpiry: a certificate within the window is down with the days left, until a renewed one is seen`, async () => {
    soonServer.setSecureContext(certs.leaf(3 * DAY_MS + 3_600_000));
    const probe = createHttpProbe(specs.get(`localhost:${soon}`)!, pool);
    const first = await probe.check();
    assert.match(first.reason ?? '', /^certificate expires in 3 days \(\d{4}-\d\d-\d\d\)$/);
    assert.ok(Math.abs((first.certExpiresAt ?? 0) - Date.now() - 3 * DAY_MS - 3_600_000) < 120_000);
    assert.equal((await probe.check()).ok, false, 'the kept-alive connection (or a fresh one) still shows the old certificate');
    soonServer.setSecureContext(certs.leaf(20 * DAY_MS));
    const renewed = await probe.check();
    assert.equal(renewed.ok, true, renewed.reason);
    assert.ok((renewed.certExpiresAt ?? 0) - Date.now() > 19 * DAY_MS);
  });

  test(`${backend}: plain HTTP on an https URL is named so`, async () => {
    assert.equal((await check(plain)).reason, 'TLS error: the server speaks plain HTTP on this port');
  });
}
