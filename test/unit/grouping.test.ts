/**
 * The dispatcher's storm controls on a recording channel: grouping (one
 * message per recipient for what arrives within the wait, at most 50 alerts
 * a message, each alert settled on its own), the per-destination rate limit
 * and the pauses a receiver asks for, per-target order kept while grouping,
 * and routing by match.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Channel, RateLimit } from '../../mailer/delivery/channels/channel.ts';
import { Dispatcher } from '../../mailer/delivery/dispatcher.ts';
import { compileMatch } from '../../shared/alert-match.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import { createLogger } from '../../shared/logger.ts';
import { permanent, type SendResult, sent, transient } from '../../shared/send-result.ts';
import { MemoryOutbox } from '../support/memory-store.ts';

const FAST = { baseMs: 5, maxMs: 20, jitter: 0 };
const log = await createLogger({ name: 't', format: 'plain', level: 'error', out: new PassThrough(), err: new PassThrough() });

interface Call {
  at: number;
  ids: string[];
}

function recorder(answer: (ids: string[], n: number) => SendResult = () => sent(), rateLimit?: RateLimit): Channel & { calls: Call[] } {
  const calls: Call[] = [];
  const record = async (items: readonly QueuedAlert[]): Promise<SendResult> => {
    const ids = items.map((i) => i.alert.id);
    calls.push({ at: performance.now(), ids });
    return answer(ids, calls.length);
  };
  return { name: 'chat', calls, ...(rateLimit ? { rateLimit } : {}), send: (item) => record([item]), sendGroup: (items) => record(items) };
}

function alert(id: string, target: string, status: 'down' | 'up' = 'down', to = 'admin@work'): QueuedAlert {
  return { alert: { id, to, message: 'm', status, target }, line: `To: ${to} Message: m`, via: 'json', receivedAt: Date.now() };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function submitAll(d: Dispatcher, outbox: MemoryOutbox, items: QueuedAlert[]): Promise<void> {
  for (const item of items) {
    await outbox.put(item, d.channelsFor(item.alert));
    d.submit(item);
  }
}

const delivered = (outbox: MemoryOutbox, id: string): boolean => outbox.get(id) === undefined || outbox.get(id)?.channels.chat?.state === 'delivered';

test('a burst for one recipient goes as messages of at most 50 alerts, after the wait; another recipient gets its own', async () => {
  const outbox = new MemoryOutbox();
  const chat = recorder();
  const d = new Dispatcher({ routes: [{ channel: chat, group: { waitMs: 80, intervalMs: 1000 } }], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  const started = performance.now();
  const burst = Array.from({ length: 120 }, (_, i) => alert(`a${i}`, `web-${i}`));
  await submitAll(d, outbox, [...burst, alert('ops', 'db-1', 'down', 'ops@work')]);
  await until(() => d.active === 0);
  const sizes = chat.calls.map((c) => c.ids.length).sort((a, b) => b - a);
  assert.deepEqual(sizes, [50, 50, 20, 1], 'three messages for admin@work, one for ops@work');
  assert.ok(chat.calls[0]!.at - started >= 75, `the first message waited for the group (${Math.round(chat.calls[0]!.at - started)} ms)`);
  assert.deepEqual(chat.calls.flatMap((c) => c.ids).sort(), [...burst.map((b) => b.alert.id), 'ops'].sort(), 'every alert in exactly one message');
  for (const b of burst) assert.ok(delivered(outbox, b.alert.id));
  await d.close();
});

test('after a flush, the next message for that recipient waits for the interval', async () => {
  const outbox = new MemoryOutbox();
  const chat = recorder();
  const d = new Dispatcher({ routes: [{ channel: chat, group: { waitMs: 20, intervalMs: 300 } }], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  await submitAll(d, outbox, [alert('a', 'web-1')]);
  await until(() => chat.calls.length === 1);
  await submitAll(d, outbox, [alert('b', 'web-2'), alert('c', 'web-3')]);
  await until(() => chat.calls.length === 2);
  const gap = chat.calls[1]!.at - chat.calls[0]!.at;
  assert.ok(gap >= 290, `second message ${Math.round(gap)} ms after the first (interval 300 ms)`);
  assert.deepEqual(chat.calls[1]!.ids, ['b', 'c']);
  await d.close();
});

test('a group that fails transiently is retried; one that fails permanently dead-letters each of its alerts', async () => {
  const outbox = new MemoryOutbox();
  const chat = recorder((ids, n) => (ids.includes('p1') ? permanent('400 bad request') : n === 1 ? transient('503') : sent()));
  const d = new Dispatcher({ routes: [{ channel: chat, group: { waitMs: 10, intervalMs: 20 } }], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  await submitAll(d, outbox, [alert('t1', 'web-1'), alert('t2', 'web-2')]);
  await until(() => d.active === 0);
  assert.ok(delivered(outbox, 't1') && delivered(outbox, 't2'), 'both delivered on the retry');
  assert.ok(chat.calls.length >= 2);
  await submitAll(d, outbox, [alert('p1', 'web-3'), alert('p2', 'web-4')]);
  await until(() => d.active === 0);
  const dead = (await outbox.dead(10)).letters.map((l) => l.id).sort();
  assert.deepEqual(dead, ['p1', 'p2'], 'each member of the group is dead-lettered');
  await d.close();
});

test('grouping keeps per-target order: an up waits until its down, retried, is delivered', async () => {
  const outbox = new MemoryOutbox();
  let downTries = 0;
  const chat = recorder((ids) => (ids.includes('down') && ++downTries < 3 ? transient('503') : sent()));
  const d = new Dispatcher({ routes: [{ channel: chat, group: { waitMs: 10, intervalMs: 10 } }], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  await submitAll(d, outbox, [alert('down', 'web-1'), alert('up', 'web-1', 'up')]);
  await until(() => d.active === 0);
  const firstUp = chat.calls.findIndex((c) => c.ids.includes('up'));
  const lastDown = chat.calls.findLastIndex((c) => c.ids.includes('down'));
  assert.ok(firstUp > lastDown, `the up went in message ${firstUp}, after the down's last try ${lastDown}`);
  assert.ok(!chat.calls.some((c) => c.ids.includes('down') && c.ids.includes('up')), 'never in one message with its down');
  await d.close();
});

test('the rate limit spaces sends out; a receiver\'s pause (holdMs, Retry-After) holds the destination', async () => {
  const outbox = new MemoryOutbox();
  const chat = recorder((_ids, n) => (n === 2 ? sent('ok', 250) : sent()), { count: 1, perMs: 100 });
  const d = new Dispatcher({ channels: [chat], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  await submitAll(d, outbox, Array.from({ length: 4 }, (_, i) => alert(`r${i}`, `web-${i}`)));
  await until(() => d.active === 0);
  const gaps = chat.calls.slice(1).map((c, i) => c.at - chat.calls[i]!.at);
  assert.ok(gaps[0]! >= 95, `1 per 100 ms: gap ${Math.round(gaps[0]!)} ms`);
  assert.ok(gaps[1]! >= 245, `the receiver asked for 250 ms: gap ${Math.round(gaps[1]!)} ms`);
  assert.ok(gaps[2]! >= 95);
  await d.close();
});

test('a routed channel takes only the alerts it matches; the store owes it nothing else', async () => {
  const outbox = new MemoryOutbox();
  const db = { ...recorder(), name: 'db' };
  const all = { ...recorder(), name: 'all' };
  const d = new Dispatcher({ routes: [{ channel: db, match: compileMatch({ targets: ['db-*'] }) }, { channel: all }], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  assert.deepEqual(d.channelsFor(alert('x', 'web-1').alert), ['all']);
  await submitAll(d, outbox, [alert('d', 'db-1'), alert('w', 'web-1')]);
  await until(() => d.active === 0);
  assert.deepEqual(db.calls.flatMap((c) => c.ids), ['d']);
  assert.deepEqual(all.calls.flatMap((c) => c.ids).sort(), ['d', 'w']);
  await d.close();
});

test('close() with alerts waiting in a group ends at once; they stay owed', async () => {
  const outbox = new MemoryOutbox();
  const chat = recorder();
  const d = new Dispatcher({ routes: [{ channel: chat, group: { waitMs: 60_000, intervalMs: 60_000 } }], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  await submitAll(d, outbox, [alert('w1', 'web-1'), alert('w2', 'web-2')]);
  const started = performance.now();
  await d.close();
  assert.ok(performance.now() - started < 1000);
  assert.equal(chat.calls.length, 0);
  assert.equal(outbox.get('w1')?.channels.chat?.state, 'pending');
});
