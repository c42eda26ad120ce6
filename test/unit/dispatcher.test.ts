import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Channel } from '../../mailer/delivery/channels/channel.ts';
import { Dispatcher } from '../../mailer/delivery/dispatcher.ts';
import { MemoryOutbox } from '../support/memory-store.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import { createLogger } from '../../shared/logger.ts';
import { permanent, type SendResult, sent, transient } from '../../shared/send-result.ts';

const FAST = { baseMs: 5, maxMs: 20, jitter: 0 };

async function quietLog() {
  const err = new PassThrough();
  let text = '';
  err.on('data', (c: Buffer) => (text += c.toString()));
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err });
  return { log, read: () => text };
}

function scripted(name: string, answers: SendResult[], delayMs = 0): Channel & { calls: number } {
  const channel = {
    name,
    calls: 0,
    async send(): Promise<SendResult> {
      channel.calls += 1;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return answers[Math.min(channel.calls - 1, answers.length - 1)] ?? sent();
    },
  };
  return channel;
}

function alert(id: string): QueuedAlert {
  return { alert: { id, to: 'admin@work', message: 'm', status: 'down' }, line: 'To: admin@work Message: m', via: 'json', receivedAt: Date.now() };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('transient failures are retried until the channel takes the alert', async () => {
  const { log } = await quietLog();
  const outbox = new MemoryOutbox();
  const flaky = scripted('webhook', [transient('503'), transient('503'), transient('503'), sent()]);
  const d = new Dispatcher({ channels: [flaky], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  await outbox.put(alert('a'), d.channelNames);
  d.submit(alert('a'));
  await until(() => outbox.get('a') === undefined);
  assert.equal(flaky.calls, 4);
  assert.ok(outbox.has('a'), 'a delivered id is remembered');
  assert.equal((await outbox.dead(10)).total, 0);
  await d.close();
});

test('a permanent failure is dead-lettered at once, with its reason logged', async () => {
  const { log, read } = await quietLog();
  const outbox = new MemoryOutbox();
  const bad = scripted('webhook', [permanent('HTTP 400: bad payload')]);
  const d = new Dispatcher({ channels: [bad], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  await outbox.put(alert('b'), d.channelNames);
  d.submit(alert('b'));
  await until(() => outbox.get('b') === undefined);
  assert.equal(bad.calls, 1);
  const [letter] = (await outbox.dead(10)).letters;
  assert.equal(letter?.id, 'b');
  assert.deepEqual(letter?.channels.webhook, { state: 'dead', attempts: 1, error: 'HTTP 400: bad payload' });
  assert.match(read(), /dead letter.*HTTP 400: bad payload/);
  await d.close();
});

test('transient failures past --max-retry-age are dead-lettered, not dropped', async () => {
  const { log, read } = await quietLog();
  const outbox = new MemoryOutbox();
  const down = scripted('smtp', [transient('ECONNREFUSED')]);
  const d = new Dispatcher({ channels: [down], outbox, log, maxRetryAgeMs: 60, backoff: FAST });
  await outbox.put(alert('c'), d.channelNames);
  d.submit(alert('c'));
  await until(() => outbox.get('c') === undefined);
  assert.ok(down.calls >= 2);
  assert.equal((await outbox.dead(10)).letters[0]?.channels.smtp?.state, 'dead');
  assert.match(read(), /still failing after/);
  await d.close();
});

test('a slow channel does not delay another channel', async () => {
  const { log } = await quietLog();
  const outbox = new MemoryOutbox();
  const slow = scripted('slow', [sent()], 1000);
  const fast = scripted('fast', [sent()]);
  const d = new Dispatcher({ channels: [slow, fast], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  await outbox.put(alert('d'), d.channelNames);
  d.submit(alert('d'));
  await until(() => outbox.get('d')?.channels.fast?.state === 'delivered', 500);
  assert.equal(outbox.get('d')?.channels.slow?.state, 'pending');
  await d.close();
});

test('resume sends a spooled alert only through the channels that still owe it, and dead-letters a channel that is gone', async () => {
  const { log, read } = await quietLog();
  const outbox = new MemoryOutbox();
  const smtp = scripted('smtp', [sent()]);
  const log1 = scripted('log', [sent()]);
  // Left by an earlier run: the log channel delivered it, smtp and an old webhook still owe it.
  await outbox.put(alert('r'), ['log', 'smtp', 'webhook']);
  outbox.settle('r', 'log', 'delivered');
  const d = new Dispatcher({ channels: [log1, smtp], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  assert.equal(d.resume(outbox.unfinished()), 1);
  await until(() => outbox.get('r') === undefined);
  assert.equal(log1.calls, 0, 'the log channel had already delivered it');
  assert.equal(smtp.calls, 1);
  const [letter] = (await outbox.dead(10)).letters;
  assert.equal(letter?.channels.webhook?.state, 'dead');
  assert.match(letter?.channels.webhook?.error ?? '', /no longer configured/);
  assert.match(read(), /not delivered via webhook \(dead letter\): channel webhook is no longer configured/);
  await d.close();
});
