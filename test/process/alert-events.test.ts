/**
 * The mailer bundle's event stream (GET /api/v1/events) carries each accepted
 * alert as `event: alert`, for tests that wait on one (ch2/testcontainers
 * waitForAlert follows it rather than polling GET /alerts): to a reader with
 * the token only, once per alert (a resend of a known id is none), with the
 * hub's incident and the time it arrived. The public view (--public-status,
 * no token) gets the incident event but no alert event: an alert holds its
 * recipient and ids.
 */
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { sseReader } from '../../testcontainers/sse.ts';
import { type Running, startMailer } from '../support/process.ts';

const TOKEN = 'alert-events-token-0123456789';
let mailer: Running;
let port = 0;
const open: IncomingMessage[] = [];

before(async () => {
  const started = await startMailer(['--public-status'], { MAILER_TOKEN: TOKEN });
  mailer = started;
  port = started.port;
});
after(async () => {
  for (const res of open) res.destroy();
  await mailer.stop();
});

interface Stream {
  events: { type: string; data: unknown }[];
  /** Resolves with the nth event of this type (checked on each chunk), or rejects after timeoutMs. */
  next(type: string, timeoutMs: number, nth?: number): Promise<unknown>;
}

function stream(headers: Record<string, string>): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/api/v1/events', agent: false, headers }, (res) => {
      assert.equal(res.statusCode, 200);
      open.push(res);
      const waiters = new Set<() => void>();
      const s: Stream = {
        events: [],
        next: (type, timeoutMs, nth = 1) =>
          new Promise((ok, fail) => {
            const check = (): boolean => {
              const e = s.events.filter((x) => x.type === type)[nth - 1];
              if (!e) return false;
              clearTimeout(timer);
              waiters.delete(wake);
              ok(e.data);
              return true;
            };
            const wake = (): void => void check();
            const timer = setTimeout(() => {
              waiters.delete(wake);
              fail(new Error(`no ${type} event within ${timeoutMs} ms; got ${s.events.map((x) => x.type).join(', ')}`));
            }, timeoutMs);
            if (!check()) waiters.add(wake);
          }),
      };
      res.setEncoding('utf8');
      const read = sseReader((type, data) => {
        if (data !== undefined) s.events.push({ type, data: JSON.parse(data) });
      });
      res.on('data', (chunk: string) => {
        read(chunk);
        for (const wake of [...waiters]) wake();
        if (s.events.some((e) => e.type === 'hello')) resolve(s);
      });
    });
    req.on('error', reject);
  });
}

async function post(alert: Record<string, unknown>): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/alerts`, { method: 'POST', body: JSON.stringify(alert), headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
  await res.arrayBuffer();
  return res.status;
}

test('each accepted alert is an alert event for the token holder, once; the public gets none', { timeout: 15_000 }, async () => {
  const full = await stream({ authorization: `Bearer ${TOKEN}` });
  const reader = await stream({});
  const before = Date.now();
  const sent = { id: 'alert-events-1', to: 'admin@work', message: 'The shop is down!', status: 'down', target: 'http://shop/', reason: 'connection refused', incident: 'inc-1', agent: 'watcher' };
  assert.equal(await post(sent), 202);
  const got = (await full.next('alert', 5_000)) as Record<string, unknown>;
  assert.deepEqual({ ...got, receivedAt: undefined }, { ...sent, incident: 'inc-1', held: false, receivedAt: undefined });
  assert.ok(Date.parse(String(got.receivedAt)) >= before - 1000, `receivedAt ${String(got.receivedAt)}`);
  // The public reader hears of the incident, and of no alert.
  await reader.next('incident', 5_000);
  // The same id again: a duplicate, no second event; a new alert is the next one.
  assert.equal(await post(sent), 202);
  assert.equal(await post({ ...sent, id: 'alert-events-2', status: 'up', message: 'The shop is back up.' }), 202);
  await full.next('alert', 5_000, 2);
  assert.deepEqual(full.events.filter((e) => e.type === 'alert').map((e) => (e.data as { id: string }).id), ['alert-events-1', 'alert-events-2']);
  // The public stream gets every incident event the full one got by then (written in the same turn): no alert among them.
  await reader.next('incident', 5_000, full.events.filter((e) => e.type === 'incident').length);
  assert.deepEqual(reader.events.filter((e) => e.type === 'alert'), []);
});
