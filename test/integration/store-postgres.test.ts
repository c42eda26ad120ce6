/**
 * The Postgres store (mailer/store/postgres-store.ts) on the postgres:15
 * image: the store conformance suite that the SQLite store runs
 * (test/store/conformance.ts), unchanged, a database per test; then what
 * only this implementation has: versioned migrations (applied once, a newer
 * schema refused), a row kept by a commit whose answer was lost (claimed by
 * this store) taken up when its alert is resent, and the store degraded while
 * Postgres is down (writes rejected), writing again by itself once it is
 * back. Several stores on one database: store-postgres-claims.test.ts.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { PostgresStore } from '../../mailer/store/postgres-store.ts';
import { parsePostgresUrl } from '../../mailer/store/store-url.ts';
import { StoreOpenError, type StoreOptions } from '../../mailer/store/store.ts';
import { createLogger } from '../../shared/logger.ts';
import { item, storeConformance } from '../store/conformance.ts';
import { Cleanup, waitUntil } from './helpers.ts';
import { PostgresServer } from './postgres.ts';

const cleanup = new Cleanup();
after(() => cleanup.run());
const server = await PostgresServer.start(cleanup);

const out = new PassThrough();
let logText = '';
out.on('data', (c: Buffer) => (logText += c.toString()));
const log = await createLogger({ name: 't', format: 'plain', level: 'info', out, err: out });

async function openStore(srv: PostgresServer, db: string, options: Partial<StoreOptions> = {}) {
  await srv.ensure(db);
  return PostgresStore.open({ where: parsePostgresUrl(srv.url(db)), log, dedupeWindowMs: 7 * 86_400_000, ...options });
}

storeConformance('postgres', {
  place: () => server.fresh(),
  open: async (db, options) => (await openStore(server, db, options)).store,
});

test('postgres: migrations are versioned in schema_migrations and applied once; a schema newer than the mailer is refused with one line', async () => {
  const db = server.fresh();
  logText = '';
  const { store } = await openStore(server, db);
  await store.close();
  assert.match(logText, /schema migration\(s\) 1, 2 applied/);
  logText = '';
  const again = await openStore(server, db);
  await again.store.close();
  assert.doesNotMatch(logText, /migration/, 'nothing applied the second time');
  assert.deepEqual((await server.sql(db, 'SELECT version FROM schema_migrations ORDER BY version')).map((r) => r.version), [1, 2]);
  await server.sql(db, "INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')");
  await assert.rejects(openStore(server, db), (e: unknown) => {
    assert.ok(e instanceof StoreOpenError && e.kind === 'unusable');
    assert.match(e.message, /schema version 99, newer than this mailer's 2/);
    assert.doesNotMatch(e.message, /\n/);
    assert.ok(!e.message.includes(server.password), 'no password in the line');
    return true;
  });
});

test('postgres: an alert kept by a commit whose answer was lost (pending, in no working set) is taken up when it is resent', async () => {
  const db = server.fresh();
  const { store } = await openStore(server, db);
  // What a commit leaves when the connection drops after its COMMIT and before the answer: rows never acknowledged, claimed by this store.
  const lost = item('lost-answer');
  const [row] = await server.sql<{ seq: number }>(db, "INSERT INTO alerts (id, state, received_at, via, line, alert) VALUES ($1, 'pending', $2, 'json', $3, $4) RETURNING seq", [lost.alert.id, lost.receivedAt, lost.line, JSON.stringify(lost.alert)]);
  await server.sql(db, "INSERT INTO deliveries (alert_seq, channel, ord, alert_id, state, attempts, at, claimed_by, lease_until) VALUES ($1, 'log', 0, $2, 'pending', 0, $3, $4, $5)", [row!.seq, lost.alert.id, lost.receivedAt, store.instance, Date.now() + 60_000]);
  assert.equal(store.get('lost-answer'), undefined);
  assert.deepEqual(await store.admit(lost, ['log']), { duplicate: false }, 'answered as new: the sender got no 202 for it before');
  assert.deepEqual(store.unfinished().map((r) => r.item.alert.id), ['lost-answer'], 'in the working set: it will be delivered');
  assert.deepEqual(await store.admit(lost, ['log']), { duplicate: true }, 'a further resend is a duplicate');
  store.settle('lost-answer', 'log', 'delivered');
  await store.close();
  const again = await openStore(server, db);
  assert.deepEqual(again.store.unfinished(), [], 'its delivery was recorded on the row');
  assert.equal((await again.store.list({ state: 'sent', limit: 10 })).alerts[0]?.id, 'lost-answer');
  await again.store.close();
});

test('postgres: while the server is down the store is degraded and refuses new alerts; it writes again by itself once the server is back', { timeout: 120_000 }, async () => {
  const own = new Cleanup();
  try {
    const srv = await PostgresServer.start(own);
    const { store } = await openStore(srv, 'store');
    assert.deepEqual(await store.admit(item('before'), ['log']), { duplicate: false });
    const errorsBefore = store.health().writeErrors;
    await srv.stop();
    await assert.rejects(store.admit(item('while-down'), ['log']), 'an alert is refused while the server is down (HTTP 503)');
    assert.equal(store.health().degraded, true);
    assert.ok(store.health().writeErrors > errorsBefore);
    assert.match(logText, /cannot write postgres:\/\/postgres@127\.0\.0\.1:\d+\/store \(.+\); new alerts get 503/);
    assert.ok(!logText.includes(srv.password), 'no password in the log');
    await srv.start();
    await waitUntil('the store to write again', () => (store.health().degraded ? undefined : true), 10_000);
    assert.match(logText, /writes to postgres:\/\/postgres@127\.0\.0\.1:\d+\/store succeed again/);
    assert.deepEqual(await store.admit(item('while-down'), ['log']), { duplicate: false }, 'the refused alert, resent, is kept');
    await store.close();
    const again = await openStore(srv, 'store');
    assert.deepEqual(again.store.unfinished().map((r) => r.item.alert.id), ['before', 'while-down']);
    await again.store.close();
  } finally {
    await own.run();
  }
});
