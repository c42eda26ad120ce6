/**
 * Several Postgres stores on one database in one process, on the postgres:15
 * image: the hand-over of a delivery to its destination's owner
 * (mailer/store/postgres-owners.ts). Each store sees the other among the live
 * mailers (their sessions), and no longer once it closed; a delivery handed
 * over is the owner's within 300 ms (NOTIFY ch2_work, not the 1 s scan), with
 * only that channel moved, the giver's heartbeat not calling it lost, and the
 * alert ending sent when both have delivered their channels; a hand-over is
 * fenced: a row no longer the giver's is left as it is; 300 asked at once
 * (one statement) are the owner's within a second.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { LEASE_MS } from '../../mailer/store/postgres-claims.ts';
import { item } from '../store/conformance.ts';
import { Cleanup, waitUntil } from './helpers.ts';
import { PostgresServer } from './postgres.ts';
import { openWatched, type Watched } from './watched-store.ts';

const cleanup = new Cleanup();
after(() => cleanup.run());
const server = await PostgresServer.start(cleanup);

const open = (db: string): Promise<Watched> => openWatched(server, db);

type Row = { channel: string; claimed_by: string | null; state: string };
const rows = (db: string, id: string): Promise<Row[]> => server.sql<Row>(db, 'SELECT channel, claimed_by, state FROM deliveries WHERE alert_id = $1 ORDER BY channel', [id]);
const alertState = async (db: string, id: string): Promise<string> => (await server.sql<{ state: string }>(db, 'SELECT state FROM alerts WHERE id = $1', [id]))[0]!.state;

async function bothSee(a: Watched, b: Watched): Promise<void> {
  const both = [a.store.instance, b.store.instance].sort();
  for (const w of [a, b]) await waitUntil('each store to see both', () => (JSON.stringify(w.store.destinations().members()) === JSON.stringify(both) ? true : undefined), 3000, 10);
}

test('postgres cluster: the live mailers are the sessions on the database; a store closed leaves them', { timeout: 60_000 }, async () => {
  const db = server.fresh('owners');
  const a = await open(db);
  const b = await open(db);
  await bothSee(a, b);
  await b.store.close();
  const t0 = performance.now();
  await waitUntil('the closed store to leave', () => (a.store.destinations().members()?.length === 1 ? true : undefined), 3000, 10);
  assert.deepEqual(a.store.destinations().members(), [a.store.instance]);
  assert.ok(performance.now() - t0 < 1500, 'within the next read of the members');
  await a.store.close();
});

test('postgres cluster: a delivery handed over is the owner\'s within 300 ms (NOTIFY), only that channel; the giver keeps the rest and does not call it lost; the alert ends sent', { timeout: 60_000 }, async () => {
  const db = server.fresh('owners');
  const a = await open(db);
  const b = await open(db);
  await bothSee(a, b);
  const times: number[] = [];
  for (const round of [1, 2, 3]) {
    const id = `h${round}`;
    assert.deepEqual(await a.store.admit(item(id), ['log', 'chat']), { duplicate: false });
    const before = b.adopted.length;
    const t0 = performance.now();
    assert.equal(await a.store.destinations().handOver(id, 'chat', b.store.instance), true);
    await waitUntil('the owner to take it', () => (b.adopted.length > before ? true : undefined), 3000, 2);
    const got = b.adopted.at(-1)!;
    times.push(got.at - t0);
    assert.deepEqual(got.records.map((r) => [r.item.alert.id, Object.keys(r.channels)]), [[id, ['chat']]], 'only the channel handed over');
    assert.deepEqual((await rows(db, id)).map((r) => [r.channel, r.claimed_by]), [['chat', b.store.instance], ['log', a.store.instance]]);
    assert.deepEqual(Object.keys(a.store.get(id)!.channels), ['log'], 'the giver keeps its other channel');
    assert.deepEqual(Object.keys(b.store.get(id)!.channels), ['chat']);
  }
  // Well within a scan's second: the NOTIFY did it.
  for (const ms of times) assert.ok(ms < 300, `taken ${times.map(Math.round).join(', ')} ms after the hand-over`);
  // Beyond a lease: the giver's heartbeat renews what it kept, and lost nothing.
  await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 500));
  assert.deepEqual(a.lost, []);
  assert.deepEqual(b.lost, []);
  assert.equal(b.store.get('h1') !== undefined, true, 'the owner kept its lease');
  for (const id of ['h1', 'h2', 'h3']) {
    b.store.settle(id, 'chat', 'delivered', undefined, true, true);
    a.store.settle(id, 'log', 'delivered', undefined, true, true);
  }
  await waitUntil('the alerts sent', async () => ((await alertState(db, 'h3')) === 'sent' && (await alertState(db, 'h1')) === 'sent' ? true : undefined), 5000, 20);
  console.log(`hand-over to adoption: ${times.map((t) => Math.round(t)).join(', ')} ms`);
  await a.store.close();
  await b.store.close();
});

test('postgres cluster: a hand-over is fenced: a row no longer the giver\'s stays as it is; an alert all of whose channels are handed leaves the giver\'s working set', { timeout: 60_000 }, async () => {
  const db = server.fresh('owners');
  const a = await open(db);
  const b = await open(db);
  await bothSee(a, b);
  assert.deepEqual(await a.store.admit(item('f1'), ['chat']), { duplicate: false });
  // Another mailer has it now (as after this store's lease lapsed).
  await server.sql(db, "UPDATE deliveries SET claimed_by = 'intruder', lease_until = 9e15 WHERE alert_id = 'f1'");
  assert.equal(await a.store.destinations().handOver('f1', 'chat', b.store.instance), true, 'no longer the giver\'s');
  assert.deepEqual((await rows(db, 'f1')).map((r) => r.claimed_by), ['intruder'], 'not moved');
  assert.equal(a.store.get('f1'), undefined, 'gone from the giver\'s working set');
  await new Promise((resolve) => setTimeout(resolve, 1200));
  assert.equal(b.adopted.length, 0, 'the owner took nothing');
  // A whole alert handed over: the giver holds nothing of it.
  assert.deepEqual(await a.store.admit(item('w1'), ['chat']), { duplicate: false });
  assert.equal(await a.store.destinations().handOver('w1', 'chat', b.store.instance), true);
  assert.equal(a.store.get('w1'), undefined);
  await waitUntil('the owner to take it', () => (b.store.get('w1') ? true : undefined), 3000, 5);
  await a.store.close();
  await b.store.close();
});

test('postgres cluster: 300 hand-overs asked at once (a storm) are the owner\'s within a second, counted, and the giver loses nothing', { timeout: 60_000 }, async () => {
  const db = server.fresh('owners');
  const a = await open(db);
  const b = await open(db);
  await bothSee(a, b);
  const ids = Array.from({ length: 300 }, (_, i) => `s${i}`);
  await Promise.all(ids.map((id) => a.store.admit(item(id), ['chat'])));
  const t0 = performance.now();
  const answers = await Promise.all(ids.map((id) => a.store.destinations().handOver(id, 'chat', b.store.instance)));
  assert.ok(answers.every((x) => x === true));
  await waitUntil('the owner to take all 300', () => (ids.every((id) => b.store.get(id)) ? true : undefined), 3000, 5);
  const ms = performance.now() - t0;
  console.log(`300 hand-overs to adoption: ${Math.round(ms)} ms`);
  assert.ok(ms < 1000, `${Math.round(ms)} ms`);
  assert.equal(a.store.destinations().counts().handed, 300);
  assert.equal(a.store.health().claims?.held, 0);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  assert.deepEqual(a.lost, []);
  await a.store.close();
  await b.store.close();
});
