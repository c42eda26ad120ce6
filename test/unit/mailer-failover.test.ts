/**
 * Several mailers (agent/alerting/mailer-failover.ts): an alert moves on to
 * the next mailer on a failure the agent would retry (no connection, a 5xx,
 * a refused token), keeping its id, never on an answer about the alert
 * itself (a 400); the first of the list is preferred, held for a while after
 * a failure and tried first again after it; one log line per change of
 * mailer, at most one in 10 s. Reports follow the same way and state.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MailerLink, MailerResult } from '../../agent/alerting/mailer-client.ts';
import { failoverLink, failoverReports, HOLD, LINE_EVERY_MS, MailerChoice } from '../../agent/alerting/mailer-failover.ts';
import type { ReportOutcome, SendReport } from '../../agent/alerting/report-client.ts';
import type { Alert } from '../../shared/alert.ts';
import { permanent, sent, transient } from '../../shared/send-result.ts';
import type { AgentReport } from '../../shared/wire-report.ts';

const MAILERS = [{ host: 'm1', port: 33333 }, { host: 'm2', port: 33333 }, { host: 'm3', port: 33333 }];

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

function recorder() {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, shown: () => lines.filter((l) => !l.startsWith('debug')), debug: at('debug'), info: at('info'), warn: at('warn') };
}

const alert = (id: string, target = `t-${id}`): Alert => ({ id, to: 'admin@work', message: 'The service is down!', status: 'down', target });

/** A mailer link whose answer per alert `answer(alert)` gives; every alert it was handed, by id. */
function fakeLink(name: string, answer: (a: Alert) => MailerResult): MailerLink & { got: string[] } {
  const got: string[] = [];
  return {
    got,
    batchLimit: () => 100,
    inFlight: 4,
    send: async (alerts) => alerts.map((a) => {
      got.push(a.id);
      return answer(a);
    }),
  };
}

const down = (name: string): MailerResult => transient(`mailer unreachable at ${name}:33333: connection refused`);

test('one mailer: its link as it is, no failover', () => {
  const one = fakeLink('m1', () => sent());
  assert.equal(failoverLink([one], new MailerChoice([MAILERS[0]!], recorder())), one);
});

test('a mailer down: the alert goes to the next at once, with its id; one warning; the first is tried first again after its hold, and an info line says so', async () => {
  const log = recorder();
  const time = clock();
  let m1up = false;
  const m1 = fakeLink('m1', () => (m1up ? sent() : down('m1')));
  const m2 = fakeLink('m2', () => sent());
  const choice = new MailerChoice(MAILERS.slice(0, 2), log, time.now);
  const link = failoverLink([m1, m2], choice);
  assert.deepEqual(await link.send([alert('a1'), alert('a2')]), [sent(), sent()]);
  assert.deepEqual([m1.got, m2.got], [['a1', 'a2'], ['a1', 'a2']], 'the same alerts (ids) at the next mailer');
  assert.deepEqual(log.shown(), ['warn Failing over: mailer unreachable at m1:33333: connection refused; alerts and reports now go to the mailer at m2:33333.']);
  // Within m1's hold the alerts go straight to m2.
  await link.send([alert('a3')]);
  assert.deepEqual([m1.got, m2.got.at(-1)], [['a1', 'a2'], 'a3']);
  time.advance(HOLD.baseMs);
  m1up = true;
  time.advance(LINE_EVERY_MS);
  await link.send([alert('a4')]);
  assert.deepEqual([m1.got.at(-1), m2.got.at(-1)], ['a4', 'a3'], 'past the hold, m1 first again');
  assert.equal(log.shown().at(-1), 'info The mailer at m1:33333 answers again; alerts and reports go back to it.');
});

test('the hold doubles while a mailer keeps failing, and ends at its first answer', async () => {
  const time = clock();
  const choice = new MailerChoice(MAILERS, recorder(), time.now);
  choice.failed(0, 'x');
  assert.deepEqual(choice.order(), [1, 2, 0]);
  time.advance(HOLD.baseMs);
  assert.deepEqual(choice.order(), [0, 1, 2]);
  choice.failed(0, 'x');
  time.advance(HOLD.baseMs);
  assert.deepEqual(choice.order(), [1, 2, 0], 'a second failure holds it 2 s');
  time.advance(HOLD.baseMs);
  assert.deepEqual(choice.order(), [0, 1, 2]);
  choice.failed(0, 'x');
  choice.worked(0);
  assert.deepEqual(choice.order(), [0, 1, 2]);
  choice.failed(1, 'x');
  choice.failed(0, 'x');
  assert.deepEqual(choice.order(), [2, 0, 1], 'held mailers last, in the list order');
});

