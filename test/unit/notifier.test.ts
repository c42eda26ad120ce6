/** The agent's outbox: order and ids kept across mailer outages; at its bound only reminders are dropped. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MailerResult } from '../../agent/alerting/mailer-client.ts';
import { Notifier } from '../../agent/alerting/notifier.ts';
import type { Alert } from '../../shared/alert.ts';
import type { Logger } from '../../shared/logger.ts';
import { permanent, sent, transient } from '../../shared/send-result.ts';

const FAST = { baseMs: 1, maxMs: 5, jitter: 0 };

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), output: at('output') };
}

/** The queue as the agent's events show it: queued, less dropped, delivered and failed. */
function queueWatch() {
  const order: string[] = [];
  const gone = new Set<string>();
  const dropped: string[] = [];
  const leave = (a: Alert) => void gone.add(a.id);
  return {
    dropped,
    waiting: () => order.filter((id) => !gone.has(id)),
    events: {
      alertQueued: (a: Alert) => void order.push(a.id),
      alertDropped: (a: Alert) => {
        dropped.push(a.id);
        leave(a);
      },
      alertDelivered: leave,
      alertFailed: leave,
    },
  };
}

function down(id: string, target = 'web'): Alert {
  return { id, to: 'admin@work', message: 'The service is down!', status: 'down', target };
}
function up(id: string, target = 'web'): Alert {
  return { id, to: 'admin@work', message: 'The service is back up.', status: 'up', target, downForMs: 1000 };
}
function reminder(id: string, n: number, target = 'web'): Alert {
  return { ...down(id, target), reminder: n };
}

/** A mailer whose answers the test decides, one attempt at a time. */
function scriptedMailer() {
  const attempts: string[] = [];
  const waiting: Array<(r: MailerResult) => void> = [];
  let arrived: (() => void) | undefined;
  return {
    attempts,
    send(alert: Alert): Promise<MailerResult> {
      attempts.push(alert.id);
      arrived?.();
      return new Promise((resolve) => waiting.push(resolve));
    },
    /** Wait until an attempt is waiting for its answer, then give it. */
    async answer(result: MailerResult): Promise<void> {
      while (waiting.length === 0) await new Promise<void>((r) => (arrived = r));
      waiting.shift()!(result);
      await new Promise((r) => setImmediate(r));
    },
  };
}

test('while the mailer is away alerts wait, then go in order with the same ids', async () => {
  const mailer = scriptedMailer();
  const delivered: string[] = [];
  const log = recorder();
  const notifier = new Notifier({ send: (alerts) => Promise.all(alerts.map((a) => mailer.send(a))), log, backoff: FAST, onDelivered: (a) => delivered.push(a.id) });
  notifier.enqueue(down('d1'));
  notifier.enqueue(up('u1'));
  notifier.enqueue(down('d2', 'db'));
  await mailer.answer(transient('mailer unreachable at m:33333: connection refused'));
  await mailer.answer(transient('mailer unreachable at m:33333: connection refused'));
  assert.equal(notifier.pending, 3);
  await mailer.answer(sent());
  await mailer.answer(sent());
  await mailer.answer(sent());
  assert.deepEqual(mailer.attempts, ['d1', 'd1', 'd1', 'u1', 'd2']);
  assert.deepEqual(delivered, ['d1', 'u1', 'd2']);
  assert.equal(notifier.pending, 0);
  assert.equal(log.lines.filter((l) => /^warn mailer unreachable at m:33333: connection refused; retrying in/.test(l)).length, 2);
});

test('at the bound the oldest waiting reminder makes room, never a down or up alert, and the log counts the drops', async () => {
  const mailer = scriptedMailer();
  const log = recorder();
  const queue = queueWatch();
  const dropped = queue.dropped;
  const notifier = new Notifier({ send: (alerts) => Promise.all(alerts.map((a) => mailer.send(a))), log, backoff: FAST, maxPending: 4, events: queue.events });
  notifier.enqueue(reminder('r0', 1)); // on the wire: never dropped, even though it is a reminder
  notifier.enqueue(down('d1', 'db'));
  notifier.enqueue(reminder('r1', 2));
  notifier.enqueue(reminder('r2', 3));
  assert.deepEqual(queue.waiting(), ['r0', 'd1', 'r1', 'r2']);
  notifier.enqueue(up('u1', 'db'));
  assert.deepEqual(queue.waiting(), ['r0', 'd1', 'r2', 'u1'], 'the oldest waiting reminder went');
  notifier.enqueue(reminder('r3', 4));
  assert.deepEqual(queue.waiting(), ['r0', 'd1', 'u1', 'r3']);
  assert.equal(notifier.dropped, 2);
  assert.deepEqual(dropped, ['r1', 'r2']);
  assert.match(log.lines.find((l) => l.includes('r1') || l.includes('reminder 2')) ?? '', /^warn Alert queue full \(4\); dropped reminder 2 for web \(1 reminder dropped so far\)\./);
  assert.ok(log.lines.some((l) => /dropped reminder 3 for web \(2 reminders dropped so far\)/.test(l)));

  // Only r0 and r3 are reminders now; r0 is on the wire. A down alert makes r3 go.
  notifier.enqueue(down('d2'));
  assert.deepEqual(queue.waiting(), ['r0', 'd1', 'u1', 'd2']);
  assert.equal(notifier.dropped, 3);

  // No reminder left: a new reminder is itself dropped...
  notifier.enqueue(reminder('r4', 5));
  assert.deepEqual(queue.waiting(), ['r0', 'd1', 'u1', 'd2']);
  assert.equal(notifier.dropped, 4);
  // ...and a down or up alert is kept past the bound, with one warning.
  notifier.enqueue(up('u2'));
  notifier.enqueue(down('d3'));
  assert.deepEqual(queue.waiting(), ['r0', 'd1', 'u1', 'd2', 'u2', 'd3']);
  assert.equal(log.lines.filter((l) => /over its bound \(4\) with no reminder left to drop; keeping every down and up alert/.test(l)).length, 1);

  for (let i = 0; i < 6; i++) await mailer.answer(sent());
  assert.deepEqual(mailer.attempts, ['r0', 'd1', 'u1', 'd2', 'u2', 'd3'], 'sent in order once the mailer answers');
  assert.equal(notifier.pending, 0);
});

