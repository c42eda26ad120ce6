/**
 * Several Postgres stores on one database in one process (what several
 * mailers are, mailer/store/postgres-claims.ts), on the postgres:15 image:
 * a second store takes over the first's deliveries only once its lease has
 * lapsed (the first abandoned: its connections closed, nothing released),
 * never while the first's heartbeat keeps them; progress the first writes
 * after another took its rows over is fenced (not written) and the alert
 * leaves its working set; a clean close hands the work over at once
 * (NOTIFY); an alert whose channels are split between two stores ends sent,
 * or dead, whichever store finishes it; an id admitted at one store is a
 * duplicate at the other; a store that cannot renew its lease (the server
 * stopped) drops its work and takes it up again once the server is back;
 * the channels told an incident's down at one store are the other's answer
 * (toldOf: the nflog shared through the database).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../mailer/store/postgres-store.ts';
import { LEASE_MS } from '../../mailer/store/postgres-claims.ts';
import { item } from '../store/conformance.ts';
import { Cleanup, waitUntil } from './helpers.ts';
import { PostgresServer } from './postgres.ts';
import { openWatched, type Watched } from './watched-store.ts';

const cleanup = new Cleanup();
after(() => cleanup.run());
const server = await PostgresServer.start(cleanup);

const open = (db: string, watch = true, srv = server): Promise<Watched> => openWatched(srv, db, watch);

type Row = { alert_id: string; channel: string; state: string; attempts: number; claimed_by: string | null };
const rows = (db: string, id: string): Promise<Row[]> => server.sql<Row>(db, 'SELECT alert_id, channel, state, attempts, claimed_by FROM deliveries WHERE alert_id = $1 ORDER BY channel', [id]);
const alertState = async (db: string, id: string): Promise<{ state: string; dead_at: number | null; finished_at: number | null }> =>
  (await server.sql<{ state: string; dead_at: number | null; finished_at: number | null }>(db, 'SELECT state, dead_at, finished_at FROM alerts WHERE id = $1', [id]))[0]!;
/** Until a commit of `store` has written what was recorded before this call. */
async function committed(store: PostgresStore): Promise<void> {
  const before = store.health().commits;
  await waitUntil('a commit', () => (store.health().commits > before ? true : undefined), 5000, 10);
}

test('postgres cluster: a second store takes over the first one\'s deliveries once its lease has lapsed, never while its heartbeat keeps them', { timeout: 60_000 }, async () => {
  const db = server.fresh('claims');
  const a = await open(db, false);
  const ids = ['t1', 't2', 't3'];
  for (const id of ids) assert.deepEqual(await a.store.admit(item(id), ['log', 'smtp']), { duplicate: false });
  const b = await open(db);
  assert.deepEqual(b.store.unfinished(), [], 'nothing of the first store\'s at open: its claims are live');
  // Twice the lease with the first store alive: its heartbeat keeps every row.
  await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_MS));
  assert.equal(b.adopted.length, 0, 'nothing taken over while the first store renews its claims');
  assert.deepEqual((await rows(db, 't1')).map((r) => r.claimed_by), [a.store.instance, a.store.instance]);
  const adopted = b.next();
  const t0 = performance.now();
  await a.store.abandon(); // what a SIGKILL leaves: claims not released
  const ms = (await adopted) - t0;
  assert.ok(ms >= LEASE_MS - 1200, `not before the lease lapsed (${Math.round(ms)} ms after the last store went)`);
  assert.ok(ms < 5000, `taken over within 5 s (${Math.round(ms)} ms)`);
  const got = b.adopted.flatMap((x) => x.records);
  assert.deepEqual(got.map((r) => r.item.alert.id).sort(), ids);
  for (const r of got) assert.deepEqual(Object.keys(r.channels), ['log', 'smtp'], 'both channels, as the first store had them');
  assert.deepEqual(b.store.unfinished().map((r) => r.item.alert.id).sort(), ids);
  assert.deepEqual((await rows(db, 't1')).map((r) => r.claimed_by), [b.store.instance, b.store.instance]);
  assert.equal(b.store.health().claims?.adopted, 3);
  assert.equal(b.store.health().claims?.held, 3);
  for (const id of ids) for (const ch of ['log', 'smtp']) b.store.settle(id, ch, 'delivered');
  await committed(b.store);
  assert.equal((await alertState(db, 't2')).state, 'sent', 'the adopter finishes the alert');
  await b.store.close();
});

