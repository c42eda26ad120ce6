/**
 * The agent's outbox in batches, with several requests in flight: each
 * target's alerts stay in order (one per request, the next only once the
 * mailer has answered for the one before), and a batch the mailer takes in
 * part loses nothing: the refused-transient items are retried, the others
 * are not sent again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { MailerResult } from '../../agent/alerting/mailer-client.ts';
import { Notifier } from '../../agent/alerting/notifier.ts';
import type { Alert } from '../../shared/alert.ts';
import type { Logger } from '../../shared/logger.ts';
import { permanent, sent, transient } from '../../shared/send-result.ts';

const NOW = { baseMs: 0, maxMs: 0, jitter: 0 };

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), output: at('output') };
}

function alert(id: string, target: string, status: 'down' | 'up' = 'down'): Alert {
  return { id, to: 'admin@work', message: status === 'down' ? 'The service is down!' : 'The service is back up.', status, target };
}

interface Request {
  ids: string[];
  answer(results: MailerResult[]): void;
}

/** A mailer that holds every request until the test answers it, in any order. */
function heldMailer() {
  const requests: Request[] = [];
  const open: Request[] = [];
  let arrived: (() => void) | undefined;
  let mostAtOnce = 0;
  return {
    requests,
    open,
    mostAtOnce: () => mostAtOnce,
    send(alerts: readonly Alert[]): Promise<MailerResult[]> {
      return new Promise((resolve) => {
        const request: Request = {
          ids: alerts.map((a) => a.id),
          answer: (results) => {
            open.splice(open.indexOf(request), 1);
            resolve(results);
          },
        };
        requests.push(request);
        open.push(request);
        mostAtOnce = Math.max(mostAtOnce, open.length);
        arrived?.();
      });
    },
    /** Wait until at least `n` requests are open (or fail after 1 s). */
    async openAtLeast(n: number): Promise<void> {
      const deadline = Date.now() + 1000;
      while (open.length < n) {
        if (Date.now() > deadline) throw new Error(`${open.length} requests open, wanted ${n}`);
        await new Promise<void>((r) => {
          arrived = r;
          setTimeout(r, 20);
        });
      }
    },
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

test('a storm goes in batches with several requests at once, one alert of a target per request, its up only after its down was answered', async () => {
  const mailer = heldMailer();
  const delivered: string[] = [];
  const notifier = new Notifier({ send: (a) => mailer.send(a), batchLimit: () => 4, inFlight: 2, log: recorder(), backoff: NOW, onDelivered: (a) => delivered.push(a.id) });
  for (let i = 1; i <= 6; i++) notifier.enqueue(alert(`d${i}`, `t${i}`));
  for (let i = 1; i <= 6; i++) notifier.enqueue(alert(`u${i}`, `t${i}`, 'up'));
  // The first alerts go at once, alone; the rest gather behind them.
  await mailer.openAtLeast(2);
  assert.deepEqual(mailer.open.map((r) => r.ids), [['d1'], ['d2']]);
  mailer.open[1]!.answer([sent()]);
  await mailer.openAtLeast(2);
  assert.deepEqual(mailer.open[1]!.ids, ['d3', 'd4', 'd5', 'd6'], "batches of at most 4, and no target's up behind its down in one");
  mailer.open[1]!.answer([sent(), sent(), sent(), sent()]);
  await mailer.openAtLeast(2);
  assert.deepEqual(mailer.open[1]!.ids, ['u2', 'u3', 'u4', 'u5'], "t1's up waits: its down is still on the wire");
  mailer.open[0]!.answer([sent()]);
  await mailer.openAtLeast(2);
  assert.deepEqual(mailer.open[1]!.ids, ['u1', 'u6']);
  while (mailer.open.length) {
    mailer.open[0]!.answer(mailer.open[0]!.ids.map(() => sent()));
    await settle();
  }
  assert.equal(notifier.pending, 0);
  assert.equal(mailer.mostAtOnce(), 2);
  for (let i = 1; i <= 6; i++) assert.ok(delivered.indexOf(`d${i}`) < delivered.indexOf(`u${i}`), `t${i}: down before up in ${delivered.join(' ')}`);
  assert.equal(delivered.length, 12);
});

test('a batch taken in part loses nothing: kept and permanently refused items are not sent again, the transient and 401 ones are, before their targets\' next alerts', async () => {
  const mailer = heldMailer();
  const log = recorder();
  const delivered: string[] = [];
  const failed: string[] = [];
  const notifier = new Notifier({
    send: (a) => mailer.send(a),
    batchLimit: () => 10,
    log,
    backoff: NOW,
    onDelivered: (a) => delivered.push(a.id),
    events: { alertFailed: (a) => failed.push(a.id) },
  });
  notifier.enqueue(alert('x', 'tx')); // goes alone; the rest gather behind it
  notifier.enqueue(alert('a', 'ta'));
  notifier.enqueue(alert('b', 'tb'));
  notifier.enqueue(alert('c', 'tc'));
  notifier.enqueue(alert('d', 'td'));
  notifier.enqueue(alert('b-up', 'tb', 'up'));
  notifier.enqueue(alert('c-up', 'tc', 'up'));
  await mailer.openAtLeast(1);
  mailer.open[0]!.answer([sent()]);
  await mailer.openAtLeast(1);
  assert.deepEqual(mailer.open[0]!.ids, ['a', 'b', 'c', 'd']);
  mailer.open[0]!.answer([
    sent(),
    transient('mailer answered 503: cannot write the store; retry later'),
    { ok: false, retry: true, refused: 401, error: 'mailer refused the alert (401 unauthorized: missing or wrong bearer token); check --mailer-token (MAILER_TOKEN)' },
    permanent('mailer refused the alert (400): field "to" must be one e-mail address'),
  ]);
  await mailer.openAtLeast(1);
  assert.deepEqual(mailer.open[0]!.ids, ['b', 'c'], 'only the refused-transient ones again, and not yet their ups');
  assert.equal(notifier.pending, 4);
  mailer.open[0]!.answer([sent(), sent()]);
  await mailer.openAtLeast(1);
  assert.deepEqual(mailer.open[0]!.ids, ['b-up', 'c-up']);
  mailer.open[0]!.answer([sent(), sent()]);
  await settle();
  assert.deepEqual(delivered, ['x', 'a', 'b', 'c', 'b-up', 'c-up']);
  assert.deepEqual(failed, ['d']);
  assert.equal(notifier.pending, 0);
  assert.equal(mailer.requests.length, 4);
  assert.equal(log.lines.filter((l) => /retrying in|kept and retried/.test(l)).length, 1, 'one line for the batch');
});

test('property: under any answers, in any order, each target\'s alerts go one at a time in order, and every alert is delivered once or refused for good', async () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('enqueue' as const), target: fc.constantFrom('a', 'b', 'c', 'd') }),
    fc.record({
      kind: fc.constant('answer' as const),
      pick: fc.nat(),
      outcomes: fc.array(fc.constantFrom('ok', 'ok', 'transient', 'refused', 'permanent'), { minLength: 8, maxLength: 8 }),
    }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), async (steps, limit, inFlight) => {
      const mailer = heldMailer();
      const all: Alert[] = [];
      const settled = new Set<string>();
      const deliveredTimes = new Map<string, number>();
      const problems: string[] = [];
      const notifier = new Notifier({
        send(alerts) {
          const targets = alerts.map((a) => a.target);
          if (new Set(targets).size !== targets.length) problems.push(`two alerts of one target in a request: ${alerts.map((a) => a.id)}`);
          for (const a of alerts) {
            const earlier = all.filter((e) => e.target === a.target && Number(e.id.split('-')[1]) < Number(a.id.split('-')[1]));
            const unsettled = earlier.filter((e) => !settled.has(e.id));
            if (unsettled.length) problems.push(`${a.id} sent before ${unsettled.map((e) => e.id)} was answered`);
          }
          return mailer.send(alerts);
        },
        batchLimit: () => limit,
        inFlight,
        log: recorder(),
        backoff: NOW,
        onDelivered: (a) => {
          settled.add(a.id);
          deliveredTimes.set(a.id, (deliveredTimes.get(a.id) ?? 0) + 1);
        },
        events: { alertFailed: (a) => void settled.add(a.id) },
      });
      const answer = (request: Request, outcomes: readonly string[]): void =>
        request.answer(
          request.ids.map((_, i) => {
            const o = outcomes[i % outcomes.length];
            if (o === 'transient') return transient('mailer answered 503');
            if (o === 'refused') return { ok: false, retry: true, refused: 403, error: 'mailer refused the alert (403)' } as const;
            if (o === 'permanent') return permanent('mailer refused the alert (400)');
            return sent();
          }),
        );
      for (const s of steps) {
        if (s.kind === 'enqueue') {
          const a = alert(`${s.target}-${all.length}`, s.target);
          all.push(a);
          notifier.enqueue(a);
        } else if (mailer.open.length) {
          answer(mailer.open[s.pick % mailer.open.length]!, s.outcomes);
        }
        await settle();
      }
      // Then the mailer takes everything.
      while (notifier.pending > 0) {
        if (mailer.open.length === 0) await mailer.openAtLeast(1);
        answer(mailer.open[0]!, ['ok']);
        await settle();
      }
      notifier.close();
      assert.deepEqual(problems, []);
      for (const a of all) assert.ok(settled.has(a.id), `${a.id} neither delivered nor refused`);
      for (const [id, n] of deliveredTimes) assert.equal(n, 1, `${id} delivered ${n} times`);
    }),
    { numRuns: 300 },
  );
});
