import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Channel } from '../../mailer/delivery/channels/channel.ts';
import { Dispatcher } from '../../mailer/delivery/dispatcher.ts';
import { MemoryOutbox } from '../support/memory-store.ts';
import { createSmtpChannel } from '../../mailer/delivery/channels/smtp.ts';
import { startSmtp } from '../support/smtp-server.ts';
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
    async send(_item: QueuedAlert, { signal }: { signal: AbortSignal }): Promise<SendResult> {
      channel.calls += 1;
      // A slow send that stops when cancelled (at close).
      if (delayMs) {
        await new Promise((r) => {
          setTimeout(r, delayMs);
          signal.addEventListener('abort', r, { once: true });
        });
      }
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

test('resume sends a stored alert only through the channels that still owe it, and dead-letters a channel that is gone', async () => {
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

test('forget: an alert taken over by another mailer is not sent again here, its waiting retry dropped; submitted again later it is sent', async () => {
  const { log } = await quietLog();
  const outbox = new MemoryOutbox();
  const flaky = scripted('webhook', [transient('503'), sent()]);
  const slow = { baseMs: 300, maxMs: 300, jitter: 0 };
  const d = new Dispatcher({ channels: [flaky], outbox, log, maxRetryAgeMs: 60_000, backoff: slow });
  await outbox.put(alert('f'), d.channelNames);
  d.submit(alert('f'));
  await until(() => flaky.calls === 1 && outbox.get('f')?.channels.webhook?.attempts === 1);
  assert.equal(d.active, 1, 'its retry waits');
  d.forget(['f']);
  await until(() => d.active === 0, 200); // dropped at once, not at its retry time
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(flaky.calls, 1, 'the retry never went out');
  d.submit(alert('f')); // taken over back
  await until(() => outbox.get('f') === undefined);
  assert.equal(flaky.calls, 2);
  await d.close();
});

test('resume with `only`: of an alert under way, just the channels named', async () => {
  const { log } = await quietLog();
  const outbox = new MemoryOutbox();
  const a = scripted('smtp', [sent()]);
  const b = scripted('webhook', [sent()]);
  await outbox.put(alert('o'), ['smtp', 'webhook']);
  const d = new Dispatcher({ channels: [a, b], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  d.resume(outbox.unfinished(), new Map([['o', ['webhook']]]));
  await until(() => b.calls === 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(a.calls, 0, 'smtp was not named');
  await d.close();
});

function about(id: string, target: string, status: 'down' | 'up'): QueuedAlert {
  return { alert: { id, to: 'admin@work', message: status, status, target }, line: `To: admin@work Message: ${status}`, via: 'json', receivedAt: Date.now() };
}

test('a backlog against a slow channel never has more than its concurrency of sends in flight', async () => {
  const { log } = await quietLog();
  const outbox = new MemoryOutbox();
  let inFlight = 0;
  let most = 0;
  let calls = 0;
  const slow: Channel = {
    name: 'slow',
    concurrency: 3,
    async send() {
      calls += 1;
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 10));
      inFlight -= 1;
      return sent();
    },
  };
  const d = new Dispatcher({ channels: [slow], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  for (let i = 0; i < 30; i++) {
    await outbox.put(alert(`b${i}`), d.channelNames);
    d.submit(alert(`b${i}`));
  }
  assert.equal(d.active, 30, 'all owed, queued in the dispatcher');
  await until(() => outbox.unfinished().length === 0, 5000);
  assert.equal(calls, 30);
  assert.equal(most, 3, `at most 3 sends at once (saw ${most})`);
  await d.close();
});

test('a send that outlives the timeout has its signal aborted, and is retried only after it settled', async () => {
  const { log } = await quietLog();
  const outbox = new MemoryOutbox();
  const events: string[] = [];
  let calls = 0;
  const stuck: Channel = {
    name: 'stuck',
    async send(_item, { signal }) {
      calls += 1;
      const call = calls;
      events.push(`start ${call}`);
      if (call > 1) return sent();
      // Ignores nothing: waits for the abort, then takes a while to stop (closing a connection).
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      events.push('aborted 1');
      await new Promise((r) => setTimeout(r, 100));
      events.push('settled 1');
      return transient('connection closed');
    },
  };
  const d = new Dispatcher({ channels: [stuck], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST, sendTimeoutMs: 50 });
  await outbox.put(alert('t'), d.channelNames);
  d.submit(alert('t'));
  await until(() => outbox.get('t') === undefined, 3000);
  assert.deepEqual(events, ['start 1', 'aborted 1', 'settled 1', 'start 2']);
  assert.equal(outbox.has('t'), true);
  await d.close();
});

test('per target, the up is delivered after the down it closes, though the down failed twice and the up came meanwhile', async () => {
  const { log } = await quietLog();
  const outbox = new MemoryOutbox();
  const seen: string[] = [];
  const answers: Record<string, SendResult[]> = { down: [transient('503'), transient('503'), sent()], up: [sent()], other: [sent()] };
  const chat: Channel = {
    name: 'chat',
    async send(item) {
      seen.push(item.alert.id);
      return answers[item.alert.id]!.shift() ?? sent();
    },
  };
  const d = new Dispatcher({ channels: [chat], outbox, log, maxRetryAgeMs: 60_000, backoff: { baseMs: 30, maxMs: 30, jitter: 0 } });
  const down = about('down', 'http://web/', 'down');
  const up = about('up', 'http://web/', 'up');
  const other = about('other', 'http://db/', 'down');
  await outbox.put(down, d.channelNames);
  d.submit(down);
  await until(() => seen.length === 1);
  // The up (and another target's alert) arrive while the down waits for its first retry.
  await outbox.put(up, d.channelNames);
  d.submit(up);
  await outbox.put(other, d.channelNames);
  d.submit(other);
  await until(() => outbox.unfinished().length === 0);
  assert.deepEqual(seen, ['down', 'other', 'down', 'down', 'up'], 'another target is not held up; this target\'s up waits for its down');
  await d.close();
});

test('a down that is dead-lettered lets its up go on', async () => {
  const { log } = await quietLog();
  const outbox = new MemoryOutbox();
  const seen: string[] = [];
  const chat: Channel = {
    name: 'chat',
    async send(item) {
      seen.push(item.alert.id);
      return item.alert.id === 'down' ? permanent('HTTP 400') : sent();
    },
  };
  const d = new Dispatcher({ channels: [chat], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  for (const a of [about('down', 'http://web/', 'down'), about('up', 'http://web/', 'up')]) {
    await outbox.put(a, d.channelNames);
    d.submit(a);
  }
  await until(() => outbox.unfinished().length === 0);
  assert.deepEqual(seen, ['down', 'up']);
  assert.equal((await outbox.dead(10)).letters[0]?.id, 'down');
  await d.close();
});

test('close() cancels the sends under way and waits until they settled; what they did not deliver stays owed', async () => {
  const { log } = await quietLog();
  const outbox = new MemoryOutbox();
  let settled = 0;
  const hanging: Channel = {
    name: 'hanging',
    async send(_item, { signal }) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      settled += 1;
      return transient('cancelled');
    },
  };
  const d = new Dispatcher({ channels: [hanging], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  await outbox.put(alert('s'), d.channelNames);
  d.submit(alert('s'));
  await until(() => d.active === 1);
  await d.close();
  assert.equal(settled, 1);
  assert.equal(outbox.get('s')?.channels.hanging?.state, 'pending');
});

test('an SMTP backlog against a slow real SMTP server: every message delivered once (DATA counted per Message-ID)', { timeout: 20_000 }, async () => {
  const { log } = await quietLog();
  const outbox = new MemoryOutbox();
  // Each DATA takes 150 ms; the pool has 2 connections; a send may take 400 ms. Twenty
  // sends handed to nodemailer at once would wait in its queue past that and be sent again.
  const server = await startSmtp({
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const id = /^Message-ID: *(<[^>]+>)/im.exec(raw)?.[1] ?? '?';
        dataById.set(id, (dataById.get(id) ?? 0) + 1);
        setTimeout(() => cb(), 150);
      });
    },
  });
  const dataById = new Map<string, number>();
  const smtp = createSmtpChannel(new URL(`smtp://127.0.0.1:${server.port}`), 'alerts@ch2.test', 5000);
  const d = new Dispatcher({ channels: [smtp], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST, sendTimeoutMs: 400 });
  try {
    for (let i = 0; i < 20; i++) {
      await outbox.put(alert(`m${i}`), d.channelNames);
      d.submit(alert(`m${i}`));
    }
    await until(() => outbox.unfinished().length === 0, 15_000);
    assert.equal(dataById.size, 20, 'every alert arrived');
    const repeated = [...dataById].filter(([, n]) => n > 1);
    assert.deepEqual(repeated, [], 'no message twice');
    assert.equal((await outbox.dead(10)).total, 0);
  } finally {
    await d.close();
    await server.close();
  }
});

test('a send still waiting its turn at the rate gate when close() cancels it is no attempt: no count, no error, never dead-lettered', async () => {
  const { log, read } = await quietLog();
  const outbox = new MemoryOutbox();
  // One send a minute: the first alert takes the only token, the second waits at the gate.
  const limited = Object.assign(scripted('limited', [sent()]), { rateLimit: { count: 1, perMs: 60_000 } });
  // Older than --max-retry-age: a failed attempt would dead-letter it at once.
  const old = { ...alert('waits'), receivedAt: Date.now() - 120_000 };
  const d = new Dispatcher({ channels: [limited], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST });
  await outbox.put(alert('first'), d.channelNames);
  await outbox.put(old, d.channelNames);
  d.submit(alert('first'));
  d.submit(old);
  await until(() => outbox.get('first') === undefined && d.active === 1);
  await d.close();
  assert.equal(limited.calls, 1, 'the second alert was never sent');
  assert.deepEqual(outbox.get('waits')?.channels.limited, { state: 'pending', attempts: 0 }, 'still owed, with no attempt and no error recorded');
  assert.doesNotMatch(read(), /dead letter|retry/);
});
