/**
 * The dispatcher's notify pipeline with real objects: the intake's
 * Admissions, the StatusHub (incidents, Silences) as the NotifyPolicy, the
 * Dispatcher with its mute stage and nflog, an in-memory store (and the
 * SQLite store for a restart). Silences mute at send time (a silence added
 * after an alert's admission holds it; at a group's flush too; a silence
 * added during a retry's wait takes it at once), a muted down goes out when
 * its silence ends on an open incident and is skipped on a closed one, and
 * an up reaches only the channels that were told its down, across a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Channel } from '../../mailer/delivery/channels/channel.ts';
import type { Route } from '../../mailer/delivery/channel-setup.ts';
import { Dispatcher } from '../../mailer/delivery/dispatcher.ts';
import { NotifyLog } from '../../mailer/delivery/notify-log.ts';
import { compileMatch } from '../../shared/alert-match.ts';
import type { AgentSilence } from '../../mailer/hub/agent-silence.ts';
import { AgentRegistry } from '../../mailer/hub/agents.ts';
import { StatusHub } from '../../mailer/hub/hub.ts';
import type { SilenceRow } from '../../mailer/hub/model.ts';
import { Admissions } from '../../mailer/intake/admission.ts';
import { Allowlist } from '../../mailer/intake/allowlist.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import { SqliteStore } from '../../mailer/store/sqlite-store.ts';
import type { Store } from '../../mailer/store/store.ts';
import { type SendResult, sent, transient } from '../../shared/send-result.ts';
import type { AlertRequest } from '../../shared/wire-json.ts';
import { quiet } from '../support/channel-fake.ts';
import { MemoryOutbox } from '../support/memory-store.ts';

const FAST = { baseMs: 5, maxMs: 20, jitter: 0 };

/** A channel that records what it sent ("<id>" or "[a,b]" for a group); `answer` decides each send's outcome. */
function recording(name: string, answer: (item: QueuedAlert) => SendResult | Promise<SendResult> = () => sent()): Channel & { seen: string[] } {
  const seen: string[] = [];
  return {
    name,
    seen,
    concurrency: 1,
    async send(item) {
      seen.push(item.alert.id);
      return answer(item);
    },
    async sendGroup(items) {
      seen.push(`[${items.map((i) => i.alert.id).join(',')}]`);
      return sent();
    },
  };
}

async function pipeline(routes: Route[], store: Store = new MemoryOutbox(), notifyLog?: NotifyLog, backoff = FAST) {
  const hub = new StatusHub({ store, snapshot: await store.hubLoad(), registry: new AgentRegistry({ log: quiet }), silence: {} as AgentSilence, log: quiet });
  const dispatcher = new Dispatcher({ routes, outbox: store, log: quiet, maxRetryAgeMs: 60_000, backoff, ...(notifyLog ? { notifyLog } : {}) });
  const admissions = new Admissions({ allowlist: new Allowlist(['admin@work']), store, dispatcher, log: quiet });
  admissions.observe(hub);
  dispatcher.usePolicy(hub);
  const post = (id: string, target: string, status: 'down' | 'up', incident = `inc-${target}`): Promise<unknown> =>
    admissions.admitJson({ id, to: 'admin@work', message: `${target} ${status}`, status, target, incident } as AlertRequest, '127.0.0.1:5000');
  const silence = async (value: Partial<Omit<SilenceRow, 'id' | 'createdAt'>>): Promise<SilenceRow> => {
    const now = Date.now();
    const row = await hub.silences.add({ target: '', startsAt: now, until: now + 3_600_000, comment: '', ...value }, now);
    assert.ok(typeof row !== 'string');
    return row;
  };
  const raw = (message: string): Promise<unknown> => admissions.admitRaw({ to: 'admin@work', message, text: `admin@work ${message}` }, '10.0.0.7:5000');
  const close = async (): Promise<void> => {
    hub.close();
    await dispatcher.close();
  };
  return { hub, dispatcher, store, post, raw, silence, close };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const stateOf = (store: Store, id: string, channel: string) => store.get(id)?.channels[channel]?.state;

test('mute at send: a silence added after the down was admitted, while it waited its turn, holds it (kept, silenced, not sent)', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  // One send at a time: the db alert's send hangs, the web down waits behind it.
  const chat = recording('chat', async (item) => (item.alert.id === 'db-down' ? (await gate, sent()) : sent()));
  const p = await pipeline([{ channel: chat }]);
  t.after(() => p.close());
  await p.post('db-down', 'db', 'down');
  await p.post('web-down', 'web', 'down');
  await until(() => chat.seen.length === 1);
  await p.silence({ target: 'web' });
  release();
  await until(() => stateOf(p.store, 'web-down', 'chat') === 'silenced');
  assert.deepEqual(chat.seen, ['db-down'], 'the web down is not sent');
  assert.match(p.store.get('web-down')!.channels.chat!.error ?? '', /^held by silence \S+ until /);
  assert.equal((await p.store.list({ state: 'silenced', limit: 10 })).alerts.map((a) => a.id).join(), 'web-down', 'GET /alerts?state=silenced lists it');
});

test('mute at group flush: a silence that comes into force during the group wait takes its member out of the group', async (t) => {
  const chat = recording('chat');
  const p = await pipeline([{ channel: chat, group: { waitMs: 150, intervalMs: 150 } }]);
  t.after(() => p.close());
  await p.post('web-down', 'web', 'down');
  await p.post('db-down', 'db', 'down');
  await p.post('mq-down', 'mq', 'down');
  // In force only from 50 ms on: no change signal then, so only the flush can see it.
  await p.silence({ target: 'web', startsAt: Date.now() + 50 });
  await until(() => chat.seen.length === 1 && stateOf(p.store, 'web-down', 'chat') === 'silenced');
  assert.deepEqual(chat.seen, ['[db-down,mq-down]']);
});

