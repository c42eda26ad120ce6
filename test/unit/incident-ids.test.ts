/**
 * One incident id per outage: the real state machine (agent/incidents/incident.ts)
 * and the real alerts (agent/incidents/incident-alerts.ts), for any thresholds, any
 * pattern of check results and reminders on. The down, every reminder and
 * the up of an outage carry one id (what PagerDuty resolves, Google Chat
 * threads and the hub closes by); two outages never share one. Also: the
 * alerts name the agent and its instance, and the mailer keeps both.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type AlertOrigin, alertsFor } from '../../agent/incidents/incident-alerts.ts';
import { Incident } from '../../agent/incidents/incident.ts';
import { Monitor } from '../../agent/incidents/monitor.ts';
import type { TargetSpec } from '../../agent/target.ts';
import { Admissions } from '../../mailer/intake/admission.ts';
import { Allowlist } from '../../mailer/intake/allowlist.ts';
import type { Dispatcher } from '../../mailer/delivery/dispatcher.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import type { Alert } from '../../shared/alert.ts';
import type { Logger } from '../../shared/logger.ts';
import { encodeAlertJson, parseAlertJson } from '../../shared/wire-json.ts';
import { MemoryOutbox } from '../support/memory-store.ts';
import { sampleTarget } from '../support/sample-target.ts';

const ORIGIN: AlertOrigin = { agent: 'agent-a', instance: '6f1c2d3e-0000-4000-8000-00000000abcd' };
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, output() {} };

function spec(to: string[], extra: Partial<TargetSpec> = {}): TargetSpec {
  return sampleTarget('http://web.invalid/', { intervalMs: 20, timeoutMs: 1000, to, ...extra });
}

/** Runs of check results (good or failed, 1 to 8 in a row), each check some time after the last (0 ms included). */
const checks = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 3000 })), { maxLength: 60 });

test('one incident id per outage, on its down, every reminder and its up; distinct outages, distinct ids (any thresholds, any checks)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 1, max: 3 }),
      checks,
      (failureThreshold, successThreshold, remindEveryMs, maxReminders, recipients, runs) => {
        const incident = new Incident({ failureThreshold, successThreshold, remindEveryMs, maxReminders });
        const target = spec(Array.from({ length: recipients }, (_, i) => `r${i}@work`), { maxReminders });
        // The outages as the alerts tell them: a down opens one, reminders and the up belong to it.
        const outages: Alert[][] = [];
        let open: Alert[] | undefined;
        let at = 1_700_000_000_000;
        for (const [ok, count, gapMs] of runs) {
          for (let i = 0; i < count; i++) {
            at += gapMs;
            const t = incident.observe({ ok, at, reason: 'connection refused' });
            if (!t) continue;
            const alerts = alertsFor(target, t, ORIGIN);
            assert.equal(alerts.length, recipients);
            if (t.kind === 'down') {
              assert.equal(open, undefined, 'a down while an outage is open');
              open = [];
              outages.push(open);
            }
            assert.ok(open, `a ${t.kind} outside an outage`);
            open.push(...alerts);
            if (t.kind === 'up') open = undefined;
          }
        }
        const ids = outages.map((alerts) => {
          const seen = new Set(alerts.map((a) => a.incident));
          assert.equal(seen.size, 1, `one outage's alerts carry ${seen.size} ids: ${alerts.map((a) => `${a.status}${a.reminder ? ` reminder ${a.reminder}` : ''} ${a.incident}`).join(', ')}`);
          const [id] = seen;
          assert.ok(typeof id === 'string' && /^[A-Za-z0-9._:@-]{1,100}$/.test(id), `id ${String(id)}`);
          return id;
        });
        assert.equal(new Set(ids).size, ids.length, `${ids.length} outages share ids: ${ids.join(', ')}`);
      },
    ),
    { numRuns: 500 },
  );
});

