/**
 * What the hub shows of each target (mailer/hub/target-board.ts), on injected
 * times, with the store's writes collected: down when any agent says down or
 * a down alert has had no up since, else up when any agent says up, else
 * unknown; `since` moves only when the shown state changes; a target an agent
 * no longer names loses that agent's word; every state change, and a new last
 * failure, goes out as a `target` write; a board restored from the store's
 * rows starts where it was. A target whose last live agent drops it is stale.
 * An https target's certExpiresAt is the latest report's, in its view.
 * (The rows' reportedAt, and staleWhy while not stale, are left out of the
 * rows compared: plain().)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusHub } from '../../mailer/hub/hub.ts';
import { StatusViews } from '../../mailer/hub/hub-view.ts';
import type { TargetView } from '../../mailer/hub/status-view.ts';
import { TargetBoard } from '../../mailer/hub/target-board.ts';
import { type BucketRow, DAY_MS, HOUR_MS, type HubStorage, type HubWrite, type TargetRow } from '../../mailer/hub/model.ts';
import { LATENCY_BUCKETS_MS, type TargetReport, type TargetState } from '../../shared/wire-report.ts';
import { packBuckets } from '../support/packed-buckets.ts';

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const S = 1000;

function t(name: string, state: TargetState, checks = 6, failures = state === 'down' ? checks : 0, lastFailure?: string): TargetReport {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[2] = checks;
  return { name, state, checks, failures, latency, ...(lastFailure !== undefined ? { lastFailure } : {}) };
}

function board(rows: TargetRow[] = [], agents: Array<{ name: string; targets: Array<{ name: string; state: TargetState }> }> = [], buckets: BucketRow[] = []) {
  const writes: HubWrite[] = [];
  const b = new TargetBoard((w) => writes.push(w), rows, packBuckets(buckets), agents);
  const targetWrites = () => writes.filter((w) => w.op === 'target').map((w) => plain(w.row));
  return { b, writes, targetWrites };
}

function plain(row: TargetRow): TargetRow {
  const { reportedAt: _r, staleWhy, ...rest } = row;
  return staleWhy ? { ...rest, staleWhy } : rest;
}

const shown = (b: TargetBoard, name: string) => {
  const e = b.get(name);
  return e && { state: e.state, since: e.since };
};

test('a first report: unknown -> up, since = the report time, returned as changed and written', () => {
  const { b, targetWrites } = board();
  const changed = b.report('a', [t('web', 'up')], [], T0);
  assert.deepEqual(changed.map((e) => e.name), ['web']);
  assert.deepEqual(shown(b, 'web'), { state: 'up', since: T0 });
  assert.deepEqual(targetWrites(), [{ name: 'web', state: 'up', since: T0, lastFailure: null, alerted: null }]);
  assert.equal(b.get('web')?.rollup.uptime('24h', T0), 1, 'the checks went into its buckets');
});

test('since changes only on a change: reports that say the same leave it (and write nothing)', () => {
  const { b, targetWrites } = board();
  b.report('a', [t('web', 'up')], [], T0);
  for (let i = 1; i <= 5; i++) assert.deepEqual(b.report('a', [t('web', 'up')], [], T0 + i * 10 * S), []);
  assert.deepEqual(shown(b, 'web'), { state: 'up', since: T0 });
  assert.equal(targetWrites().length, 1);
  b.report('a', [t('web', 'down', 6, 6, 'HTTP 503')], [], T0 + 60 * S);
  assert.deepEqual(shown(b, 'web'), { state: 'down', since: T0 + 60 * S });
  b.report('a', [t('web', 'down', 6, 6, 'HTTP 503')], [], T0 + 70 * S);
  assert.deepEqual(shown(b, 'web'), { state: 'down', since: T0 + 60 * S });
  assert.deepEqual(targetWrites().map((r) => r.state), ['up', 'down']);
});

test('down when any agent says down; up when the others say up and none down; unknown when none says either', () => {
  const { b } = board();
  b.report('a', [t('web', 'up')], [], T0);
  b.report('b', [t('web', 'down')], [], T0 + S);
  assert.deepEqual(shown(b, 'web'), { state: 'down', since: T0 + S }, 'one of two says down');
  b.report('a', [t('web', 'up')], [], T0 + 2 * S);
  assert.equal(b.get('web')?.state, 'down', 'a still saying up does not outvote b');
  b.report('b', [t('web', 'up')], [], T0 + 3 * S);
  assert.deepEqual(shown(b, 'web'), { state: 'up', since: T0 + 3 * S });
  b.report('a', [t('web', 'unknown', 0)], [], T0 + 4 * S);
  assert.equal(b.get('web')?.state, 'up', 'unknown from a, up from b: up');
  b.report('b', [t('web', 'unknown', 0)], [], T0 + 5 * S);
  assert.deepEqual(shown(b, 'web'), { state: 'unknown', since: T0 + 5 * S });
  assert.deepEqual([...b.get('web')!.agents].map(([n, v]) => [n, v.state]), [['a', 'unknown'], ['b', 'unknown']]);
});

test('an alert said down: down, whatever the agents say, until an up alert; its reason is the last failure', () => {
  const { b, targetWrites } = board();
  b.report('a', [t('web', 'up')], [], T0);
  const down = b.alert('web', 'down', T0 + 10 * S, 'connection refused');
  assert.equal(down?.name, 'web', 'returned: its state changed');
  assert.deepEqual(shown(b, 'web'), { state: 'down', since: T0 + 10 * S });
  assert.equal(b.get('web')?.lastFailure, 'connection refused');
  // The agents' reports still say up: the alert's down holds.
  assert.deepEqual(b.report('a', [t('web', 'up')], [], T0 + 20 * S), []);
  assert.deepEqual(shown(b, 'web'), { state: 'down', since: T0 + 10 * S });
  const up = b.alert('web', 'up', T0 + 30 * S, undefined);
  assert.equal(up?.name, 'web');
  assert.deepEqual(shown(b, 'web'), { state: 'up', since: T0 + 30 * S });
  assert.equal(b.get('web')?.lastFailure, 'connection refused', 'an up keeps the last failure');
  assert.deepEqual(targetWrites().at(-1), { name: 'web', state: 'up', since: T0 + 30 * S, lastFailure: 'connection refused', alerted: 'up' });
  // An up alert does not hide an agent that says down.
  b.report('b', [t('web', 'down')], [], T0 + 40 * S);
  assert.equal(b.get('web')?.state, 'down');
});

test('an alert that changes nothing is not returned, but a new reason is written; an alert about an unknown target creates it', () => {
  const { b, targetWrites } = board();
  b.alert('web', 'down', T0, 'HTTP 500');
  assert.equal(b.alert('web', 'down', T0 + S, 'HTTP 502'), undefined, 'still down: no change');
  assert.deepEqual(shown(b, 'web'), { state: 'down', since: T0 });
  assert.deepEqual(targetWrites().at(-1), { name: 'web', state: 'down', since: T0, lastFailure: 'HTTP 502', alerted: 'down' });
  assert.equal([...b.all()].length, 1);
});

test('a report with a new lastFailure and no state change writes the target (and returns nothing); the same one again writes nothing', () => {
  const { b, targetWrites } = board();
  b.report('a', [t('web', 'down', 6, 6, 'HTTP 500')], [], T0);
  assert.equal(targetWrites().length, 1);
  assert.deepEqual(b.report('a', [t('web', 'down', 6, 6, 'HTTP 502')], [], T0 + 10 * S), []);
  assert.deepEqual(targetWrites().at(-1), { name: 'web', state: 'down', since: T0, lastFailure: 'HTTP 502', alerted: null });
  b.report('a', [t('web', 'down', 6, 6, 'HTTP 502')], [], T0 + 20 * S);
  assert.equal(targetWrites().length, 2);
});

test('dropped targets: the agent that no longer names a target loses its word on it; the shown state follows', () => {
  const { b } = board();
  b.report('a', [t('web', 'down'), t('db', 'up')], [], T0);
  b.report('b', [t('web', 'up')], [], T0 + S);
  assert.equal(b.get('web')?.state, 'down');
  // a's next report names only db: web was dropped by a.
  const changed = b.report('a', [t('db', 'up')], ['web'], T0 + 10 * S);
  assert.deepEqual(changed.map((e) => e.name), ['web']);
  assert.deepEqual(shown(b, 'web'), { state: 'up', since: T0 + 10 * S });
  assert.deepEqual([...b.get('web')!.agents.keys()], ['b']);
  // The last agent drops it: stale, saying why (the target stays on the board with its history).
  assert.deepEqual(b.report('b', [], ['web'], T0 + 20 * S).map((e) => e.name), ['web']);
  assert.deepEqual(shown(b, 'web'), { state: 'stale', since: T0 + 20 * S });
  assert.equal(b.get('web')?.staleWhy, 'agent b no longer watches it');
  assert.equal(b.get('web')?.rollup.uptime('24h', T0 + 20 * S), 1 - 6 / 12);
  // Dropping a target an agent never named changes nothing.
  assert.deepEqual(b.report('c', [], ['db'], T0 + 30 * S), []);
  assert.equal(b.get('db')?.state, 'up');
});

test('checks go into the buckets at the report time; a report with no checks adds none; incidentOpened counts into the bar', () => {
  const { b } = board();
  b.report('a', [t('web', 'up', 0)], [], T0);
  assert.equal(b.get('web')?.rollup.uptime('24h', T0), null);
  b.report('a', [t('web', 'down', 4, 1)], [], T0 + HOUR_MS);
  b.incidentOpened('web', T0 + HOUR_MS + S);
  const bar = b.get('web')!.rollup.hourly(T0 + HOUR_MS).at(-1);
  assert.deepEqual({ checks: bar?.checks, failures: bar?.failures, incidents: bar?.incidents }, { checks: 4, failures: 1, incidents: 1 });
});

test('a board restored from the store: rows, the agents\' word and the buckets are where they were; writes go out only on changes', () => {
  const rows: TargetRow[] = [
    { name: 'web', state: 'down', since: T0 - HOUR_MS, lastFailure: 'HTTP 503', alerted: null },
    { name: 'db', state: 'up', since: T0 - 2 * HOUR_MS, lastFailure: null, alerted: null },
  ];
  const hour = T0 - (T0 % HOUR_MS) - HOUR_MS;
  const buckets: BucketRow[] = [
    { target: 'web', size: HOUR_MS, start: hour, checks: 40, failures: 10, incidents: 1, latency: [40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
    { target: 'web', size: DAY_MS, start: T0 - (T0 % DAY_MS), checks: 40, failures: 10, incidents: 1, latency: [] },
  ];
  const { b, writes } = board(rows, [{ name: 'a', targets: [{ name: 'web', state: 'down' }, { name: 'db', state: 'up' }] }], buckets);
  assert.equal(writes.length, 0, 'a restore writes nothing');
  assert.equal(b.get('web')?.rollup.uptime('24h', T0), 0.75);
  assert.equal(b.get('web')?.rollup.uptime('30d', T0), 0.75);
  assert.equal(b.get('web')?.rollup.hourly(T0).at(-2)?.incidents, 1);
  assert.equal(b.get('db')?.rollup.uptime('24h', T0), null);
  assert.deepEqual(shown(b, 'web'), { state: 'down', since: T0 - HOUR_MS });
  assert.deepEqual([...b.get('web')!.agents].map(([n, v]) => [n, v.state]), [['a', 'down']]);
  // a says web is up now: the restored word is replaced, and the change is written.
  assert.deepEqual(b.report('a', [t('web', 'up'), t('db', 'up')], [], T0).map((e) => e.name), ['web']);
  assert.deepEqual(writes.map((w) => (w.op === 'target' ? { op: w.op, row: plain(w.row) } : w)), [{ op: 'target', row: { name: 'web', state: 'up', since: T0, lastFailure: 'HTTP 503', alerted: null } }]);
});

test('an agent that drops out (stopped, silent) leaves its targets stale when no live agent is left, and not otherwise', () => {
  const { b } = board();
  b.report('a', [t('web', 'up'), t('db', 'up')], [], T0);
  b.report('b', [t('db', 'up')], [], T0);
  assert.deepEqual(b.drop('a', 'agent a stopped', T0 + S).map((e) => e.name), ['web']);
  assert.deepEqual(shown(b, 'web'), { state: 'stale', since: T0 + S });
  assert.equal(b.get('web')?.staleWhy, 'agent a stopped');
  assert.equal(b.get('db')?.state, 'up');
  // Watched again: no longer stale.
  b.report('a', [t('web', 'up')], [], T0 + 2 * S);
  assert.deepEqual(shown(b, 'web'), { state: 'up', since: T0 + 2 * S });
  assert.equal(b.get('web')?.staleWhy, null);
});

test("a target's certExpiresAt: the latest report's word, kept when a report has none, in the API's target view", () => {
  const { b } = board();
  b.report('a', [{ ...t('https://shop/', 'up'), certExpiresAt: '2026-03-04T00:00:00.000Z' }], [], T0);
  assert.equal(b.get('https://shop/')?.certExpiresAt, '2026-03-04T00:00:00.000Z');
  b.report('a', [t('https://shop/', 'up')], [], T0 + 10 * S);
  assert.equal(b.get('https://shop/')?.certExpiresAt, '2026-03-04T00:00:00.000Z', 'a report without one (a failed connection) leaves it');
  b.report('b', [{ ...t('https://shop/', 'up'), certExpiresAt: '2026-05-01T00:00:00.000Z' }], [], T0 + 20 * S);
  b.report('a', [t('http://plain/', 'up')], [], T0 + 30 * S);
  const hub = { targets: b, silences: { matching: () => undefined } } as unknown as StatusHub;
  const views = new StatusViews(hub, {} as HubStorage, () => T0 + 30 * S);
  const byName = Object.fromEntries(JSON.parse(JSON.stringify(views.targets())).map((v: TargetView) => [v.name, v]));
  assert.equal(byName['https://shop/'].certExpiresAt, '2026-05-01T00:00:00.000Z');
  assert.equal('certExpiresAt' in byName['http://plain/'], false, 'only a target that has one');
});
