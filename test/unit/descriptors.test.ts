/**
 * The checks within the descriptors the agent has: the budget from the
 * open-file limit, the slots that make the other checks wait, and the sockets
 * kept within the budget (the longest-idle closed to make room).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { CheckSlots } from '../../agent/checks/check-slots.ts';
import { CheckSockets } from '../../agent/checks/check-sockets.ts';
import { budgetLine, descriptorBudget, OWN_DESCRIPTORS } from '../../agent/checks/descriptors.ts';
import { HttpConnections, MAX_CONNECTIONS_PER_ORIGIN } from '../../agent/checks/http-connections.ts';
import { createNodeHttpProbe } from '../../agent/checks/http-probe.ts';
import type { CheckResult } from '../../agent/checks/probe.ts';
import { Monitor } from '../../agent/incidents/monitor.ts';
import { DEFAULT_SETTINGS, type TargetSpec } from '../../agent/target.ts';

function target(url: string, extra: Partial<TargetSpec> = {}): TargetSpec {
  const u = new URL(url);
  return { ...DEFAULT_SETTINGS, name: u.href, url: u, kind: u.protocol === 'tcp:' ? 'tcp' : 'http', ...extra };
}
const many = (n: number, url: (i: number) => string): TargetSpec[] => Array.from({ length: n }, (_, i) => target(url(i)));

test('the budget: the open-file limit less the agent\'s own, against one connection per target (at most MAX_CONNECTIONS_PER_ORIGIN an origin) and per tcp:// target', () => {
  const oneOrigin = many(1000, (i) => `http://web:80/${i}`);
  assert.deepEqual(descriptorBudget(oneOrigin, () => 256), { openFiles: 256, known: true, checksAtOnce: 256 - OWN_DESCRIPTORS, wanted: 1000, capped: true });
  assert.equal(descriptorBudget(oneOrigin, () => 1064).capped, false);
  assert.equal(descriptorBudget(oneOrigin, () => 1063).capped, true);
  const mixed = [...many(3000, (i) => `http://big:80/${i}`), ...many(5, (i) => `https://site${i}.example/`), ...many(7, (i) => `tcp://db${i}:5432`)];
  assert.equal(descriptorBudget(mixed, () => 1 << 20).wanted, MAX_CONNECTIONS_PER_ORIGIN + 5 + 7);
  assert.equal(descriptorBudget([target('http://insideweb:80/')], () => 20).checksAtOnce, 8, 'at least 8 checks at a time');
  const unknown = descriptorBudget(oneOrigin, () => undefined);
  assert.deepEqual([unknown.openFiles, unknown.known, unknown.checksAtOnce], [1024, false, 1024 - OWN_DESCRIPTORS]);
  assert.equal(
    budgetLine(descriptorBudget(oneOrigin, () => 256), 1000),
    'The open-file limit is 256: 192 checks at a time (64 descriptors kept for the agent itself), where the 1000 targets could use 1000 connections at once; ' +
      'the other checks wait their turn and may start late. To check every target on time: docker run --ulimit nofile=1064.',
  );
});

test('slots: at most `limit` at once, the others first come first served; a long queue of stopped checks drains without recursion', () => {
  const slots = new CheckSlots(2);
  const started: number[] = [];
  for (let i = 0; i < 5; i++) slots.take(() => started.push(i));
  assert.deepEqual([started, slots.inFlight, slots.waiting], [[0, 1], 2, 3]);
  slots.release();
  slots.release();
  assert.deepEqual([started, slots.inFlight, slots.waiting], [[0, 1, 2, 3], 2, 1]);
  slots.release();
  slots.release();
  slots.release();
  assert.deepEqual([started, slots.inFlight, slots.waiting], [[0, 1, 2, 3, 4], 0, 0]);
  // 100,000 waiting checks whose targets stopped: each hands its slot on at once.
  const busy = new CheckSlots(1);
  busy.take(() => {});
  let ran = 0;
  for (let i = 0; i < 100_000; i++) busy.take(() => ((ran += 1), busy.release()));
  busy.release();
  assert.deepEqual([ran, busy.inFlight, busy.waiting], [100_000, 0, 0]);
});

test('sockets: at the limit a new one first closes the longest-idle one (counted off at once); a busy one is never closed', () => {
  const sockets = new CheckSockets(3);
  const [a, b, c, d] = [new PassThrough(), new PassThrough(), new PassThrough(), new PassThrough()];
  for (const s of [a, b, c]) {
    sockets.makeRoom();
    sockets.opened(s);
  }
  sockets.idled(b);
  sockets.idled(a);
  sockets.idled(c);
  sockets.busy(c);
  sockets.makeRoom();
  sockets.opened(d);
  assert.deepEqual([b.destroyed, a.destroyed, c.destroyed], [true, false, false]);
  assert.ok(sockets.evicted(b) && !sockets.evicted(a));
  assert.deepEqual([sockets.open, sockets.idle], [3, 1]);
  sockets.busy(a);
  sockets.makeRoom();
  assert.equal(sockets.open, 3, 'no idle socket: nothing closed (the slots keep the busy ones within the limit)');
});

/** A site on 0.0.0.0 (every 127.x.y.z address is an origin of its own); `until` waits for its connections to fall to `n`. */
async function site(): Promise<{ server: Server; port: number; until: (n: number) => Promise<void> }> {
  const conns = new Set<Socket>();
  let closed: () => void = () => {};
  const server = createServer((_req, res) => res.end('ok'));
  server.on('connection', (s) => {
    conns.add(s);
    s.on('close', () => {
      conns.delete(s);
      closed();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const until = (n: number): Promise<void> =>
    new Promise((resolve) => {
      closed = () => {
        if (conns.size <= n) resolve();
      };
      closed();
    });
  return { server, port: (server.address() as AddressInfo).port, until };
}

test('many origins over the budget: kept-alive connections take turns within it, and closing an idle one to make room is not a server close', async () => {
  const web = await site();
  const closes: string[] = [];
  const sockets = new CheckSockets(3);
  const connections = new HttpConnections({ backend: 'node', sockets, onServerClose: (origin) => closes.push(origin) });
  const specs = many(8, (i) => `http://127.0.0.${i + 1}:${web.port}/`);
  for (const s of specs) connections.register(s);
  const probes = specs.map((s) => createNodeHttpProbe(s, connections));
  try {
    for (let round = 0; round < 3; round++) {
      for (const probe of probes) {
        const result = await probe.check();
        assert.equal(result.ok, true, JSON.stringify(result));
        assert.ok(sockets.open <= 3, `${sockets.open} check sockets open`);
      }
    }
    // The closed ones reach the site after their close on our side, where it would have been reported.
    await web.until(3);
    assert.deepEqual(closes, [], 'no close was reported as the server\'s');
  } finally {
    await connections.close();
    web.server.closeAllConnections();
    await new Promise<void>((resolve) => web.server.close(() => resolve()));
  }
});

test('a capped monitor starts at most checksAtOnce checks at a time (a probe, and its timeout, starts only with a slot); the others start late', async () => {
  const targets = many(30, (i) => `http://web.test/${i}`).map((t) => ({ ...t, intervalMs: 100, timeoutMs: 100 }));
  let inFlight = 0;
  let most = 0;
  const results: CheckResult[] = [];
  let enough: () => void = () => {};
  const done = new Promise<void>((resolve) => (enough = resolve));
  const monitor = new Monitor({
    targets,
    origin: { agent: 'agent-a', instance: '6f1c2d3e-0000-4000-8000-00000000abcd' },
    enqueue: () => {},
    events: {
      check: (_t, r) => {
        results.push(r);
        if (results.length >= 60) enough();
      },
    },
    budget: { openFiles: 72, known: true, checksAtOnce: 8, wanted: 30, capped: true },
    probeFor: () => ({
      async check() {
        inFlight += 1;
        most = Math.max(most, inFlight);
        const at = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 60));
        inFlight -= 1;
        return { ok: true, latencyMs: 60, at };
      },
    }),
  });
  monitor.start();
  await done;
  await monitor.stop();
  assert.equal(most, 8);
  assert.ok(results.every((r) => r.ok));
  assert.ok(results.some((r) => (r.lateMs ?? 0) > 50), 'some checks waited their turn');
});