test('a permanent refusal is logged as an error and the next alert goes on', async () => {
  const mailer = scriptedMailer();
  const log = recorder();
  const failed: string[] = [];
  const notifier = new Notifier({ send: (alerts) => Promise.all(alerts.map((a) => mailer.send(a))), log, backoff: FAST, events: { alertFailed: (a, why) => failed.push(`${a.id}: ${why}`) } });
  notifier.enqueue(down('d1'));
  notifier.enqueue(up('u1'));
  await mailer.answer(permanent('mailer refused the alert (400): field "target" is longer than 4096 characters'));
  await mailer.answer(sent());
  assert.deepEqual(mailer.attempts, ['d1', 'u1']);
  assert.equal(failed.length, 1);
  assert.match(failed[0] ?? '', /^d1: mailer refused the alert \(400/);
  assert.ok(log.lines.some((l) => /^error Alert not delivered: mailer refused the alert \(400\): field "target"/.test(l)));
  assert.equal(notifier.pending, 0);
});

test('an alert the mailer refuses with 401 or 403 is kept and retried in order, never dropped; one error line a minute', async () => {
  const mailer = scriptedMailer();
  const log = recorder();
  const queue = queueWatch();
  let now = 0;
  const notifier = new Notifier({ send: (alerts) => Promise.all(alerts.map((a) => mailer.send(a))), log, backoff: FAST, events: queue.events, clock: () => now });
  const refused = (status: 401 | 403): MailerResult => ({ ok: false, retry: true, refused: status, error: `mailer refused the alert (${status}); check --mailer-token (MAILER_TOKEN)` });
  notifier.enqueue(down('d1'));
  notifier.enqueue(up('u1'));
  await mailer.answer(refused(401));
  now += 30_000;
  await mailer.answer(refused(403));
  now += 30_000;
  await mailer.answer(refused(401));
  await mailer.answer(sent());
  await mailer.answer(sent());
  assert.deepEqual(mailer.attempts, ['d1', 'd1', 'd1', 'd1', 'u1'], 'the refused alert is retried, and the next waits behind it');
  assert.deepEqual(queue.waiting(), []);
  assert.equal(notifier.pending, 0);
  const errors = log.lines.filter((l) => l.startsWith('error '));
  assert.equal(errors.length, 2, `at 0 s and at 60 s, not at 30 s: ${errors.join(' | ')}`);
  assert.match(errors[0] ?? '', /^error mailer refused the alert \(401\); check --mailer-token \(MAILER_TOKEN\); alerts are kept and retried until it is fixed \(2 alerts waiting; this line at most once a minute\)$/);
  assert.equal(log.lines.filter((l) => /^debug mailer refused the alert \(403\)/.test(l)).length, 1, 'the one in between is a debug line');
  assert.ok(!log.lines.some((l) => /not delivered|dropped/.test(l)));
});

test('after close nothing more is sent or queued', async () => {
  const mailer = scriptedMailer();
  const queue = queueWatch();
  const notifier = new Notifier({ send: (alerts) => Promise.all(alerts.map((a) => mailer.send(a))), log: recorder(), backoff: FAST, events: queue.events });
  notifier.enqueue(down('d1'));
  notifier.close();
  notifier.enqueue(up('u1'));
  await mailer.answer(transient('down'));
  assert.deepEqual(mailer.attempts, ['d1']);
  assert.deepEqual(queue.waiting(), ['d1']);
});

test('a bound below 1 is refused', () => {
  assert.throws(() => new Notifier({ send: async () => [sent()], log: recorder(), maxPending: 0 }), RangeError);
});