test('postgres cluster: progress written by a store whose rows were taken over is not written (fenced); the alert leaves its working set and the dispatcher is told', { timeout: 60_000 }, async () => {
  const db = server.fresh('claims');
  const a = await open(db);
  assert.deepEqual(await a.store.admit(item('f1'), ['log', 'smtp']), { duplicate: false });
  const intruder = new pg.Client({ connectionString: server.url(db) });
  await intruder.connect();
  try {
    // Another mailer takes the row over (as after this store's lease lapsed) and holds its lock while this store writes.
    await intruder.query('BEGIN');
    await intruder.query("UPDATE deliveries SET claimed_by = 'intruder', lease_until = 9e15 WHERE alert_id = 'f1'");
    assert.ok(a.store.get('f1'), 'still in the working set: the store has not noticed');
    a.store.settle('f1', 'log', 'delivered', undefined, true, true); // smtp still owes it: it stays in the working set
    assert.ok(a.store.get('f1'));
    // Both the commit (its progress write) and the heartbeat wait for the row: the write was made while the store believed the row its own.
    await waitUntil('the commit and the heartbeat to wait for the row', async () => {
      const r = await server.sql<{ n: number }>(db, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [a.store.instance]);
      return r[0]!.n >= 2 ? true : undefined;
    }, 10_000, 20);
    await intruder.query('COMMIT');
  } finally {
    await intruder.end();
  }
  await waitUntil('the loss to be told', () => (a.lost.length > 0 ? true : undefined), 5000, 20);
  assert.deepEqual(a.lost, [['f1']]);
  assert.deepEqual((await rows(db, 'f1')).map((r) => [r.channel, r.state, r.attempts, r.claimed_by]), [['log', 'pending', 0, 'intruder'], ['smtp', 'pending', 0, 'intruder']], 'the taken-over rows keep the new owner\'s progress');
  assert.equal((await alertState(db, 'f1')).state, 'pending');
  assert.equal(a.store.get('f1'), undefined, 'no longer in the working set');
  assert.equal(a.store.health().claims?.lost, 1);
  await a.store.close();
});

test('postgres cluster: a store closed cleanly releases its claims and the other takes them over at once (NOTIFY), not at its next scan', { timeout: 60_000 }, async () => {
  const db = server.fresh('claims');
  const b = await open(db);
  const listener = new pg.Client({ connectionString: server.url(db) });
  await listener.connect();
  const heard: string[] = [];
  listener.on('notification', (n) => heard.push(`${n.channel} ${n.payload}`));
  await listener.query('LISTEN ch2_work');
  try {
    // Three rounds: a scan once a second would take all three within 300 ms about once in 40.
    for (const round of [1, 2, 3]) {
      const a = await open(db);
      const ids = Array.from({ length: 5 }, (_, i) => `r${round}-${i}`);
      for (const id of ids) await a.store.admit(item(id), ['log']);
      const adopted = b.next();
      const t0 = performance.now();
      await a.store.close();
      const ms = (await adopted) - t0;
      assert.ok(ms < 300, `round ${round}: taken over ${Math.round(ms)} ms after the close`);
      await waitUntil('every alert of the round', () => (ids.every((id) => b.store.get(id)) ? true : undefined), 2000, 10);
      assert.ok(heard.includes(`ch2_work ${a.store.instance}`), `the closing store said so on ch2_work: ${heard.join(' | ')}`);
    }
  } finally {
    await listener.end();
  }
  await b.store.close();
});

/** An alert kept as a mailer that died left it: its deliveries rows claimed as given (a claim null: free; else live). */
async function leftBehind(db: string, id: string, claims: Record<string, string | null>): Promise<void> {
  const it = item(id);
  const [row] = await server.sql<{ seq: number }>(db, "INSERT INTO alerts (id, state, received_at, via, line, alert) VALUES ($1, 'pending', $2, 'json', $3, $4) RETURNING seq", [id, it.receivedAt, it.line, JSON.stringify(it.alert)]);
  for (const [i, [channel, by]] of Object.entries(claims).entries()) {
    await server.sql(db, "INSERT INTO deliveries (alert_seq, channel, ord, alert_id, state, attempts, at, claimed_by, lease_until) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $7)",
      [row!.seq, channel, i, id, it.receivedAt, by, by === null ? null : 9e15]);
  }
}

