/**
 * The hub's tables in the real SQLite store (mailer/store/sqlite-store.ts, its
 * worker thread; no child process), in a temporary folder, on an injected
 * clock: every kind of hub write survives a close and a reopen and comes back
 * from hubLoad (within the retention it loads: hourly buckets 8 days, daily
 * 91, silences not yet ended); bucket writes into the same hour and day add
 * up (one upsert each); incidents() gives the open incidents the hub wrote
 * with the deliveries the alerts' progress recorded under their incident id.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import { type AgentRow, type BucketRow, DAY_MS, HOUR_MS, type IncidentRow, type SilenceRow, type TargetRow } from '../../mailer/hub/model.ts';
import { SqliteStore } from '../../mailer/store/sqlite-store.ts';
import { createLogger } from '../../shared/logger.ts';
import { unpackBuckets } from '../support/packed-buckets.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ch2-hub-store-test-'));
  dirs.push(dir);
  return dir;
}

const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });
/** 2026-03-01T09:00:00Z, the store's clock unless a test moves it. */
const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const MIN = 60_000;
let clock = T0;

async function open(dir: string): Promise<SqliteStore> {
  return (await SqliteStore.open({ dir, log, dedupeWindowMs: 7 * DAY_MS, now: () => clock })).store;
}

const lat = (...counts: number[]): number[] => [...counts, ...new Array<number>(12 - counts.length).fill(0)];
const byKey = (rows: BucketRow[]): BucketRow[] => [...rows].sort((a, b) => a.size - b.size || a.start - b.start || (a.target < b.target ? -1 : 1));
const hourOf = (at: number): number => at - (at % HOUR_MS);
const dayOf = (at: number): number => at - (at % DAY_MS);

const agent: AgentRow = {
  name: 'box-1',
  instance: 'inst-box-1-0001',
  version: '1.2.3',
  firstSeenAt: T0 - DAY_MS,
  instanceSince: T0 - HOUR_MS,
  lastReportAt: T0,
  intervalMs: 10_000,
  state: 'reporting',
  targets: [{ name: 'http://web/', state: 'down' }, { name: 'tcp://db:5432', state: 'up' }],
};
const target: TargetRow = { name: 'http://web/', state: 'down', since: T0 - 5 * MIN, lastFailure: 'HTTP 503', alerted: 'down' };
const incident: IncidentRow = {
  id: 'inc-x',
  target: 'http://web/',
  state: 'open',
  openedAt: T0 - 5 * MIN,
  resolvedAt: null,
  message: 'web is down',
  reason: 'HTTP 503',
  silenced: false,
  recipients: ['admin@work', 'ops@work'],
  events: [
    { at: T0 - 5 * MIN, kind: 'detected', text: 'down: HTTP 503' },
    { at: T0 - 5 * MIN + 200, kind: 'alert', text: 'alert a1 to admin@work' },
  ],
};
const silence: SilenceRow = { id: 'sil-1', target: 'web-*', startsAt: T0, until: T0 + DAY_MS, comment: 'deploy', createdAt: T0 };

test('hubWrite of buckets, agent, target, incident and silence, then close and reopen: hubLoad gives them back', async () => {
  clock = T0;
  const dir = tempDir();
  const store = await open(dir);
  store.hubWrite({ op: 'buckets', at: T0 + 10_000, adds: [{ target: 'http://web/', checks: 6, failures: 2, latency: lat(4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2), incidents: 1 }] });
  store.hubWrite({ op: 'agent', row: agent });
  store.hubWrite({ op: 'target', row: target });
  store.hubWrite({ op: 'incident', row: incident });
  store.hubWrite({ op: 'silence', row: silence });
  store.hubWrite({ op: 'silence', row: { ...silence, id: 'sil-gone', until: T0 + MIN } });
  store.hubWrite({ op: 'silence', row: { ...silence, id: 'sil-removed' } });
  store.hubWrite({ op: 'unsilence', id: 'sil-removed' });
  await store.close();

  clock = T0 + 2 * MIN;
  const again = await open(dir);
  try {
    const snapshot = await again.hubLoad();
    assert.deepEqual(snapshot.agents, [agent]);
    assert.deepEqual(snapshot.targets, [target]);
    assert.deepEqual(snapshot.open, [incident]);
    assert.deepEqual(snapshot.silences, [silence], 'the ended one and the removed one are not loaded');
    const latency = lat(4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);
    assert.deepEqual(byKey(unpackBuckets(snapshot.buckets)), [
      { target: 'http://web/', size: HOUR_MS, start: hourOf(T0), checks: 6, failures: 2, incidents: 1, latency },
      { target: 'http://web/', size: DAY_MS, start: dayOf(T0), checks: 6, failures: 2, incidents: 1, latency },
    ]);
  } finally {
    await again.close();
  }
});