test('a silence added while a down waits for its retry stops it at once: kept as silenced, no further attempt; sent when the silence is removed', async (t) => {
  let failing = true;
  const chat = recording('chat', () => (failing ? transient('503') : sent()));
  const store = new MemoryOutbox();
  // The retry would come 5 s after the first failure.
  const p = await pipeline([{ channel: chat }], store, undefined, { baseMs: 5_000, maxMs: 5_000, jitter: 0 });
  t.after(() => p.close());
  await p.post('web-down', 'web', 'down');
  await until(() => chat.seen.length === 1);
  const row = await p.silence({ target: 'web' });
  await until(() => stateOf(store, 'web-down', 'chat') === 'silenced', 200);
  assert.equal(chat.seen.length, 1, 'no attempt while silenced');
  assert.equal(store.get('web-down')?.channels.chat?.attempts, 1);
  failing = false;
  await p.hub.silences.remove(row.id);
  await until(() => store.get('web-down') === undefined);
  assert.equal(chat.seen.at(-1), 'web-down', 'sent once the silence is gone, its incident still open');
});

test("a muted down on an incident still open when its silence ends (by the clock) is sent then, once", async (t) => {
  const chat = recording('chat');
  const p = await pipeline([{ channel: chat }]);
  t.after(() => p.close());
  await p.silence({ target: 'web', until: Date.now() + 150 });
  await p.post('web-down', 'web', 'down');
  await until(() => stateOf(p.store, 'web-down', 'chat') === 'silenced');
  assert.deepEqual(chat.seen, []);
  await until(() => p.store.get('web-down') === undefined, 1000);
  assert.deepEqual(chat.seen, ['web-down']);
});

test('an outage wholly inside a silence sends nothing, its up included: the down and the up are settled as skipped', async (t) => {
  const chat = recording('chat');
  const p = await pipeline([{ channel: chat }]);
  t.after(() => p.close());
  await p.silence({ target: 'web', until: Date.now() + 150 });
  await p.post('web-down', 'web', 'down');
  await p.post('web-up', 'web', 'up');
  await until(() => stateOf(p.store, 'web-up', 'chat') === 'silenced');
  await until(() => p.store.unfinished().length === 0, 1000);
  assert.deepEqual(chat.seen, []);
  const sentPage = await p.store.list({ state: 'sent', limit: 10 });
  const states = Object.fromEntries(sentPage.alerts.map((a) => [a.id, a.channels.chat?.state]));
  assert.deepEqual(states, { 'web-down': 'skipped', 'web-up': 'skipped' });
});

test('an up never reaches a channel that was not told its down (dead-lettered there, or held by a down-only silence on that channel)', async (t) => {
  const a = recording('a');
  const b = recording('b', (item) => (item.alert.id === 'db-down' ? { ok: false, retry: false, error: 'HTTP 400' } : sent()));
  const p = await pipeline([{ channel: a }, { channel: b }]);
  t.after(() => p.close());
  await p.silence({ match: { status: ['down'], channels: ['b'], targets: ['web'] } });
  await p.post('web-down', 'web', 'down');
  await p.post('db-down', 'db', 'down');
  await until(() => a.seen.length === 2);
  await p.post('web-up', 'web', 'up');
  await p.post('db-up', 'db', 'up');
  await until(() => a.seen.length === 4 && p.store.get('web-up') === undefined && p.store.get('db-up') === undefined);
  assert.deepEqual(a.seen, ['web-down', 'db-down', 'web-up', 'db-up']);
  assert.deepEqual(b.seen, ['db-down'], 'b was told neither down: it gets neither up');
  const [down] = (await p.store.list({ state: 'sent', limit: 10 })).alerts.filter((x) => x.id === 'web-down');
  assert.equal(down?.channels.b?.state, 'skipped', 'the down held on b is skipped once its incident closed');
});

test("restart keeps the nflog: after a reopen of the store, an up goes to the channel told its down and not to the other", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ch2-nflog-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = recording('a');
  const b = recording('b');
  const first = (await SqliteStore.open({ dir, log: quiet, dedupeWindowMs: 86_400_000 })).store;
  // Only channel a existed in the first run (b is routed to nothing): a was told the down.
  const p1 = await pipeline([{ channel: a }, { channel: b, match: compileMatch({ targets: ['none'] }) }], first);
  await p1.post('web-down', 'web', 'down');
  await until(() => first.get('web-down') === undefined);
  await p1.close();
  await first.close();
  const again = (await SqliteStore.open({ dir, log: quiet, dedupeWindowMs: 86_400_000 })).store;
  t.after(() => again.close());
  const told = await again.notifyLog();
  assert.deepEqual(told, [{ incident: 'inc-web', channel: 'a' }]);
  const p2 = await pipeline([{ channel: a }, { channel: b }], again, new NotifyLog(told));
  t.after(() => p2.close());
  await p2.post('web-up', 'web', 'up');
  await until(() => again.get('web-up') === undefined);
  assert.deepEqual(a.seen, ['web-down', 'web-up']);
  assert.deepEqual(b.seen, [], 'b never had the down');
});

test("an old silence on a raw sender (raw:<ip>) mutes the book's raw alerts from it at send time", async (t) => {
  const chat = recording('chat');
  const p = await pipeline([{ channel: chat }]);
  t.after(() => p.close());
  await p.silence({ target: 'raw:10.0.0.*' });
  await p.raw('The service is down!');
  const [held] = p.store.unfinished();
  assert.equal(held?.channels.chat?.state, 'silenced');
  assert.deepEqual(chat.seen, []);
});
