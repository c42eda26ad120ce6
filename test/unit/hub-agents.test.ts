/**
 * The hub's agent registry and its silence watcher, on an injected clock:
 * first report, restart (a new instance under a known name), running target
 * totals, goodbye; the silence alarm exactly at the silence (not a millisecond
 * before), the up on the next report, none after a goodbye, none with `off`,
 * and the default of 3 × the interval, at least 30s; agents restored from the
 * store at a mailer restart (watchRestored) get their silence counted from the
 * start, a silent one's up closes the incident of its down from before, and
 * onSilent hears of each agent found silent; a silence at or below a report
 * interval is warned of (at start, and per agent).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../../shared/logger.ts';
import { LATENCY_BUCKETS_MS, type AgentReport, type TargetReport } from '../../shared/wire-report.ts';
import type { AlertRequest } from '../../shared/wire-json.ts';
import type { Admission } from '../../mailer/intake/admission.ts';
import { AgentSilence, type AgentSilenceOptions, type Clock, type SilenceSetting, silenceFor, silenceWarning } from '../../mailer/hub/agent-silence.ts';
import { AgentRegistry } from '../../mailer/hub/agents.ts';
import type { AgentRow } from '../../mailer/hub/model.ts';

function logger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string): void => void lines.push(m);
  return { lines, debug: keep, info: keep, output: keep, warn: keep, error: keep };
}

function target(name: string, checks = 2, failures = 0): TargetReport {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[0] = checks;
  return { name, state: failures > 0 ? 'down' : 'up', checks, failures, latency };
}

function report(name: string, overrides: Partial<AgentReport> & { instance?: string } = {}): AgentReport {
  const { instance = 'instance-0001', ...rest } = overrides;
  return { v: 1, agent: { name, instance, version: '1.2.3' }, sentAt: new Date(0).toISOString(), intervalMs: 10_000, targets: [target('web'), target('db')], ...rest };
}

/** A clock whose time moves only when the test says; timers fire in order as it passes them. */
class FakeClock implements Clock {
  t = 1_000_000;
  readonly timers = new Set<{ at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): { clear(): void } {
    const timer = { at: this.t + ms, fn };
    this.timers.add(timer);
    return { clear: () => this.timers.delete(timer) };
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers.delete(due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

function hub(setting: SilenceSetting = undefined, lastReports?: AgentSilenceOptions['lastReports']) {
  const clock = new FakeClock();
  const log = logger();
  const alerts: Array<{ req: AlertRequest; peer: string }> = [];
  const admissions = {
    admitJson: (req: AlertRequest, peer: string): Promise<Admission> => {
      alerts.push({ req, peer });
      return Promise.resolve({ ok: true, id: req.id ?? '?', duplicate: false });
    },
  };
  const registry = new AgentRegistry({ log });
  const silence = new AgentSilence({ registry, admissions, recipient: 'admin@work', setting, log, clock, ...(lastReports ? { lastReports } : {}) });
  return { clock, log, alerts, registry, silence };
}

test('a first report registers the agent; GET /api/v1/agents sees name, instance, version, time, interval, state, targets', () => {
  const { silence, clock, log } = hub();
  assert.equal(silence.report(report('box-1')), undefined);
  assert.deepEqual(silence.agents(), [
    { name: 'box-1', instance: 'instance-0001', version: '1.2.3', lastReportAt: new Date(clock.t).toISOString(), intervalMs: 10_000, state: 'reporting', targets: 2 },
  ]);
  assert.match(log.lines.join('\n'), /agent box-1 reports \(version 1\.2\.3, 2 target\(s\), reporting every 10s\)/);
});

test('targets keep running totals of checks and failures; the latest report decides which targets there are', () => {
  const { silence, registry } = hub();
  silence.report(report('a', { targets: [target('web', 3, 1), target('db', 2)] }));
  silence.report(report('a', { targets: [target('web', 4, 2)] }));
  const web = registry.get('a')?.targets.get('web');
  assert.deepEqual({ checks: web?.checks, failures: web?.failures, state: web?.state }, { checks: 7, failures: 3, state: 'down' });
  assert.equal(registry.get('a')?.targets.has('db'), false);
});

test('a new instance under a known name is a restart: the record is kept and the log says "agent X restarted"', () => {
  const { silence, registry, log } = hub();
  silence.report(report('a', { targets: [target('web', 3)] }));
  const first = registry.get('a');
  silence.report(report('a', { instance: 'instance-0002', targets: [target('web', 1)] }));
  assert.equal(registry.size, 1);
  assert.equal(registry.get('a'), first, 'the same record');
  assert.equal(first?.instance, 'instance-0002');
  assert.equal(first?.restarts, 1);
  assert.equal(first?.targets.get('web')?.checks, 4);
  assert.match(log.lines.join('\n'), /agent a restarted/);
  // The same instance again is no restart.
  silence.report(report('a', { instance: 'instance-0002' }));
  assert.equal(first?.restarts, 1);
});

test('a silent agent raises a down alert exactly at the silence (3 × 10s), not a millisecond before', async () => {
  const { silence, clock, alerts, registry } = hub();
  silence.report(report('box-1'));
  clock.advance(29_999);
  assert.equal(alerts.length, 0);
  clock.advance(1);
  assert.equal(alerts.length, 1);
  const { req, peer } = alerts[0]!;
  assert.equal(peer, 'hub');
  assert.equal(req.to, 'admin@work');
  assert.equal(req.status, 'down');
  assert.equal(req.target, 'agent:box-1');
  assert.equal(req.message, 'agent box-1 has not reported for 30.0s; its 2 targets are not being watched');
  assert.ok(req.incident);
  assert.equal(registry.get('box-1')?.state, 'silent');
  // One alarm per silence, however long it lasts.
  clock.advance(600_000);
  assert.equal(alerts.length, 1);
});

test('the next report sends the up alert with the same target and incident, and watching starts again', () => {
  const { silence, clock, alerts, registry } = hub();
  silence.report(report('box-1'));
  clock.advance(45_000);
  silence.report(report('box-1'));
  assert.equal(alerts.length, 2);
  const [down, up] = alerts.map((a) => a.req);
  assert.equal(up?.status, 'up');
  assert.equal(up?.message, 'agent box-1 reports again after 45.0s');
  assert.equal(up?.target, down?.target);
  assert.equal(up?.incident, down?.incident);
  assert.equal(up?.downForMs, 45_000);
  assert.equal(registry.get('box-1')?.state, 'reporting');
  // A second silence is a new incident.
  clock.advance(30_000);
  assert.equal(alerts.length, 3);
  assert.notEqual(alerts[2]?.req.incident, down?.incident);
});

test('reports in time raise nothing', () => {
  const { silence, clock, alerts } = hub();
  for (let i = 0; i < 20; i++) {
    silence.report(report('box-1'));
    clock.advance(10_000);
  }
  assert.equal(alerts.length, 0);
});

test('a goodbye marks the agent stopped: no alarm then, or ever after', () => {
  const { silence, clock, alerts, registry, log } = hub();
  silence.report(report('box-1'));
  clock.advance(5000);
  silence.report(report('box-1', { goodbye: true }));
  assert.equal(registry.get('box-1')?.state, 'stopped');
  assert.match(log.lines.join('\n'), /agent box-1 stopped \(goodbye\)/);
  clock.advance(10 * 86_400_000);
  assert.equal(alerts.length, 0);
});

test('with off, no agent ever alarms', () => {
  const { silence, clock, alerts } = hub('off');
  silence.report(report('box-1'));
  clock.advance(10 * 86_400_000);
  assert.equal(alerts.length, 0);
  assert.equal(clock.timers.size, 0, 'no timer at all');
});

test('a given silence applies to every agent, whatever its interval; one timer serves them all', () => {
  const { silence, clock, alerts } = hub(2000);
  silence.report(report('slow', { intervalMs: 3_600_000 }));
  clock.advance(500);
  silence.report(report('fast', { intervalMs: 1000 }));
  assert.equal(clock.timers.size, 1);
  clock.advance(1499);
  assert.deepEqual(alerts.map((a) => a.req.target), []);
  clock.advance(1);
  assert.deepEqual(alerts.map((a) => a.req.target), ['agent:slow']);
  clock.advance(500);
  assert.deepEqual(alerts.map((a) => a.req.target), ['agent:slow', 'agent:fast']);
});

test('the default silence is 3 × the interval, at least 30s', () => {
  assert.equal(silenceFor(undefined, 1000), 30_000);
  assert.equal(silenceFor(undefined, 60_000), 180_000);
  assert.equal(silenceFor(5000, 60_000), 5000);
  assert.equal(silenceFor('off', 60_000), undefined);
});

test('after close, no timer is left and nothing alarms', () => {
  const { silence, clock, alerts } = hub();
  silence.report(report('box-1'));
  silence.close();
  assert.equal(clock.timers.size, 0);
  clock.advance(3_600_000);
  assert.equal(alerts.length, 0);
});

test('a store that cannot take the alarm is logged, not thrown', async () => {
  const clock = new FakeClock();
  const log = logger();
  const admissions = { admitJson: () => Promise.reject(new Error('disk full')) };
  const silence = new AgentSilence({ registry: new AgentRegistry({ log }), admissions, recipient: 'admin@work', setting: undefined, log, clock });
  silence.report(report('box-1'));
  clock.advance(30_000);
  await new Promise((resolve) => setImmediate(resolve));
  assert.match(log.lines.join('\n'), /Cannot keep the hub's alert for agent:box-1: disk full/);
});

test('the registry refuses a new name beyond its limit, and still takes known ones', () => {
  const log = logger();
  const registry = new AgentRegistry({ log, maxAgents: 2 });
  assert.equal(registry.record(report('a'), 0).ok, true);
  assert.equal(registry.record(report('b'), 0).ok, true);
  const refused = registry.record(report('c'), 0);
  assert.equal(refused.ok, false);
  assert.equal(registry.record(report('a'), 1).ok, true);
});

// ---------------------------------------------------------------------------------
// Agents restored from the store (a mailer restart): watchRestored
// ---------------------------------------------------------------------------------

const STARTED = Date.UTC(2026, 2, 1, 9, 0, 0);

/** A mailer started at STARTED with `rows` in its store, as main.ts builds it: silence first, then the restore, then watchRestored. */
function restarted(rows: AgentRow[]) {
  const clock = new FakeClock();
  clock.t = STARTED;
  const log = logger();
  const alerts: Array<{ req: AlertRequest; peer: string }> = [];
  const silent: string[] = [];
  const admissions = {
    admitJson: (req: AlertRequest, peer: string): Promise<Admission> => {
      alerts.push({ req, peer });
      return Promise.resolve({ ok: true, id: req.id ?? '?', duplicate: false });
    },
  };
  const registry = new AgentRegistry({ log });
  const silence = new AgentSilence({ registry, admissions, recipient: 'admin@work', setting: undefined, log, clock, onSilent: (record) => silent.push(`${record.name}:${record.state}`) });
  registry.restore(rows);
  silence.watchRestored();
  return { clock, alerts, silent, registry, silence };
}

const row = (name: string, overrides: Partial<AgentRow> = {}): AgentRow => ({
  name,
  instance: `inst-${name}-0001`,
  version: '1.2.3',
  firstSeenAt: STARTED - 86_400_000,
  instanceSince: STARTED - 86_400_000,
  lastReportAt: STARTED - 3_600_000,
  intervalMs: 10_000,
  state: 'reporting',
  targets: [{ name: 'web', state: 'up' }],
  ...overrides,
});

test('a restored agent gets its silence counted from the mailer\'s start, not from its last report an hour before; onSilent is called', () => {
  const { clock, alerts, silent, registry } = restarted([row('box-1')]);
  // Counted from its last report, the silence (3 × 10s) ended 59.5 minutes ago: it would alarm at once.
  clock.advance(0);
  clock.advance(29_999);
  assert.equal(alerts.length, 0, 'no alarm within the silence after the start');
  assert.deepEqual(silent, []);
  clock.advance(1);
  assert.equal(alerts.length, 1, 'the alarm at start + 30s exactly');
  assert.deepEqual(silent, ['box-1:silent'], 'onSilent sees the record marked silent');
  assert.equal(registry.get('box-1')?.state, 'silent');
  const { req } = alerts[0]!;
  assert.equal(req.status, 'down');
  assert.equal(req.target, 'agent:box-1');
  // The message counts from its real last report.
  assert.match(req.message, /^agent box-1 has not reported for 1h 00m; its 1 target is not being watched$/);
});

test('a restored agent that reports within the silence after the start raises nothing', () => {
  const { clock, alerts, silence } = restarted([row('box-1')]);
  clock.advance(20_000);
  silence.report(report('box-1', { instance: 'inst-box-1-0001' }));
  clock.advance(29_999);
  assert.equal(alerts.length, 0);
  clock.advance(1);
  assert.equal(alerts.length, 1, 'now counted from that report');
});

test('a restored silent agent raises no second down; its next report sends the up of the incident its down opened before the restart', () => {
  const kept = row('box-1', { state: 'silent' });
  const { clock, alerts, silent, silence } = restarted([kept, row('box-2', { state: 'stopped' })]);
  clock.advance(10 * 86_400_000);
  assert.equal(alerts.length, 0, 'neither the silent nor the stopped agent alarms');
  assert.deepEqual(silent, []);
  silence.report(report('box-1', { instance: 'inst-box-1-0001' }));
  assert.equal(alerts.length, 1);
  const up = alerts[0]!.req;
  assert.equal(up.status, 'up');
  assert.equal(up.incident, `hub-silence-${kept.instance}-${kept.lastReportAt.toString(36)}`, 'the incident id the down had');
  assert.equal(up.downForMs, 10 * 86_400_000 + 3_600_000);
});

test('onSilent is called for an agent that goes silent while the mailer runs', () => {
  const { clock, silent, silence } = restarted([]);
  silence.report(report('live'));
  clock.advance(30_000);
  assert.deepEqual(silent, ['live:silent']);
});

test('an --agent-silence at or below a report interval: a start-up warning against the agents\' default (10s), and one warning per agent whose interval is at or above it', () => {
  assert.match(silenceWarning(10_000) ?? '', /^--agent-silence 10s is at or below the agents' default report interval \(--report-every 10s\): such an agent is called silent between two of its reports/);
  assert.match(silenceWarning(2000) ?? '', /^--agent-silence 2s /);
  for (const setting of [10_001, 30_000, undefined, 'off'] as const) assert.equal(silenceWarning(setting), undefined, String(setting));
  const { silence, log } = hub(5000);
  silence.report(report('fast', { intervalMs: 1000 }));
  silence.report(report('slow', { intervalMs: 5000 }));
  silence.report(report('slow', { intervalMs: 5000 }));
  silence.report(report('slower', { intervalMs: 60_000 }));
  const warned = log.lines.filter((l) => l.includes('at or above --agent-silence'));
  assert.deepEqual(warned, [
    'agent slow reports every 5s, at or above --agent-silence 5s: it is called silent between two of its reports.',
    'agent slower reports every 1m, at or above --agent-silence 5s: it is called silent between two of its reports.',
  ]);
  const { silence: byDefault, log: quiet } = hub(undefined);
  byDefault.report(report('slow', { intervalMs: 60_000 }));
  assert.equal(quiet.lines.filter((l) => l.includes('--agent-silence')).length, 0, 'the default grows with the interval');
});

test('a shared store: an agent whose reports another mailer takes is not called silent; when it is silent everywhere, the alarm carries the incident every mailer computes', async () => {
  // The store's word: another mailer heard box-1 20 s after this one last did, then nothing more.
  let elsewhere: { at: number; instance: string } | undefined;
  const asked: string[][] = [];
  const { silence, clock, alerts, registry } = hub(undefined, (names) => {
    asked.push([...names]);
    return Promise.resolve(new Map(elsewhere ? [['box-1', elsewhere]] : []));
  });
  const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
  silence.report(report('box-1'));
  const heardHere = clock.t;
  elsewhere = { at: heardHere + 20_000, instance: 'instance-0002' };
  clock.advance(30_000);
  await flush();
  assert.deepEqual(asked, [['box-1']], 'asked of the store at the deadline');
  assert.equal(alerts.length, 0, 'the report the other mailer took pushed the deadline on');
  assert.equal(registry.get('box-1')?.state, 'reporting');
  clock.advance(19_999);
  await flush();
  assert.equal(alerts.length, 0);
  clock.advance(1);
  await flush();
  assert.equal(alerts.length, 1, 'silent 30 s after the last report at any mailer');
  assert.equal(alerts[0]!.req.message, 'agent box-1 has not reported for 30.0s; its 2 targets are not being watched');
  // The incident is the one the mailer that took the last report computes: its instance and time.
  assert.equal(alerts[0]!.req.incident, `hub-silence-instance-0002-${(heardHere + 20_000).toString(36)}`);
});

test('a shared store that cannot answer: no alarm on this mailer\'s word alone; asked again a second later', async () => {
  let fail = true;
  let asked = 0;
  const { silence, clock, alerts } = hub(undefined, () => {
    asked += 1;
    return fail ? Promise.reject(new Error('connection refused')) : Promise.resolve(new Map());
  });
  const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
  silence.report(report('box-1'));
  clock.advance(30_000);
  await flush();
  assert.equal(alerts.length, 0);
  fail = false;
  clock.advance(1000);
  await flush();
  assert.equal(asked, 2);
  assert.equal(alerts.length, 1, 'the store answered: no later report anywhere');
});