test('buckets upsert adds: two writes into the same hour sum in one hourly row; the day sums every hour of it', async () => {
  clock = T0;
  const dir = tempDir();
  const store = await open(dir);
  const add = (at: number, checks: number, failures: number, latency: number[], incidents = 0): void =>
    store.hubWrite({ op: 'buckets', at, adds: [{ target: 'web', checks, failures, latency, incidents }] });
  add(T0 + MIN, 6, 1, lat(5, 1));
  add(T0 + 59 * MIN, 6, 0, lat(3, 3), 1); // the same hour
  add(T0 + 60 * MIN, 10, 10, lat(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10)); // the next hour, the same day
  store.hubWrite({ op: 'buckets', at: T0 + MIN, adds: [{ target: 'db', checks: 1, failures: 0, latency: [1], incidents: 0 }] });
  await store.close();
  const again = await open(dir);
  try {
    const web = byKey(unpackBuckets((await again.hubLoad()).buckets).filter((b) => b.target === 'web'));
    assert.deepEqual(web, [
      { target: 'web', size: HOUR_MS, start: hourOf(T0), checks: 12, failures: 1, incidents: 1, latency: lat(8, 4) },
      { target: 'web', size: HOUR_MS, start: hourOf(T0) + HOUR_MS, checks: 10, failures: 10, incidents: 0, latency: lat(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10) },
      { target: 'web', size: DAY_MS, start: dayOf(T0), checks: 22, failures: 11, incidents: 1, latency: lat(8, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10) },
    ]);
  } finally {
    await again.close();
  }
});

test('hubLoad loads hourly buckets of the last 8 days and daily ones of the last 91; older ones stay out', async () => {
  clock = T0;
  const dir = tempDir();
  const store = await open(dir);
  for (const ago of [HOUR_MS, 7 * DAY_MS, 9 * DAY_MS, 90 * DAY_MS, 95 * DAY_MS]) {
    store.hubWrite({ op: 'buckets', at: T0 - ago, adds: [{ target: 'web', checks: 1, failures: 0, latency: [1], incidents: 0 }] });
  }
  await store.close();
  const again = await open(dir);
  try {
    const buckets = unpackBuckets((await again.hubLoad()).buckets);
    const ages = (size: number): number[] => buckets.filter((b) => b.size === size).map((b) => Math.round((T0 - b.start) / DAY_MS * 24)).sort((a, b) => a - b);
    assert.deepEqual(ages(HOUR_MS), [1, 7 * 24], 'hours: 1 hour and 7 days ago; not 9 days');
    assert.deepEqual(ages(DAY_MS).map((h) => Math.floor(h / 24)), [0, 7, 9, 90], 'days: not 95 days ago');
  } finally {
    await again.close();
  }
});

function alertItem(id: string, incidentId: string | undefined): QueuedAlert {
  return {
    alert: { id, to: 'admin@work', message: 'web is down', status: 'down', target: 'http://web/', ...(incidentId !== undefined ? { incident: incidentId } : {}) },
    line: 'To: admin@work Message: web is down',
    via: 'json',
    receivedAt: clock,
  };
}

