/** tcp://host:port checks against real sockets on loopback. */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { createTcpProbe } from '../../agent/checks/tcp-probe.ts';
import { freePort } from '../support/process.ts';

let server: Server;
let port = 0;
let accepted = 0;
const sockets = new Set<Socket>();

before(async () => {
  server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const spec = (url: string, extra: { maxResponseTimeMs?: number } = {}) => ({ url: new URL(url), timeoutMs: 2000, connectTimeoutMs: 1000, ...extra });

test('a listening port is up, and the probe closes its connection', async () => {
  const before = accepted;
  const result = await createTcpProbe(spec(`tcp://127.0.0.1:${port}`)).check();
  assert.equal(result.ok, true);
  assert.equal(result.reason, undefined);
  assert.equal(result.status, undefined);
  assert.ok(result.latencyMs >= 0);
  assert.ok(Math.abs(result.at - Date.now()) < 60_000);
  // The server saw the connection, and the probe did not keep it.
  for (let i = 0; i < 100 && (accepted === before || sockets.size > 0); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(accepted, before + 1);
  assert.equal(sockets.size, 0);
});

test('a closed port is down: connection refused', async () => {
  const closed = await freePort();
  const result = await createTcpProbe(spec(`tcp://127.0.0.1:${closed}`)).check();
  assert.equal(result.ok, false);
  assert.equal(result.reason, 'connection refused');
});

test('a confirming check says so and fails the same way', async () => {
  const closed = await freePort();
  const result = await createTcpProbe(spec(`tcp://127.0.0.1:${closed}`)).check('confirm', 250);
  assert.equal(result.confirm, true);
  assert.equal(result.ok, false);
  assert.equal(result.reason, 'connection refused');
  const good = await createTcpProbe(spec(`tcp://127.0.0.1:${port}`)).check('confirm', 250);
  assert.equal(good.ok, true);
  assert.equal(good.confirm, true);
});

test('IPv6 loopback in brackets', async (t) => {
  const v6 = createServer((s) => s.destroy());
  const ok = await new Promise<boolean>((resolve) => {
    v6.once('error', () => resolve(false));
    v6.listen(0, '::1', () => resolve(true));
  });
  if (!ok) return t.skip('no IPv6 loopback here');
  try {
    const p = (v6.address() as { port: number }).port;
    const result = await createTcpProbe(spec(`tcp://[::1]:${p}`)).check();
    assert.equal(result.ok, true);
  } finally {
    await new Promise((r) => v6.close(r));
  }
});