test('an answer about the alert itself (400) is not failed over; a 5xx and a refused token are', async () => {
  const m1 = fakeLink('m1', (a) => (a.id === 'bad' ? permanent('mailer refused the alert (400): no such recipient') : a.id === 'busy' ? transient('mailer answered 503: store busy') : { ok: false, retry: true, refused: 401, error: 'mailer refused the alert (401 unauthorized: token); check --mailer-token (MAILER_TOKEN)' }));
  const m2 = fakeLink('m2', () => sent());
  const link = failoverLink([m1, m2], new MailerChoice(MAILERS.slice(0, 2), recorder(), clock().now));
  const results = await link.send([alert('bad'), alert('busy'), alert('token')]);
  assert.deepEqual(results[0], permanent('mailer refused the alert (400): no such recipient'));
  assert.deepEqual(results.slice(1), [sent(), sent()]);
  assert.deepEqual(m2.got, ['busy', 'token'], 'only the alerts another mailer could take');
});

test('a batch taken in part: the rest goes to the next mailer, and the first is not held', async () => {
  const time = clock();
  const m1 = fakeLink('m1', (a) => (a.id === 'b' ? transient('mailer answered 503: busy') : sent()));
  const m2 = fakeLink('m2', () => sent());
  const choice = new MailerChoice(MAILERS.slice(0, 2), recorder(), time.now);
  const link = failoverLink([m1, m2], choice);
  assert.deepEqual(await link.send([alert('a'), alert('b'), alert('c')]), [sent(), sent(), sent()]);
  assert.deepEqual(m2.got, ['b']);
  assert.deepEqual(choice.order(), [0, 1], 'm1 answered: not held');
});

test('every mailer failing: a retried failure that names what each said', async () => {
  const link = failoverLink([fakeLink('m1', () => down('m1')), fakeLink('m2', () => transient('mailer answered 503: store busy'))], new MailerChoice(MAILERS.slice(0, 2), recorder(), clock().now));
  const [result] = await link.send([alert('a')]);
  assert.deepEqual(result, { ok: false, retry: true, error: 'no mailer took the alert: mailer unreachable at m1:33333: connection refused; m2:33333: mailer answered 503: store busy' });
});

test('a flapping mailer: at most one line in 10 s; at its end one line says where the sends go, counting the changes left out', () => {
  const log = recorder();
  const time = clock();
  const timers: Array<{ at: number; fn: () => void }> = [];
  const later = (ms: number, fn: () => void) => {
    timers.push({ at: time.now() + ms, fn });
    return () => {};
  };
  const fire = (): void => {
    for (const t of timers.splice(0).filter((x) => x.at <= time.now())) t.fn();
  };
  const choice = new MailerChoice(MAILERS.slice(0, 2), log, time.now, later);
  const reason = 'mailer unreachable at m1:33333: connection refused';
  for (let i = 0; i < 5; i++) {
    choice.failed(0, reason);
    choice.worked(1);
    time.advance(1000);
    choice.worked(0);
    time.advance(1000);
  }
  assert.equal(log.shown().length, 1, log.shown().join('\n'));
  assert.equal(timers.length, 1, 'one line waits for the end of the 10 s');
  time.advance(LINE_EVERY_MS);
  fire();
  assert.deepEqual(log.shown().slice(1), ['info The mailer at m1:33333 answers again; alerts and reports go back to it (8 more changes of mailer since the last such line).']);
  // A change back and forth within the window: the log already says where the sends go.
  choice.worked(1);
  choice.worked(0);
  time.advance(LINE_EVERY_MS);
  fire();
  assert.equal(log.shown().length, 2);
});

test('reports fail over as alerts do (network, 5xx), not on a 400 or a 404; and share the state', async () => {
  const report = { v: 1 } as unknown as AgentReport;
  const calls: string[] = [];
  const reply = (name: string, outcome: ReportOutcome): SendReport => async () => {
    calls.push(name);
    return outcome;
  };
  const time = clock();
  const choice = new MailerChoice(MAILERS.slice(0, 2), recorder(), time.now);
  const away: ReportOutcome = { ok: false, gone: false, elsewhere: true, error: 'mailer unreachable at m1:33333: connection refused' };
  assert.deepEqual(await failoverReports([reply('m1', away), reply('m2', { ok: true })], choice)(report, 1000), { ok: true });
  assert.deepEqual(calls, ['m1', 'm2']);
  assert.deepEqual(choice.order(), [1, 0], 'm1 held for the alerts too');
  calls.length = 0;
  time.advance(HOLD.maxMs);
  const bad: ReportOutcome = { ok: false, gone: false, error: 'the mailer at m1:33333 answered 400: report: unknown field "x"' };
  assert.deepEqual(await failoverReports([reply('m1', bad), reply('m2', { ok: true })], choice)(report, 1000), bad);
  const gone: ReportOutcome = { ok: false, gone: true, error: 'the mailer at m1:33333 has no /api/v1/reports (404: no)' };
  assert.deepEqual(await failoverReports([reply('m1', gone), reply('m2', { ok: true })], choice)(report, 1000), gone);
  assert.deepEqual(calls, ['m1', 'm1']);
  const both = await failoverReports([reply('m1', away), reply('m2', { ...away, error: 'the mailer at m2:33333 answered 503: busy' })], choice)(report, 1000);
  assert.deepEqual(both, { ...away, error: 'no mailer took the report: mailer unreachable at m1:33333: connection refused; the mailer at m2:33333 answered 503: busy' });
});
