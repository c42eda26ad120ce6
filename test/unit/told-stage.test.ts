/**
 * The dispatcher's told stage with a shared store (told-stage.ts): an up
 * whose incident this mailer's nflog does not know asks the store once (its
 * channels share the answer, kept in the log) and goes only to the channels
 * the store says were told its down; a store that cannot answer is a
 * transient failure, retried, never a skip; with no store to ask (SQLite)
 * such an up is skipped, as before.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Channel } from '../../mailer/delivery/channels/channel.ts';
import { Dispatcher } from '../../mailer/delivery/dispatcher.ts';
import { NotifyLog } from '../../mailer/delivery/notify-log.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import { createLogger } from '../../shared/logger.ts';
import { sent } from '../../shared/send-result.ts';
import { MemoryOutbox } from '../support/memory-store.ts';

const FAST = { baseMs: 5, maxMs: 20, jitter: 0 };
const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });

function recording(name: string): Channel & { seen: string[] } {
  const seen: string[] = [];
  return { name, seen, send: async (item) => (seen.push(item.alert.id), sent()) };
}

const up = (id: string, incident: string): QueuedAlert => ({
  alert: { id, to: 'admin@work', message: 'up', status: 'up', target: 'http://web/', incident },
  line: 'To: admin@work Message: up',
  via: 'json',
  receivedAt: Date.now(),
});

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function setup(toldOf?: (incident: string) => Promise<string[]>) {
  const outbox = new MemoryOutbox();
  const pd = recording('pagerduty');
  const mail = recording('smtp');
  const notifyLog = new NotifyLog();
  const d = new Dispatcher({ channels: [pd, mail], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST, notifyLog, ...(toldOf ? { toldOf } : {}) });
  const post = async (item: QueuedAlert): Promise<void> => {
    await outbox.admit(item, d.channelNames);
    d.submit(item);
  };
  return { outbox, pd, mail, notifyLog, d, post };
}

test("an up for an incident told at another mailer goes to the channels the store says were told its down, asked once for all its channels", async (t) => {
  const asked: string[] = [];
  const s = await setup(async (incident) => (asked.push(incident), incident === 'inc-1' ? ['pagerduty'] : []));
  t.after(() => s.d.close());
  await s.post(up('u1', 'inc-1'));
  await until(() => s.outbox.get('u1') === undefined);
  assert.deepEqual(s.pd.seen, ['u1'], 'told its down (at the other mailer): sent the up');
  assert.deepEqual(s.mail.seen, [], 'never told its down: not sent');
  assert.deepEqual(asked, ['inc-1'], 'one question for the up, shared by its two channels');
  assert.ok(s.notifyLog.knows('inc-1'), 'the answer is kept in the nflog');
  await s.post(up('u2', 'inc-1'));
  await until(() => s.outbox.get('u2') === undefined);
  assert.deepEqual(asked, ['inc-1'], 'not asked again: the up ended the channel\'s part');
  assert.deepEqual(s.pd.seen, ['u1'], 'a second up of the incident goes nowhere again');
});

test('a store that cannot answer is retried like a failed send: the up is not skipped, and goes once it answers', async (t) => {
  let failures = 2;
  const s = await setup(async () => {
    if (failures-- > 0) throw new Error('connection terminated');
    return ['pagerduty', 'smtp'];
  });
  t.after(() => s.d.close());
  await s.post(up('u3', 'inc-3'));
  await until(() => s.outbox.get('u3') === undefined);
  assert.deepEqual([s.pd.seen, s.mail.seen], [['u3'], ['u3']], 'sent on both channels once the store answered');
});

test('with no store to ask (one mailer: SQLite) an up whose down was never told here is skipped', async (t) => {
  const s = await setup();
  t.after(() => s.d.close());
  await s.post(up('u4', 'inc-4'));
  await until(() => s.outbox.get('u4') === undefined);
  assert.deepEqual([s.pd.seen, s.mail.seen], [[], []]);
});
