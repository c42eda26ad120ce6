/**
 * The SQLite store (mailer/store/sqlite-store.ts) on real folders: the store
 * conformance suite, then what only this implementation has: the import of
 * a previous-format store (journal.log), a corrupt database refused with the
 * way out (and moved aside with recover), a store path that cannot work
 * refused at once with the fix, and GET /alerts?state=sent's total: kept by
 * the worker (no scan), and exact when a delivered alert is re-used.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { openStoreDatabase } from '../../mailer/store/sqlite-open.ts';
import { SqliteQueries } from '../../mailer/store/sqlite-queries.ts';
import { SqliteStore } from '../../mailer/store/sqlite-store.ts';
import { StoreOpenError, type StoreOptions } from '../../mailer/store/store.ts';
import { createLogger } from '../../shared/logger.ts';
import { item, storeConformance } from '../store/conformance.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ch2-store-test-'));
  dirs.push(dir);
  return dir;
}

const out = new PassThrough();
let logText = '';
out.on('data', (c: Buffer) => (logText += c.toString()));
const log = await createLogger({ name: 't', format: 'plain', level: 'info', out, err: out });

async function openStore(dir: string, options: Partial<StoreOptions> & { recover?: boolean } = {}) {
  return SqliteStore.open({ dir, log, dedupeWindowMs: 7 * 86_400_000, ...options });
}

storeConformance('sqlite', {
  place: tempDir,
  open: async (dir, options) => (await openStore(dir, options)).store,
  isInUse: (e) => e instanceof StoreOpenError && e.kind === 'in-use' && /in use by another mailer \(host .+, pid \d+/.test(e.message),
});

function journalLine(record: unknown): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

test('sqlite: a store of the previous format (journal.log, dead/) is imported once; nothing pending is lost', async () => {
  const dir = tempDir();
  const pending = item('old-pending');
  const done = item('old-done');
  writeFileSync(
    join(dir, 'journal.log'),
    journalLine({ t: 'seen', ids: ['old-seen'] }) +
      journalLine({ t: 'put', item: pending, ch: ['log', 'smtp'] }) +
      journalLine({ t: 'put', item: done, ch: ['log'] }) +
      journalLine({ t: 'set', id: 'old-pending', ch: 'log', s: 'delivered', n: 1 }) +
      journalLine({ t: 'set', id: 'old-pending', ch: 'smtp', s: 'pending', n: 2, e: 'SMTP 451' }) +
      journalLine({ t: 'set', id: 'old-done', ch: 'log', s: 'delivered', n: 1 }) +
      '0000beef {"t":"put","torn',
  );
  mkdirSync(join(dir, 'dead'));
  const deadItem = item('old-dead');
  writeFileSync(
    join(dir, 'dead', 'old-dead.json'),
    JSON.stringify({ id: 'old-dead', deadAt: '2026-11-30T10:00:00.000Z', alert: deadItem.alert, line: deadItem.line, via: 'json', receivedAt: new Date(deadItem.receivedAt).toISOString(), channels: { webhook: { state: 'dead', attempts: 1, error: 'HTTP 400' } } }),
  );
  const { store, summary } = await openStore(dir);
  assert.equal(summary.imported, 2);
  assert.deepEqual(store.unfinished().map((r) => r.item.alert.id), ['old-pending']);
  assert.deepEqual(store.get('old-pending')?.channels, { log: { state: 'delivered', attempts: 1 }, smtp: { state: 'pending', attempts: 2, error: 'SMTP 451' } });
  for (const id of ['old-seen', 'old-done', 'old-dead', 'old-pending']) assert.equal((await store.admit(item(id), ['log'])).duplicate, true, `${id} remembered`);
  const dead = await store.list({ state: 'dead', limit: 10 });
  assert.deepEqual(dead.alerts.map((a) => [a.id, a.channels.webhook?.error]), [['old-dead', 'HTTP 400']]);
  assert.match(logText, /imported 2 alert\(s\) and 2 delivered id\(s\) from journal\.log \(1 damaged record\(s\) skipped\)/);
  await store.close();
  assert.ok(!existsSync(join(dir, 'journal.log')) && existsSync(join(dir, 'journal.log.imported')), 'journal.log is retired');
  const again = await openStore(dir);
  assert.equal(again.summary.imported, 0, 'imported once');
  assert.equal(again.store.unfinished().length, 1);
  await again.store.close();
});

test('sqlite: a corrupt database stops the store with one line naming the file and the way out; recover moves it aside', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'mailer.db'), 'this is not a database'.repeat(200));
  await assert.rejects(openStore(dir), (e: unknown) => {
    assert.ok(e instanceof StoreOpenError && e.kind === 'corrupt');
    assert.match(e.message, new RegExp(`${join(dir, 'mailer.db')} is corrupt .*--store-recover`));
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  const { store, summary } = await openStore(dir, { recover: true });
  assert.ok(summary.movedAside && existsSync(summary.movedAside), 'the damaged file is kept aside');
  assert.equal((await store.admit(item('fresh'), ['log'])).duplicate, false);
  await store.close();
  assert.ok(readdirSync(dir).some((n) => n.startsWith('mailer.db.corrupt-')));
});

test('sqlite: a store path that cannot work (/proc/x, under a file) is refused at once with the fix', async () => {
  for (const path of ['/proc/x', '/dev/null/store']) {
    const t0 = Date.now();
    await assert.rejects(openStore(path), (e: unknown) => e instanceof StoreOpenError && e.kind === 'unusable' && e.message.includes(path) && /--store/.test(e.message));
    assert.ok(Date.now() - t0 < 1000, `${path} refused within a second`);
  }
});

test('sqlite: alerts committed together keep their own channels, whether they share a list or not', async () => {
  const dir = tempDir();
  const { store } = await openStore(dir);
  await Promise.all([store.admit(item('a'), ['log', 'smtp']), store.admit(item('b'), ['log', 'smtp'])]); // one list, sent once
  await Promise.all([store.admit(item('c'), ['log']), store.admit(item('d'), ['log', 'webhook']), store.admit(item('e'), ['log'])]);
  await store.close();
  const again = await openStore(dir);
  const owed = Object.fromEntries(again.store.unfinished().map((r) => [r.item.alert.id, Object.keys(r.channels)]));
  assert.deepEqual(owed, { a: ['log', 'smtp'], b: ['log', 'smtp'], c: ['log'], d: ['log', 'webhook'], e: ['log'] });
  await again.store.close();
});

test('sqlite: delivery progress waits a few ms for the next alerts and shares their commit', async () => {
  const dir = tempDir();
  const { store } = await openStore(dir);
  await store.admit(item('first'), ['log']);
  const before = store.health().commits;
  store.settle('first', 'log', 'delivered');
  // Past the turn of the event loop where a commit of the progress alone would have gone.
  await new Promise((resolve) => setTimeout(resolve, 1));
  await store.admit(item('second'), ['log']);
  assert.equal(store.health().commits - before, 1, 'the progress and the next alert went in one commit');
  assert.equal(store.get('first'), undefined, 'the progress is committed: first is no longer owed');
  store.settle('second', 'log', 'delivered');
  await store.close();
  const again = await openStore(dir);
  assert.deepEqual(again.store.unfinished(), [], 'both deliveries were kept');
  await again.store.close();
});

test('sqlite: the worker checkpoints the WAL after commits, so it does not grow with the alerts', async () => {
  const dir = tempDir();
  const { store } = await openStore(dir);
  const wal = join(dir, readdirSync(dir).find((f) => f.endsWith('-wal'))!);
  const sizes: number[] = [];
  for (let round = 0; round < 300; round += 1) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.admit(item(`r${round}-${i}`, 'x'.repeat(400)), ['log'])));
    if (round % 50 === 49) sizes.push(statSync(wal).size);
  }
  // 300 commits of 20 alerts put about 6 MB through the WAL; checkpointed every 32 commits it starts over and stays near its high mark.
  assert.ok(sizes.every((s) => s < 2_000_000), `WAL sizes ${sizes.join(', ')}: under 2 MB`);
  assert.ok(sizes[sizes.length - 1]! - sizes[1]! < 100_000, `WAL sizes ${sizes.join(', ')}: no longer growing`);
  await store.close();
});

test('sqlite: progress of a channel whose repeat does harm does not linger: after the commit under way, it goes at once', async (t) => {
  const dir = tempDir();
  const { store } = await openStore(dir);
  await store.admit(item('sent-once'), ['smtp']);
  const before = store.health().commits;
  // The linger is a timer: held still here, so only an immediate commit can record the delivery.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const second = store.admit(item('under-way'), ['smtp']); // its commit goes to the worker now
    await new Promise((resolve) => setImmediate(resolve));
    store.settle('sent-once', 'smtp', 'delivered', undefined, true, true);
    await second;
    const deadline = performance.now() + 5000;
    while (store.health().commits < before + 2 && performance.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(store.health().commits, before + 2, 'the delivery was committed right after the commit that was under way');
    assert.equal(store.get('sent-once'), undefined);
  } finally {
    t.mock.timers.reset();
  }
  await store.close();
});

test('sqlite: GET /alerts?state=sent counts no rows: its page is a search bounded by the limit, its total the count the worker keeps', () => {
  const { db } = openStoreDatabase(tempDir(), false);
  // Every statement SqliteQueries runs, by its SQL.
  const ran: string[] = [];
  const spied = new Proxy(db, {
    get(target, key) {
      if (key !== 'prepare') {
        const v = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return (sql: string) => {
        const statement = target.prepare(sql);
        return new Proxy(statement, {
          get(s, k) {
            const v = Reflect.get(s, k, s);
            if (typeof v !== 'function') return v;
            return (...args: unknown[]) => (['get', 'all', 'run', 'iterate'].includes(String(k)) && ran.push(sql), v.apply(s, args));
          },
        });
      };
    },
  });
  const q = new SqliteQueries(spied);
  q.transaction(() => {
    for (let i = 0; i < 30; i++) q.importSeenId(`seen-${i}`, 1_800_000_000_000 + i);
  });
  ran.length = 0;
  const page = q.list({ state: 'sent', limit: 10 }, 30);
  assert.equal(page.total, 30);
  assert.deepEqual(page.alerts.map((a) => a.id), Array.from({ length: 10 }, (_, i) => `seen-${29 - i}`));
  assert.ok(ran.length > 0);
  for (const sql of ran) {
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail);
    assert.ok(!plan.some((d) => /^SCAN /.test(d)), `${sql}: ${plan.join('; ')} (no scan of a table or a whole index)`);
  }
  db.close();
});

test('sqlite: the sent total stays the number of sent rows when a delivered alert is re-used, in a later commit or in the one that delivers it', async () => {
  let now = 1_800_000_000_000;
  const dir = tempDir();
  const { store } = await openStore(dir, { now: () => now, dedupeWindowMs: 60_000 });
  const sent = async (): Promise<{ total: number; ids: string[] }> => {
    const page = await store.list({ state: 'sent', limit: 100 });
    return { total: page.total, ids: page.alerts.map((a) => a.id) };
  };
  // a and d are received past the window by the time they come again; b and c, received then, stay remembered.
  for (const [id, at] of [['a', now], ['b', now + 61_000], ['c', now + 61_000]] as const) {
    await store.admit(item(id, undefined, at), ['log']);
    store.settle(id, 'log', 'delivered');
  }
  await store.admit(item('d', undefined, now), ['log']);
  assert.deepEqual(await sent(), { total: 3, ids: ['c', 'b', 'a'] });
  now += 61_000;
  // a, delivered in an earlier commit, is re-used: its sent row goes.
  await store.admit(item('a', 'again', now), ['log']);
  assert.deepEqual(await sent(), { total: 2, ids: ['c', 'b'] });
  // d is delivered, and re-used, in one commit: its row was still pending on disk.
  store.settle('d', 'log', 'delivered');
  await store.admit(item('d', 'again', now), ['log']);
  assert.deepEqual(await sent(), { total: 2, ids: ['c', 'b'] });
  store.settle('a', 'log', 'delivered');
  assert.deepEqual(await sent(), { total: 3, ids: ['a', 'c', 'b'] });
  await store.close();
  const again = await openStore(dir, { now: () => now, dedupeWindowMs: 60_000 });
  assert.equal((await again.store.list({ state: 'sent', limit: 100 })).total, 3, 'counted afresh at open: the same');
  await again.store.close();
});
