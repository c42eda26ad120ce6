/**
 * A StatusView (mailer/hub/status-view.ts) to render and serve in tests, the
 * same every time: SAMPLE_NOW is its generatedAt.
 *
 *   sampleStatusView(n, overrides)   n targets named http://web-0000.example:80/ …, every tenth
 *                                    (i % 10 === 3) down, i % 17 === 5 unknown, the rest up; down first,
 *                                    then by name; even ones watched by two agents; 90 daily + 24 hourly
 *                                    bars each (the oldest 10 days without data); one open incident (the
 *                                    first down target, when there is one) and one closed, with events and
 *                                    deliveries; two agents, one dead letter, one silence
 *   sampleTarget(name, overrides)    one up target with full bars
 *   sampleIncident(id, overrides)    one open incident on http://web-0003.example:80/
 *   sampleBars(count, unit, endMs)   bars oldest first, the last one starting at endMs's day/hour
 */
import { DAILY_BARS, HOURLY_BARS, type BarView, type IncidentView, type StatusView, type TargetView } from '../../mailer/hub/status-view.ts';

export const SAMPLE_NOW = Date.parse('2026-11-30T12:30:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function sampleTargetName(i: number): string {
  return `http://web-${String(i).padStart(4, '0')}.example:80/`;
}

/** Bars oldest first: `count` days (or hours) ending with the one `endMs` is in. Deterministic per `seed`. */
export function sampleBars(count: number, unit: 'day' | 'hour', endMs = SAMPLE_NOW, seed = 0): BarView[] {
  // The pattern repeats every 7 × 23 seeds: made once, copied after (5,000 targets in milliseconds, not seconds).
  const key = `${count} ${unit} ${endMs} ${seed % 161}`;
  let bars = made.get(key);
  if (!bars) made.set(key, (bars = makeBars(count, unit, endMs, seed % 161)));
  return bars.map((b) => ({ ...b }));
}

const made = new Map<string, BarView[]>();

function makeBars(count: number, unit: 'day' | 'hour', endMs: number, seed: number): BarView[] {
  const step = unit === 'day' ? DAY : HOUR;
  const last = Math.floor(endMs / step) * step;
  const checks = unit === 'day' ? 8640 : 360;
  return Array.from({ length: count }, (_, k) => {
    const start = new Date(last - (count - 1 - k) * step).toISOString();
    if (unit === 'day' && k < 10) return { start, checks: 0, failures: 0, uptime: null, incidents: 0 };
    const failures = (k + seed) % 23 === 0 ? Math.round(checks * 0.02) : (k + seed) % 7 === 0 ? 1 : 0;
    return { start, checks, failures, uptime: 1 - failures / checks, incidents: failures > 1 ? 1 : 0 };
  });
}

export function sampleTarget(name: string, overrides: Partial<TargetView> = {}): TargetView {
  return {
    name,
    state: 'up',
    since: new Date(SAMPLE_NOW - 3 * DAY - 2 * HOUR).toISOString(),
    agents: [{ name: 'agent-a', state: 'up' }],
    uptime: { '24h': 0.9995, '7d': 0.9981, '30d': 0.99, '90d': 1 },
    responseMs: { p50: 50, p95: 250 },
    daily: sampleBars(DAILY_BARS, 'day'),
    hourly: sampleBars(HOURLY_BARS, 'hour'),
    silenced: false,
    ...overrides,
  };
}

function nthTarget(i: number): TargetView {
  const state = i % 10 === 3 ? 'down' : i % 17 === 5 ? 'unknown' : 'up';
  const agents: TargetView['agents'] = [{ name: 'agent-a', state }];
  if (i % 2 === 0) agents.push({ name: 'agent-b', state: state === 'down' ? 'up' : state });
  return sampleTarget(sampleTargetName(i), {
    state,
    since: state === 'unknown' ? null : new Date(SAMPLE_NOW - (state === 'down' ? 7 * 60_000 : (i + 1) * HOUR)).toISOString(),
    agents,
    daily: sampleBars(DAILY_BARS, 'day', SAMPLE_NOW, i),
    hourly: sampleBars(HOURLY_BARS, 'hour', SAMPLE_NOW, i),
    ...(state === 'down' ? { lastFailure: 'connect ECONNREFUSED 10.0.0.7:80', uptime: { '24h': 0.97, '7d': 0.995, '30d': 0.9988, '90d': 0.9996 } } : {}),
    ...(state === 'unknown' ? { uptime: { '24h': null, '7d': null, '30d': null, '90d': null }, responseMs: { p50: null, p95: null } } : {}),
  });
}

