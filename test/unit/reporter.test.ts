/** The agent's reporter (agent/alerting/reporter.ts): counting, histogram, marks, warnings, goodbye, certExpiresAt (and a mailer too old for it); with a fake clock, timer and mailer. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReportClient, encodeReport, GZIP_OVER_BYTES, type ReportOutcome } from '../../agent/alerting/report-client.ts';
import { Reporter, WARN_EVERY_MS } from '../../agent/alerting/reporter.ts';
import type { CheckResult } from '../../agent/checks/probe.ts';
import { agentNameArg, defaultAgentName, reportEveryArg } from '../../agent/report-settings.ts';
import { type AgentReport, LATENCY_BUCKETS_MS, latencyBucket, validateReport } from '../../shared/wire-report.ts';

const AGENT = { name: 'edge-1', instance: '2b0c9f3e-7a1d-4c55-9e0a-5d1f0c2b7a11', version: '0.1.0' };
const OK: ReportOutcome = { ok: true };
const FAIL: ReportOutcome = { ok: false, gone: false, error: 'mailer unreachable at mailer:33333: connection refused' };
const GONE: ReportOutcome = { ok: false, gone: true, error: 'the mailer at mailer:33333 has no /api/v1/reports (404: no such path)' };

/** A reporter with a fake mailer (answers: a queue; empty: 202), clock, interval timer and log. */
function rig() {
  const sent: AgentReport[] = [];
  const timeouts: number[] = [];
  const answers: Array<ReportOutcome | Promise<ReportOutcome>> = [];
  const lines: Array<[string, string]> = [];
  let tick: (() => void) | undefined;
  let cancelled = false;
  let now = Date.parse('2026-12-01T10:00:00Z');
  const reporter = new Reporter({
    agent: AGENT,
    intervalMs: 10_000,
    targets: ['web', 'db'],
    mailer: 'mailer:33333',
    send: async (report, timeoutMs) => {
      sent.push(structuredClone(report));
      timeouts.push(timeoutMs);
      return (await answers.shift()) ?? OK;
    },
    log: { debug: (m) => lines.push(['debug', m]), info: (m) => lines.push(['info', m]), warn: (m) => lines.push(['warn', m]) },
    clock: () => now,
    every: (ms, fn) => {
      assert.equal(ms, 10_000);
      tick = fn;
      return () => (cancelled = true);
    },
  });
  return {
    reporter,
    sent,
    timeouts,
    answers,
    lines,
    warnings: () => lines.filter(([level]) => level === 'warn').map(([, m]) => m),
    tick: () => tick?.(),
    advance: (ms: number) => (now += ms),
    cancelled: () => cancelled,
    check: (target: string, ok: boolean, latencyMs: number, reason?: string) =>
      reporter.events.check(target, { ok, latencyMs, at: now, ...(reason ? { reason } : {}) } as CheckResult),
  };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const zeros = (): number[] => new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
/** Lets the promise callbacks of a report run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

test('a report counts checks, failures and latencies per target, in the fixed buckets, and validates', async () => {
  const r = rig();
  r.check('web', true, 3);
  r.check('web', true, 40);
  r.check('web', false, 2500, 'HTTP 503');
  r.check('web', false, 20_000, 'timeout after 2000ms');
  assert.deepEqual(await r.reporter.report(), OK);
  const [report] = r.sent;
  assert.equal(validateReport(report).ok, true, JSON.stringify(validateReport(report)));
  assert.deepEqual(report!.agent, AGENT);
  assert.equal(report!.intervalMs, 10_000);
  assert.equal(report!.sentAt, '2026-12-01T10:00:00.000Z');
  assert.equal(report!.goodbye, undefined);
  assert.equal(r.timeouts[0], 5000, 'a report may take at most 5 s');
  const [web, db] = report!.targets;
  const expected = zeros();
  for (const ms of [3, 40, 2500, 20_000]) expected[latencyBucket(ms)]! += 1;
  assert.deepEqual(web, { name: 'web', state: 'up', checks: 4, failures: 2, latency: expected, lastFailure: 'timeout after 2000ms' });
  assert.deepEqual(expected, [1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1], '3 ms, 40 ms, 2.5 s and the open bucket');
  assert.deepEqual(db, { name: 'db', state: 'unknown', checks: 0, failures: 0, latency: zeros() });
});

test('the state follows the incident: up after the first check, down and up on transitions, not on a reminder', async () => {
  const r = rig();
  r.check('web', false, 1, 'connection refused');
  r.reporter.events.transition('web', { kind: 'down', at: 0, reason: 'connection refused' });
  r.reporter.events.transition('web', { kind: 'reminder', at: 0, reason: 'x', downForMs: 1, count: 1 });
  await r.reporter.report();
  assert.equal(r.sent[0]!.targets[0]!.state, 'down');
  r.reporter.events.transition('web', { kind: 'up', at: 0, downForMs: 5 });
  await r.reporter.report();
  assert.deepEqual(r.sent[1]!.targets[0], { name: 'web', state: 'up', checks: 0, failures: 0, latency: zeros() }, 'no failure since the last report taken: no lastFailure');
});

test('counts reset only after a report the mailer took; a refused one leaves them to the next', async () => {
  const r = rig();
  r.check('web', false, 7, 'HTTP 500');
  r.answers.push(FAIL);
  assert.deepEqual(await r.reporter.report(), FAIL);
  r.check('web', true, 7);
  await r.reporter.report();
  assert.deepEqual([r.sent[0]!.targets[0]!.checks, r.sent[1]!.targets[0]!.checks, r.sent[1]!.targets[0]!.failures], [1, 2, 1]);
  assert.equal(r.sent[1]!.targets[0]!.lastFailure, 'HTTP 500');
  await r.reporter.report();
  assert.deepEqual(r.sent[2]!.targets[0], { name: 'web', state: 'up', checks: 0, failures: 0, latency: zeros() });
});

test('checks made while a report is on the wire go in the next one; an interval that finds one on the wire is skipped', async () => {
  const r = rig();
  r.reporter.start();
  r.check('web', true, 1);
  let answer!: (o: ReportOutcome) => void;
  r.answers.push(new Promise((resolve) => (answer = resolve)));
  r.tick();
  await settle();
  assert.equal(r.sent.length, 1);
  r.check('web', true, 1);
  r.tick();
  await settle();
  assert.equal(r.sent.length, 1, 'no second report while one is on the wire');
  answer(OK);
  await settle();
  r.tick();
  await settle();
  assert.deepEqual(r.sent.map((rep) => rep.targets[0]!.checks), [1, 1]);
});

test('property: over any checks and mailer answers, the reports the mailer took add up exactly to the checks made', async () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('check' as const), target: fc.constantFrom('web' as const, 'db' as const), ok: fc.boolean(), ms: fc.double({ min: 0, max: 30_000, noNaN: true }) }),
    fc.record({ kind: fc.constant('report' as const), taken: fc.boolean() }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
      const r = rig();
      const taken: AgentReport[] = [];
      const made = { web: { checks: 0, failures: 0 }, db: { checks: 0, failures: 0 } };
      const report = async (answer: ReportOutcome): Promise<void> => {
        r.answers.push(answer);
        if ((await r.reporter.report()).ok) taken.push(r.sent.at(-1)!);
      };
      for (const s of steps) {
        if (s.kind === 'report') {
          await report(s.taken ? OK : FAIL);
          continue;
        }
        r.check(s.target, s.ok, s.ms, s.ok ? undefined : 'down');
        made[s.target].checks += 1;
        if (!s.ok) made[s.target].failures += 1;
      }
      await report(OK);
      for (const rep of r.sent) {
        assert.ok(validateReport(rep).ok);
        for (const t of rep.targets) assert.equal(sum(t.latency), t.checks, 'every check is in one bucket');
      }
      for (const name of ['web', 'db'] as const) {
        const mine = taken.map((rep) => rep.targets.find((t) => t.name === name)!);
        assert.equal(sum(mine.map((t) => t.checks)), made[name].checks);
        assert.equal(sum(mine.map((t) => t.failures)), made[name].failures);
      }
    }),
    { numRuns: 200 },
  );
});

test('failures: a warning at most once a minute; a line when reports go through again', async () => {
  const r = rig();
  r.answers.push(FAIL, FAIL, FAIL);
  await r.reporter.report();
  r.advance(10_000);
  await r.reporter.report();
  assert.equal(r.warnings().length, 1);
  assert.match(r.warnings()[0]!, /^Report not delivered: mailer unreachable at mailer:33333: connection refused; the next goes in 10s/);
  r.advance(WARN_EVERY_MS);
  await r.reporter.report();
  assert.equal(r.warnings().length, 2);
  await r.reporter.report();
  assert.deepEqual(r.lines.at(-1), ['info', 'Reports reach the mailer at mailer:33333 again.']);
  assert.equal(r.cancelled(), false, 'a failure never ends the reports');
});

test('a 404: one warning, then no more reports', async () => {
  const r = rig();
  r.reporter.start();
  r.answers.push(GONE);
  r.tick();
  await settle();
  assert.equal(r.cancelled(), true);
  assert.equal(r.reporter.active, false);
  r.tick();
  await settle();
  await r.reporter.stop();
  assert.equal(r.sent.length, 1, 'no report, no goodbye after a 404');
  assert.equal(r.warnings().length, 1);
  assert.match(r.warnings()[0]!, /^Not sending reports: the mailer at mailer:33333 has no \/api\/v1\/reports \(404/);
});

test("an https target's certExpiresAt goes as an ISO date, as last seen, only for a target that has one", async () => {
  const r = rig();
  const expires = Date.parse('2026-12-04T10:00:00Z');
  r.reporter.events.check('web', { ok: true, latencyMs: 3, at: 0, certExpiresAt: expires } as CheckResult);
  r.check('web', false, 3, 'connection refused');
  r.check('db', true, 3);
  await r.reporter.report();
  const [web, db] = r.sent[0]!.targets;
  assert.equal(web!.certExpiresAt, '2026-12-04T10:00:00.000Z', 'kept through a check that saw no certificate');
  assert.equal('certExpiresAt' in db!, false);
  assert.ok(validateReport(r.sent[0]).ok);
});

test('a mailer older than certExpiresAt (400, unknown field): one warning, the report sent again at once without it, and never again', async () => {
  const bodies: AgentReport[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AgentReport;
      bodies.push(body);
      // As an older mailer's parser answers: the first unknown field of the first target that has one.
      const i = body.targets.findIndex((t) => 'certExpiresAt' in t);
      res.writeHead(i < 0 ? 202 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify(i < 0 ? { ok: true } : { error: `targets[${i}]: unknown field "certExpiresAt"` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const lines: string[] = [];
    const reporter = new Reporter({
      agent: AGENT,
      intervalMs: 10_000,
      targets: ['web'],
      mailer: 'mailer:33333',
      send: createReportClient({ mailer: { host: '127.0.0.1', port: (server.address() as AddressInfo).port } }),
      log: { debug() {}, info: (m) => lines.push(m), warn: (m) => lines.push(m) },
      every: () => () => {},
    });
    reporter.events.check('web', { ok: true, latencyMs: 3, at: 0, certExpiresAt: Date.parse('2026-12-04T10:00:00Z') } as CheckResult);
    assert.deepEqual(await reporter.report(), OK, 'the report is taken, without the field');
    assert.deepEqual(bodies.map((b) => 'certExpiresAt' in b.targets[0]!), [true, false]);
    assert.equal(bodies[1]!.targets[0]!.checks, 1, 'the counts went in the report sent again');
    assert.deepEqual(lines, ["The mailer at mailer:33333 does not read certExpiresAt (an older ch2): reports go on without the certificates' expiry."]);
    reporter.events.check('web', { ok: true, latencyMs: 3, at: 0, certExpiresAt: Date.parse('2026-12-05T10:00:00Z') } as CheckResult);
    assert.deepEqual(await reporter.report(), OK);
    assert.equal(bodies.length, 3, 'one request: the field stays out');
    assert.equal('certExpiresAt' in bodies[2]!.targets[0]!, false);
    assert.equal(lines.length, 1, 'one warning');
  } finally {
    server.close();
  }
});

test('stop: a last report with goodbye: true, within its bound; a failed goodbye is no warning', async () => {
  const r = rig();
  r.reporter.start();
  r.check('db', true, 12);
  r.answers.push(FAIL);
  await r.reporter.stop(300);
  assert.equal(r.cancelled(), true);
  assert.equal(r.sent.length, 1);
  assert.equal(r.sent[0]!.goodbye, true);
  assert.ok(validateReport(r.sent[0]).ok);
  assert.equal(r.sent[0]!.targets[1]!.checks, 1);
  assert.ok(r.timeouts[0]! <= 300, `the goodbye's own timeout is within the bound: ${r.timeouts[0]}`);
  assert.deepEqual(r.warnings(), []);
  await r.reporter.stop();
  assert.equal(r.sent.length, 1, 'one goodbye');
});

test('stop: a mailer that never answers costs at most the bound', async () => {
  const r = rig();
  r.answers.push(new Promise(() => {}));
  const started = performance.now();
  await r.reporter.stop(100);
  const took = performance.now() - started;
  assert.ok(took >= 90 && took < 1000, `took ${took}ms`);
  assert.equal(r.sent[0]!.goodbye, true);
});

test('encodeReport: JSON, gzipped (content-encoding: gzip) over 16 KiB', async () => {
  const small = { v: 1, agent: AGENT, sentAt: new Date(0).toISOString(), intervalMs: 1000, targets: [] } as AgentReport;
  const plain = await encodeReport(small);
  assert.deepEqual(plain.headers, { 'content-type': 'application/json' });
  assert.deepEqual(JSON.parse(String(plain.body)), small);
  const big: AgentReport = { ...small, targets: Array.from({ length: 400 }, (_, i) => ({ name: `target-${i}`, state: 'up', checks: 1, failures: 0, latency: [1, ...zeros().slice(1)] })) };
  assert.ok(JSON.stringify(big).length > GZIP_OVER_BYTES);
  const zipped = await encodeReport(big);
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.deepEqual(JSON.parse(gunzipSync(zipped.body as Buffer).toString('utf8')), big);
});

test('the flags: --report-every a duration from 1s to 1d or off; --agent-name as the mailer reads it; the default name fits', () => {
  assert.equal(reportEveryArg('10s'), 10_000);
  assert.equal(reportEveryArg('off'), 0);
  assert.equal(reportEveryArg('2'), 2000);
  assert.throws(() => reportEveryArg('500ms'), /from 1s to 1d, or "off"/);
  assert.throws(() => reportEveryArg('2d'), /from 1s to 1d/);
  assert.equal(agentNameArg('  edge 1 '), 'edge 1');
  assert.throws(() => agentNameArg(''), /1 to 128 printable ASCII/);
  assert.throws(() => agentNameArg('é'), /printable ASCII/);
  assert.throws(() => agentNameArg('x'.repeat(129)), /1 to 128/);
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (host) => {
      const name = defaultAgentName(host);
      assert.equal(agentNameArg(name), name);
    }),
  );
  assert.equal(defaultAgentName('web-7f9c'), 'web-7f9c');
});