test('incidents(): the open incidents the hub wrote, with the deliveries recorded from their alerts\' progress', async () => {
  clock = T0;
  const dir = tempDir();
  const store = await open(dir);
  try {
    assert.deepEqual(await store.admit(alertItem('a1', 'inc-x'), ['log', 'webhook']), { duplicate: false });
    store.hubWrite({ op: 'incident', row: incident });
    clock = T0 + 1000;
    store.settle('a1', 'log', 'delivered');
    await store.incidents({ state: 'all', limit: 1 }); // a commit with the first progress
    clock = T0 + 2000;
    store.attempted('a1', 'webhook', 'HTTP 503 from http://hooks.example');
    const open1 = await store.incidents({ state: 'open', limit: 10 });
    assert.equal(open1.length, 1);
    const { deliveries, ...row } = open1[0]!;
    assert.deepEqual(row, incident);
    assert.deepEqual(
      deliveries.map(({ at: _at, ...d }) => d),
      [
        { incident: 'inc-x', alertId: 'a1', channel: 'log', state: 'delivered', attempts: 1, error: null },
        { incident: 'inc-x', alertId: 'a1', channel: 'webhook', state: 'pending', attempts: 1, error: 'HTTP 503 from http://hooks.example' },
      ],
    );
    assert.equal(deliveries[1]?.at, T0 + 2000, 'the webhook attempt, when it was recorded');
    // A copy to another recipient under the same incident, settled dead: its deliveries join the incident's.
    await store.admit({ ...alertItem('a1-ops', 'inc-x'), alert: { ...alertItem('a1-ops', 'inc-x').alert, to: 'ops@work' } }, ['log']);
    clock = T0 + 3000;
    store.settle('a1-ops', 'log', 'dead', 'refused');
    const withCopy = (await store.incidents({ state: 'open', limit: 10 }))[0]!.deliveries;
    assert.deepEqual(withCopy.map((d) => [d.alertId, d.channel, d.state]), [['a1', 'log', 'delivered'], ['a1', 'webhook', 'pending'], ['a1-ops', 'log', 'dead']]);
    // Closed: the incident moves from the open list to the closed one, with its deliveries.
    store.hubWrite({ op: 'incident', row: { ...incident, state: 'closed', resolvedAt: T0 + 4000 } });
    assert.deepEqual(await store.incidents({ state: 'open', limit: 10 }), []);
    const closed = await store.incidents({ state: 'closed', limit: 10 });
    assert.deepEqual(closed.map((i) => [i.id, i.resolvedAt, i.deliveries.length]), [['inc-x', T0 + 4000, 3]]);
    assert.deepEqual((await store.incidents({ state: 'all', limit: 10, target: 'http://db/' })).length, 0);
    assert.deepEqual((await store.incidents({ state: 'all', limit: 10, target: 'http://web/' })).map((i) => i.id), ['inc-x']);
  } finally {
    await store.close();
  }
});

// Regression (found at 88e50b7): keepDeliveries writes every channel of the alert at each change, stamped
// with the commit's time, and the delivery upsert replaced the row, so the log's delivery (settled at T0 + 1s)
// read as T0 + 2s once the webhook's attempt was recorded, and moved on with every retry of the webhook.
test('a delivery keeps the time of its own channel\'s last progress, not that of another channel of the alert', async () => {
  clock = T0;
  const dir = tempDir();
  const store = await open(dir);
  try {
    await store.admit(alertItem('a1', 'inc-x'), ['log', 'webhook']);
    store.hubWrite({ op: 'incident', row: incident });
    clock = T0 + 1000;
    store.settle('a1', 'log', 'delivered');
    await store.incidents({ state: 'all', limit: 1 });
    for (let n = 2; n <= 4; n++) {
      clock = T0 + n * 1000;
      store.attempted('a1', 'webhook', 'HTTP 503');
      await store.incidents({ state: 'all', limit: 1 });
    }
    const [row] = await store.incidents({ state: 'open', limit: 10 });
    assert.deepEqual(row?.deliveries.map((d) => [d.channel, d.state, d.at]), [['log', 'delivered', T0 + 1000], ['webhook', 'pending', T0 + 4000]]);
  } finally {
    await store.close();
  }
});

test('an alert without an incident id keeps its deliveries under the hub\'s own key (<via>-<id>)', async () => {
  clock = T0;
  const dir = tempDir();
  const store = await open(dir);
  try {
    await store.admit(alertItem('lone', undefined), ['log']);
    store.hubWrite({ op: 'incident', row: { ...incident, id: 'json-lone', target: 'http://lone/' } });
    store.settle('lone', 'log', 'delivered');
    const [only] = await store.incidents({ state: 'open', limit: 10 });
    assert.deepEqual(only?.deliveries.map((d) => [d.incident, d.alertId, d.state]), [['json-lone', 'lone', 'delivered']]);
  } finally {
    await store.close();
  }
});

test('incidents() lists newest first and honours its limit', async () => {
  clock = T0;
  const dir = tempDir();
  const store = await open(dir);
  try {
    for (let i = 0; i < 5; i++) store.hubWrite({ op: 'incident', row: { ...incident, id: `inc-${i}`, target: `t${i}`, openedAt: T0 - (5 - i) * MIN } });
    assert.deepEqual((await store.incidents({ state: 'open', limit: 3 })).map((i) => i.id), ['inc-4', 'inc-3', 'inc-2']);
  } finally {
    await store.close();
  }
});
