/**
 * HTTP checks against a real HTTP server on loopback: status, body keywords, response time, timeouts,
 * kept-alive and fresh connections. Every test runs on both backends (node:http and undici).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { parseExpectStatus } from '../../agent/expect-status.ts';
import { HttpConnections, UNDICI_CHECKS_PER_SECOND } from '../../agent/checks/http-connections.ts';
import { createHttpProbe } from '../../agent/checks/http-probe.ts';
import type { TargetSpec } from '../../agent/target.ts';
import { freePort } from '../support/process.ts';
import { sampleTarget } from '../support/sample-target.ts';

let server: Server;
let base = '';
let connections = 0;
const sockets = new Set<Socket>();
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/': (_q, res) => res.end('Welcome to nginx!'),
  '/error': (_q, res) => {
    res.statusCode = 503;
    res.end('Service Unavailable');
  },
  '/redirect': (_q, res) => {
    res.writeHead(302, { location: '/' });
    res.end();
  },
  '/maintenance': (_q, res) => res.end('<h1>Down for maintenance</h1>'),
  // nginx's answer to the request in flight as it stops gracefully; also a server that never keeps alive.
  '/last': (_q, res) => {
    res.setHeader('connection', 'close');
    res.end('bye');
  },
  '/slow': (_q, res) => void setTimeout(() => res.end('late'), 300),
  '/hang': () => {},
  '/big': (_q, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const more = (): void => {
      while (sent < 40 && res.write(chunk)) sent += 1;
      if (sent >= 40) res.end();
      else res.once('drain', () => ((sent += 1), more()));
    };
    more();
  },
};

before(async () => {
  server = createServer((req, res) => (routes[req.url ?? '/'] ?? ((_q, r) => ((r.statusCode = 404), r.end())))(req, res));
  server.on('connection', (s) => {
    connections += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(async () => {
  for (const pool of Object.values(pools)) await pool.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const BACKENDS = ['node', 'undici'] as const;
type Backend = (typeof BACKENDS)[number];
const pools: Record<Backend, HttpConnections> = { node: new HttpConnections({ backend: 'node' }), undici: new HttpConnections({ backend: 'undici' }) };

function spec(path: string, extra: Partial<TargetSpec> = {}): TargetSpec {
  return sampleTarget(new URL(path, base).href, { intervalMs: 1000, message: 'down', upMessage: 'up', ...extra });
}

for (const backend of BACKENDS) {
  const pool = pools[backend];
  function probe(path: string, extra: Partial<TargetSpec> = {}) {
    const s = spec(path, extra);
    pool.register(s);
    return createHttpProbe(s, pool);
  }

  test(`${backend}: a 200 is up, with its status and latency`, async () => {
    const r = await probe('/').check();
    assert.equal(r.ok, true);
    assert.equal(r.status, 200);
    assert.equal(r.reason, undefined);
    assert.ok(r.latencyMs > 0);
  });

  test(`${backend}: a redirect is up by default; a 503 is down, named by its status`, async () => {
    assert.equal((await probe('/redirect').check()).ok, true);
    const r = await probe('/error').check();
    assert.deepEqual([r.ok, r.status, r.reason], [false, 503, 'HTTP 503']);
    const strict = await probe('/redirect', { expectStatus: parseExpectStatus('200') }).check();
    assert.deepEqual([strict.ok, strict.reason], [false, 'HTTP 302']);
  });

  test(`${backend}: bodyContains and bodyNotContains`, async () => {
    assert.equal((await probe('/', { bodyContains: 'Welcome' }).check()).ok, true);
    const missing = await probe('/maintenance', { bodyContains: 'Welcome' }).check();
    assert.deepEqual([missing.ok, missing.reason], [false, 'body does not contain "Welcome"']);
    const present = await probe('/maintenance', { bodyNotContains: 'maintenance' }).check();
    assert.deepEqual([present.ok, present.reason], [false, 'body contains "maintenance"']);
    assert.equal((await probe('/', { bodyNotContains: 'maintenance' }).check()).ok, true);
  });

  test(`${backend}: a body larger than what is read is still judged`, async () => {
    assert.equal((await probe('/big').check()).ok, true);
    assert.equal((await probe('/big', { bodyContains: 'aaaa' }).check()).ok, true);
    const r = await probe('/big', { bodyNotContains: 'aaaa' }).check();
    assert.equal(r.ok, false);
  });

  test(`${backend}: maxResponseTime: a good answer that comes too late is down`, async () => {
    const r = await probe('/slow', { maxResponseTimeMs: 50 }).check();
    assert.equal(r.ok, false);
    assert.equal(r.status, 200);
    assert.match(r.reason ?? '', /^slow: \d+ms, over 50ms$/);
    assert.equal((await probe('/slow', { maxResponseTimeMs: 5000 }).check()).ok, true);
  });

  test(`${backend}: a server that never answers is down after the timeout`, async () => {
    const r = await probe('/hang', { timeoutMs: 200 }).check();
    assert.deepEqual([r.ok, r.reason, r.status], [false, 'timeout after 200ms', undefined]);
  });

  test(`${backend}: a closed port is down: connection refused, on both kinds of check`, async () => {
    const port = await freePort();
    const s = spec('/', { url: new URL(`http://127.0.0.1:${port}/`) });
    pool.register(s);
    const p = createHttpProbe(s, pool);
    assert.equal((await p.check()).reason, 'connection refused');
    const c = await p.check('confirm', 250);
    assert.deepEqual([c.ok, c.reason, c.confirm], [false, 'connection refused', true]);
  });

  test(`${backend}: normal checks keep one connection alive; a confirming check opens a fresh one and closes it`, async () => {
    const p = probe('/');
    await p.check();
    const before = connections;
    for (let i = 0; i < 5; i++) assert.equal((await p.check()).ok, true);
    assert.equal(connections, before, 'five checks, no new connection');
    const c = await p.check('confirm', 250);
    assert.equal(c.ok, true);
    assert.equal(c.confirm, true);
    assert.equal(connections, before + 1, 'the confirming check used a connection of its own');
  });

  test(`${backend}: the pool reports a server that closes its kept-alive connection`, async () => {
    const closed: string[] = [];
    const watcher = new HttpConnections({ backend, onServerClose: (origin) => closed.push(origin) });
    try {
      const s = spec('/');
      watcher.register(s);
      assert.equal((await createHttpProbe(s, watcher).check()).ok, true);
      assert.equal(closed.length, 0);
      for (const socket of sockets) socket.end();
      for (let i = 0; i < 200 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(closed, [new URL(base).origin]);
    } finally {
      await watcher.close();
    }
  });
}

test('node: a Connection: close on a connection kept alive before is reported (nginx stopping); one on every answer is not', async () => {
  const closed: string[] = [];
  const watcher = new HttpConnections({ backend: 'node', onServerClose: (origin) => closed.push(origin) });
  const settle = async (): Promise<void> => {
    // The close follows the answer by a moment: wait for the server's side of the socket to go.
    for (let i = 0; i < 200 && sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setImmediate(r));
  };
  try {
    server.closeAllConnections();
    await settle();
    const always = spec('/last');
    watcher.register(always);
    for (let i = 0; i < 3; i++) assert.equal((await createHttpProbe(always, watcher).check()).ok, true);
    await settle();
    assert.deepEqual(closed, [], 'a server that closes after every answer is not going away');
    const kept = spec('/');
    const last = spec('/last');
    assert.equal((await createHttpProbe(kept, watcher).check()).ok, true);
    assert.equal((await createHttpProbe(kept, watcher).check()).ok, true);
    assert.equal((await createHttpProbe(last, watcher).check()).ok, true);
    for (let i = 0; i < 200 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(closed, [new URL(base).origin]);
  } finally {
    await watcher.close();
  }
});

test('auto: node:http below UNDICI_CHECKS_PER_SECOND checks a second, undici from there on', async () => {
  const few = new HttpConnections();
  const many = new HttpConnections();
  try {
    for (let i = 0; i < UNDICI_CHECKS_PER_SECOND - 1; i++) few.register(spec(`/t${i}`));
    for (let i = 0; i < UNDICI_CHECKS_PER_SECOND / 2; i++) many.register(spec(`/t${i}`, { intervalMs: 500 }));
    assert.equal(few.undici(), undefined);
    assert.ok(await many.undici());
  } finally {
    await Promise.all([few.close(), many.close()]);
  }
});