test('postgres cluster: an alert whose channels are split between two stores ends sent when the last one is delivered, or dead, whichever store finishes it', { timeout: 60_000 }, async () => {
  const db = server.fresh('claims');
  await server.ensure(db);
  await open(db, false).then((w) => w.store.close()); // the schema
  for (const id of ['s-sent', 's-dead']) await leftBehind(db, id, { log: null, smtp: 'elsewhere' });
  const a = await open(db, false); // takes the free log rows at open
  await server.sql(db, "UPDATE deliveries SET claimed_by = NULL, lease_until = NULL WHERE channel = 'smtp'");
  const b = await open(db, false); // takes the smtp rows, now free; the log rows are the first store's
  for (const id of ['s-sent', 's-dead']) {
    assert.deepEqual(Object.keys(a.store.get(id)?.channels ?? {}), ['log'], 'the first store\'s record: its channel only');
    assert.deepEqual(Object.keys(b.store.get(id)?.channels ?? {}), ['smtp'], 'the second store\'s record: its channel only');
  }
  assert.deepEqual((await rows(db, 's-sent')).map((r) => r.claimed_by), [a.store.instance, b.store.instance]);
  a.store.settle('s-sent', 'log', 'delivered');
  b.store.settle('s-dead', 'smtp', 'dead', 'refused');
  await Promise.all([committed(a.store), committed(b.store)]);
  assert.equal((await alertState(db, 's-sent')).state, 'pending', 'one channel still owes it');
  assert.equal((await alertState(db, 's-dead')).state, 'pending', 'one channel still owes it');
  assert.equal(a.store.get('s-sent'), undefined, 'done with its channel: out of the first store\'s working set');
  b.store.settle('s-sent', 'smtp', 'delivered');
  a.store.settle('s-dead', 'log', 'delivered');
  await Promise.all([committed(a.store), committed(b.store)]);
  const sent = await alertState(db, 's-sent');
  assert.equal(sent.state, 'sent', 'finished by the second store: sent');
  assert.ok(sent.finished_at !== null);
  const dead = await alertState(db, 's-dead');
  assert.equal(dead.state, 'dead', 'finished by the first store, the other channel dead: dead');
  assert.ok(dead.dead_at !== null);
  assert.deepEqual(a.store.unfinished(), []);
  assert.deepEqual(b.store.unfinished(), []);
  const listed = await a.store.list({ state: 'dead', limit: 10 });
  assert.deepEqual(listed.alerts.map((x) => [x.id, x.channels.smtp?.state, x.channels.log?.state]), [['s-dead', 'dead', 'delivered']], 'the listing shows both stores\' progress');
  await a.store.close();
  await b.store.close();
});

test('postgres cluster: an alert id admitted at one store is a duplicate at the other, pending or delivered', { timeout: 60_000 }, async () => {
  const db = server.fresh('claims');
  const a = await open(db);
  const b = await open(db);
  assert.deepEqual(await a.store.admit(item('d1'), ['log']), { duplicate: false });
  assert.deepEqual(await b.store.admit(item('d1'), ['log']), { duplicate: true }, 'pending at the other store: a duplicate');
  assert.equal(b.store.get('d1'), undefined, 'not in the second store\'s working set');
  a.store.settle('d1', 'log', 'delivered');
  await committed(a.store);
  assert.deepEqual(await b.store.admit(item('d1'), ['log']), { duplicate: true }, 'delivered: still a duplicate');
  assert.equal((await server.sql(db, "SELECT 1 FROM alerts WHERE id = 'd1'")).length, 1, 'one row');
  await a.store.close();
  await b.store.close();
});

test('postgres cluster: a store that cannot renew its lease (the server stopped) stops delivering what it covered, and takes it up again once the server is back', { timeout: 120_000 }, async () => {
  const own = new Cleanup();
  try {
    const srv = await PostgresServer.start(own);
    const a = await open('store', true, srv);
    await a.store.admit(item('away'), ['log']);
    await srv.stop();
    await waitUntil('the work to be dropped', () => (a.lost.length > 0 ? true : undefined), 10_000, 20);
    assert.deepEqual(a.lost, [['away']], 'the dispatcher is told to stop it');
    assert.equal(a.store.get('away'), undefined);
    const back = a.next();
    await srv.start();
    await back;
    assert.deepEqual(a.adopted.flatMap((x) => x.records.map((r) => r.item.alert.id)), ['away'], 'taken up again: its own rows, their lease lapsed');
    assert.ok(a.store.get('away'));
    assert.deepEqual(a.store.health().claims, { held: 1, adopted: 1, lost: 1 });
    await a.store.close();
  } finally {
    await own.run();
  }
});