export function sampleIncident(id: string, overrides: Partial<IncidentView> = {}): IncidentView {
  const opened = SAMPLE_NOW - 7 * 60_000;
  const at = (ms: number): string => new Date(opened + ms).toISOString();
  return {
    id,
    target: sampleTargetName(3),
    state: 'open',
    openedAt: at(0),
    lengthMs: 7 * 60_000,
    message: 'The service is down!',
    reason: 'connection refused',
    silenced: false,
    events: [
      { at: at(0), kind: 'detected', text: 'first failed check' },
      { at: at(20_000), kind: 'confirmed', text: '3 failed checks in a row' },
      { at: at(21_000), kind: 'alert', text: 'down alert sent to 2 channels' },
    ],
    deliveries: [
      { alertId: `${id}-down`, channel: 'log', state: 'sent', attempts: 1, at: at(21_500) },
      { alertId: `${id}-down`, channel: 'smtp', state: 'retrying', attempts: 3, error: 'connect ECONNREFUSED 10.0.0.9:25', at: at(60_000) },
    ],
    ...overrides,
  };
}

export function sampleStatusView(nTargets: number, overrides: Partial<StatusView> = {}): StatusView {
  const rank = (t: TargetView): number => (t.state === 'down' ? 0 : 1);
  const targets = Array.from({ length: nTargets }, (_, i) => nthTarget(i)).sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const firstDown = targets.find((t) => t.state === 'down');
  const incidents: IncidentView[] = [];
  if (firstDown) incidents.push(sampleIncident('inc-open-1', { target: firstDown.name }));
  incidents.push(
    sampleIncident('inc-closed-1', {
      target: sampleTargetName(1),
      state: 'closed',
      openedAt: new Date(SAMPLE_NOW - 2 * DAY).toISOString(),
      resolvedAt: new Date(SAMPLE_NOW - 2 * DAY + 125 * 60_000).toISOString(),
      lengthMs: 125 * 60_000,
      reason: 'HTTP 503',
      deliveries: [
        { alertId: 'inc-closed-1-down', channel: 'log', state: 'sent', attempts: 1, at: new Date(SAMPLE_NOW - 2 * DAY).toISOString() },
        { alertId: 'inc-closed-1-down', channel: 'slack', state: 'dead', attempts: 8, error: 'HTTP 404 no_service', at: new Date(SAMPLE_NOW - 2 * DAY + HOUR).toISOString() },
      ],
    }),
  );
  return {
    generatedAt: new Date(SAMPLE_NOW).toISOString(),
    targets,
    agents: [
      { name: 'agent-a', version: '0.1.0', lastReportAt: new Date(SAMPLE_NOW - 4000).toISOString(), targets: nTargets, state: 'reporting' },
      { name: 'agent-b', version: '0.1.0', lastReportAt: new Date(SAMPLE_NOW - 5 * 60_000).toISOString(), targets: Math.ceil(nTargets / 2), state: 'silent' },
    ],
    incidents,
    deadLetters: [
      { id: 'alert-0042', message: 'The service is down!', receivedAt: new Date(SAMPLE_NOW - DAY).toISOString(), reasons: { slack: 'HTTP 404 no_service', smtp: '550 mailbox unavailable' } },
    ],
    silences: [
      {
        id: 'sil-1',
        target: 'http://web-001*',
        startsAt: new Date(SAMPLE_NOW - HOUR).toISOString(),
        until: new Date(SAMPLE_NOW + HOUR).toISOString(),
        comment: 'maintenance window',
        createdAt: new Date(SAMPLE_NOW - HOUR).toISOString(),
      },
    ],
    ...overrides,
  };
}
