/**
 * Two Postgres stores on one database in one process (what two mailers are),
 * on the postgres:15 image: the hub rows a commit of one writes (an agent, a
 * target, an incident, buckets, a target forgotten) reach the other's hub
 * handler (watchClaims hub: NOTIFY ch2_hub in the commit, the rows read
 * again), as the database has them: the buckets summed over both stores'
 * writes; a store's own commit is not read back; more names than one NOTIFY
 * holds come in several.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { type AgentRow, HOUR_MS, type HubChanges, type IncidentRow, PACKED_WIDTH, type TargetRow } from '../../mailer/hub/model.ts';
import { PostgresStore } from '../../mailer/store/postgres-store.ts';
import { parsePostgresUrl } from '../../mailer/store/store-url.ts';
import { createLogger } from '../../shared/logger.ts';
import { Cleanup, waitUntil } from './helpers.ts';
import { PostgresServer } from './postgres.ts';

const cleanup = new Cleanup();
after(() => cleanup.run());
const server = await PostgresServer.start(cleanup);
const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });

async function open(db: string): Promise<{ store: PostgresStore; heard: HubChanges[] }> {
  await server.ensure(db);
  const { store } = await PostgresStore.open({ where: parsePostgresUrl(server.url(db)), log, dedupeWindowMs: 86_400_000 });
  const heard: HubChanges[] = [];
  store.watchClaims({ adopted: () => {}, lost: () => {}, hub: (c) => void heard.push(c) });
  return { store, heard };
}

const agent: AgentRow = { name: 'box-1', instance: 'i-1', version: '1', firstSeenAt: 1000, instanceSince: 1000, lastReportAt: 5000, intervalMs: 1000, state: 'reporting', targets: [{ name: 'web', state: 'down' }] };
const target: TargetRow = { name: 'web', state: 'down', since: 5000, lastFailure: 'HTTP 502', alerted: null, reportedAt: 5000 };
const incident: IncidentRow = { id: 'inc-1', target: 'web', state: 'open', openedAt: 5000, resolvedAt: null, message: 'web is down', reason: 'HTTP 502', silenced: false, recipients: ['ops@example.com'], events: [], opener: { agent: 'box-1', instance: 'i-1' }, witnesses: ['box-1'] };
const checks = (n: number) => ({ target: 'web', checks: n, failures: 1, latency: [n], incidents: 0 });

test('postgres cluster: the hub rows one store commits reach the other store\'s hub handler (NOTIFY ch2_hub), as the database has them', { timeout: 60_000 }, async () => {
  const db = server.fresh('hub');
  const a = await open(db);
  const b = await open(db);
  // Once connected, each reads everything (what was said before it listened was not heard).
  await waitUntil("the listeners' first (full) reads", () => (a.heard.length > 0 && b.heard.length > 0 ? true : undefined), 5000, 10);
  assert.equal(b.heard[0]!.full, true);
  const reads = b.heard.length;
  const aReads = a.heard.length;
  const now = Date.now();
  const t0 = performance.now();
  a.store.hubWrite({ op: 'agent', row: agent });
  a.store.hubWrite({ op: 'target', row: target });
  a.store.hubWrite({ op: 'buckets', at: now, adds: [checks(3)] });
  await a.store.hubCommit({ op: 'incident', row: incident });
  await waitUntil("b to read a's rows", () => (b.heard.length > reads ? true : undefined), 2000, 5);
  console.log(`  a's rows at b ${Math.round(performance.now() - t0)} ms after a's commit`);
  const c = b.heard.at(-1)!;
  assert.equal(c.full, false);
  assert.deepEqual(c.agents, [agent]);
  assert.deepEqual(c.targets, [target]);
  assert.deepEqual(c.incidents, [incident]);
  const hourly = (ch: HubChanges) => {
    for (let o = 0; o < ch.buckets.rows.length; o += PACKED_WIDTH) if (ch.buckets.rows[o + 1] === HOUR_MS) return { checks: ch.buckets.rows[o + 3], l0: ch.buckets.rows[o + 6] };
    return undefined;
  };
  assert.deepEqual(hourly(c), { checks: 3, l0: 3 });
  // b's own checks add to a's (an upsert that adds); b's commit tells a, not b.
  await b.store.hubCommit({ op: 'buckets', at: now, adds: [checks(4)] });
  await waitUntil("a to read b's buckets", () => (a.heard.length > aReads ? true : undefined), 2000, 5);
  assert.deepEqual(hourly(a.heard.at(-1)!), { checks: 7, l0: 7 }, 'the sum of both stores\' checks');
  assert.equal(b.heard.length, reads + 1, "a store's own commit is not read back");
  // Closed, and a target forgotten: the closed row, and the name gone.
  const before = b.heard.length;
  a.store.hubWrite({ op: 'incident', row: { ...incident, state: 'closed', resolvedAt: 9000 } });
  await a.store.hubCommit({ op: 'forget-target', name: 'web' });
  await waitUntil('b to read the close and the forget', () => (b.heard.length > before ? true : undefined), 2000, 5);
  assert.equal(b.heard.at(-1)!.incidents[0]!.state, 'closed');
  assert.deepEqual(b.heard.at(-1)!.goneTargets, ['web']);
  // More than one NOTIFY's 8000 bytes of names: told in several notices, every name read.
  const many = Array.from({ length: 200 }, (_, k) => `https://a-long-target-name-${'x'.repeat(150)}.example/${k}`);
  const from = b.heard.length;
  await a.store.hubCommit({ op: 'buckets', at: now, adds: many.map((name) => ({ ...checks(1), target: name })) });
  await waitUntil('b to read every target\'s buckets', () => (new Set(b.heard.slice(from).flatMap((h) => h.buckets.names)).size === many.length ? true : undefined), 3000, 10);
  console.log(`  200 targets' buckets (${many.join('').length} bytes of names) in ${b.heard.length - from} notices`);
  await a.store.close();
  await b.store.close();
});