test("postgres cluster: a store answers which channels were told an incident's down at another store (toldOf), less those told its up", { timeout: 60_000 }, async () => {
  const db = server.fresh('claims');
  const a = await open(db);
  const b = await open(db);
  const of = (id: string, status: 'down' | 'up', incident: string) => {
    const it = item(id);
    it.alert.status = status;
    it.alert.incident = incident;
    return it;
  };
  await a.store.admit(of('n-down', 'down', 'inc-n'), ['log', 'pagerduty', 'smtp']);
  assert.deepEqual(await b.store.toldOf('inc-n'), [], 'nothing delivered yet');
  a.store.settle('n-down', 'pagerduty', 'delivered');
  a.store.settle('n-down', 'log', 'delivered');
  a.store.settle('n-down', 'smtp', 'dead', 'refused');
  await committed(a.store);
  assert.deepEqual(await b.store.toldOf('inc-n'), ['log', 'pagerduty'], 'the channels the other store delivered the down on, not the dead one');
  assert.deepEqual(await b.store.toldOf('inc-other'), [], 'another incident: none');
  await b.store.admit(of('n-up', 'up', 'inc-n'), ['log', 'pagerduty']);
  b.store.settle('n-up', 'pagerduty', 'delivered');
  await committed(b.store);
  assert.deepEqual(await a.store.toldOf('inc-n'), ['log'], 'a channel told the up is done with the incident');
  await a.store.close();
  await b.store.close();
});

test('postgres cluster: a store answers when an agent last reported, and as which instance, at another store (lastReports)', { timeout: 60_000 }, async () => {
  const db = server.fresh('claims');
  const a = await open(db);
  const b = await open(db);
  const row = (lastReportAt: number, instance: string) => ({ name: 'box-1', instance, version: '1.0.0', firstSeenAt: 1000, instanceSince: 1000, lastReportAt, intervalMs: 10_000, state: 'reporting' as const, targets: [{ name: 'web', state: 'up' as const }] });
  assert.deepEqual(await b.store.lastReports(['box-1']), new Map(), 'no report anywhere yet');
  await a.store.hubCommit({ op: 'agent', row: row(5000, 'inst-1') });
  assert.deepEqual(await b.store.lastReports(['box-1', 'box-2']), new Map([['box-1', { at: 5000, instance: 'inst-1' }]]), 'the report store a took, and none of a name never seen');
  await a.store.hubCommit({ op: 'agent', row: row(9000, 'inst-2') });
  assert.deepEqual(await b.store.lastReports(['box-1']), new Map([['box-1', { at: 9000, instance: 'inst-2' }]]), 'its latest');
  await a.store.close();
  await b.store.close();
});

test('postgres cluster: a silence added or removed at one store is read again by the other at once (NOTIFY ch2_silences in the commit)', { timeout: 60_000 }, async () => {
  const db = server.fresh('claims');
  const a = await open(db);
  const b = await open(db);
  // The listener reads them once connected (what was said before it listened was not heard).
  await waitUntil("b's listener connected", () => (b.silences.length > 0 ? true : undefined), 5000, 10);
  const reads = b.silences.length;
  const row = { id: 's-1', target: 'web-*', startsAt: Date.now() - 1000, until: Date.now() + 3_600_000, comment: 'maintenance', createdAt: Date.now() };
  const t0 = performance.now();
  await a.store.hubCommit({ op: 'silence', row });
  await waitUntil('b to read the silences again', () => (b.silences.length > reads ? true : undefined), 1000, 5);
  console.log(`  the silence at b ${Math.round(performance.now() - t0)} ms after a's commit`);
  assert.deepEqual(b.silences.at(-1)!.map((s) => s.id), ['s-1']);
  const aReads = a.silences.length;
  await a.store.hubCommit({ op: 'unsilence', id: 's-1' });
  await waitUntil('b to read them once more', () => (b.silences.at(-1)!.length === 0 ? true : undefined), 1000, 5);
  assert.equal(a.silences.length, aReads, "a store's own commit does not make it read them");
  await a.store.close();
  await b.store.close();
});