test('threshold 2 with reminders: the down, its reminder and its up share one id; the next outage has another', () => {
  const incident = new Incident({ failureThreshold: 2, successThreshold: 2, remindEveryMs: 1000 });
  const t0 = 1_700_000_000_000;
  const out = [false, false, false, false, true, true, false, false, true, true].flatMap((ok, i) => {
    const t = incident.observe({ ok, at: t0 + i * 600, reason: 'HTTP 503' });
    return t ? alertsFor(spec(['admin@work']), t, ORIGIN) : [];
  });
  assert.deepEqual(
    out.map((a) => `${a.status}${a.reminder ? ` reminder ${a.reminder}` : ''}`),
    ['down', 'down reminder 1', 'up', 'down', 'up'],
  );
  const [first, second] = [out.slice(0, 3), out.slice(3)];
  assert.equal(new Set(first.map((a) => a.incident)).size, 1, 'the first outage: one id');
  assert.equal(new Set(second.map((a) => a.incident)).size, 1, 'the second outage: one id');
  assert.notEqual(first[0]?.incident, second[0]?.incident);
});

test("the monitor's alerts (down and up, default threshold 2) carry one incident id, the agent's name and its instance", async () => {
  const results = [false, false, false, true, true];
  const alerts: Alert[] = [];
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const monitor = new Monitor({
    targets: [spec(['admin@work', 'oncall@work'])],
    origin: ORIGIN,
    enqueue: (a) => {
      alerts.push(a);
      if (a.status === 'up' && alerts.filter((x) => x.status === 'up').length === 2) done();
    },
    events: {},
    probeFor: () => ({
      check: async () => {
        const ok = results.shift() ?? true;
        return ok ? { ok, latencyMs: 1, at: Date.now() } : { ok, reason: 'connection refused', latencyMs: 1, at: Date.now() };
      },
    }),
  });
  monitor.start();
  try {
    await finished;
  } finally {
    await monitor.stop();
  }
  assert.deepEqual(alerts.map((a) => a.status), ['down', 'down', 'up', 'up']);
  assert.equal(new Set(alerts.map((a) => a.incident)).size, 1, alerts.map((a) => `${a.status} ${a.incident}`).join(', '));
  for (const a of alerts) {
    assert.equal(a.agent, ORIGIN.agent);
    assert.equal(a.instance, ORIGIN.instance);
  }
});

test("the mailer reads and keeps the agent's name and instance with the incident id", async () => {
  const [alert] = alertsFor(spec(['admin@work']), { kind: 'down', at: 0, reason: 'connection refused', incident: 'inc-0123456789abcdef01234567' }, ORIGIN);
  assert.ok(alert);
  const parsed = parseAlertJson(encodeAlertJson(alert));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  assert.equal(parsed.value.agent, ORIGIN.agent);
  assert.equal(parsed.value.instance, ORIGIN.instance);
  const kept: QueuedAlert[] = [];
  const admissions = new Admissions({
    allowlist: new Allowlist(['admin@work']),
    store: new MemoryOutbox(),
    dispatcher: { channelsFor: () => ['log'], submit: () => {} } as unknown as Dispatcher,
    log: quiet,
  });
  admissions.observe({ beforeKeep: () => false, admitted: (item) => void kept.push(item) });
  assert.equal((await admissions.admitJson(parsed.value, '10.0.0.2:4000')).ok, true);
  assert.equal(kept[0]?.alert.incident, 'inc-0123456789abcdef01234567');
  assert.equal(kept[0]?.alert.agent, ORIGIN.agent);
  assert.equal(kept[0]?.alert.instance, ORIGIN.instance);
  // A bad name or instance is refused, as in a report.
  for (const bad of [{ agent: ' leading space' }, { agent: 'é' }, { instance: 'short' }, { instance: 'has space in it' }]) {
    assert.equal(parseAlertJson(JSON.stringify({ message: 'x', ...bad })).ok, false, JSON.stringify(bad));
  }
});
