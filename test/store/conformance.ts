/**
 * The store conformance suite: what every implementation of the mailer's
 * Store (mailer/store/store.ts) must do, written against the interface only,
 * so the SQLite store (test/unit/store-sqlite.test.ts) and the Postgres store
 * (test/integration/store-postgres.test.ts) run it alike. Commits are counted through health(), so
 * an admit that resolved before its commit fails here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import type { Store, StoreOptions } from '../../mailer/store/store.ts';
import { type AgentRow, type IncidentRow, PACKED_WIDTH, type SilenceRow, type TargetRow } from '../../mailer/hub/model.ts';

export interface StoreFactory {
  /** A fresh place (folder, database) for a store. */
  place(): string;
  open(place: string, options: StoreOptions): Promise<Store>;
  /**
   * Whether `err` is the refusal of a second store on a place another holds;
   * absent where several stores share a place (Postgres: its cluster tests,
   * test/integration/store-postgres-claims.test.ts).
   */
  isInUse?(err: unknown): boolean;
}

const WINDOW = 7 * 86_400_000;

export function item(id: string, message = 'The service is down!', receivedAt = Date.now()): QueuedAlert {
  return { alert: { id, to: 'admin@work', message, status: 'down', target: 'http://insideweb:80/' }, line: `To: admin@work Message: ${message}`, via: 'json', receivedAt };
}

export function storeConformance(name: string, factory: StoreFactory): void {
  const open = (place: string, options: Partial<StoreOptions> = {}): Promise<Store> => factory.open(place, { dedupeWindowMs: WINDOW, ...options });

  test(`${name}: admit resolves only after the commit that holds the alert; alerts admitted together share one commit`, async () => {
    const place = factory.place();
    const store = await open(place);
    await store.admit(item('warm-up'), ['log']);
    const before = store.health().commits;
    const syncsBefore = store.health().syncs;
    const seenAt: number[] = [];
    const syncedAt: number[] = [];
    const ids = Array.from({ length: 50 }, (_, i) => `c${i}`);
    const results = await Promise.all(
      ids.map((id) => store.admit(item(id), ['log', 'smtp']).then((r) => (seenAt.push(store.health().commits), syncedAt.push(store.health().syncs), r))),
    );
    assert.ok(results.every((r) => !r.duplicate));
    assert.ok(seenAt.every((c) => c === before + 1), `every admit resolved after its commit (commits seen: ${[...new Set(seenAt)].join(', ')}; before: ${before})`);
    assert.ok(syncedAt.every((c) => c > syncsBefore), 'and after a sync to disk that followed it');
    assert.equal(store.health().commits, before + 1, 'one commit for alerts admitted in one turn');
    await store.close();
    const again = await open(place);
    const kept = new Set(again.unfinished().map((r) => r.item.alert.id));
    for (const id of ids) assert.ok(kept.has(id), `${id} kept across a reopen`);
    await again.close();
  });

  test(`${name}: a duplicate that arrives during the commit waits for it and answers as a duplicate`, async () => {
    const place = factory.place();
    const store = await open(place);
    const before = store.health().commits;
    let commitsWhenDuplicateAnswered = -1;
    const first = store.admit(item('d1'), ['log']);
    const second = store.admit(item('d1', 'sent again'), ['log']).then((r) => ((commitsWhenDuplicateAnswered = store.health().commits), r));
    assert.deepEqual(await first, { duplicate: false });
    assert.deepEqual(await second, { duplicate: true });
    assert.ok(commitsWhenDuplicateAnswered >= before + 1, 'the duplicate was answered only after the original was committed');
    assert.equal(store.unfinished().length, 1);
    assert.equal(store.get('d1')?.item.alert.message, 'The service is down!', 'the original is kept, not the copy');
    assert.deepEqual(await store.admit(item('d1'), ['log']), { duplicate: true });
    await store.close();
    const again = await open(place);
    assert.deepEqual(await again.admit(item('d1'), ['log']), { duplicate: true }, 'known after a reopen');
    await again.close();
  });

  test(`${name}: ids are remembered for the dedupe window and no longer; a pending alert always; the oldest beyond the cap go first`, async () => {
    let now = 1_800_000_000_000;
    const store = await open(factory.place(), { now: () => now, dedupeWindowMs: 60_000, maxRemembered: 5 });
    await store.admit(item('w1', undefined, now), ['log']);
    await store.admit(item('w-pending', undefined, now), ['log']);
    store.settle('w1', 'log', 'delivered');
    now += 59_000;
    assert.equal((await store.admit(item('w1', undefined, now), ['log'])).duplicate, true, 'within the window');
    now += 2_000;
    assert.equal((await store.admit(item('w-pending', undefined, now), ['log'])).duplicate, true, 'a pending alert is never forgotten');
    assert.equal((await store.admit(item('w1', 'new incident', now), ['log'])).duplicate, false, 'past the window the id is new');
    assert.equal(store.get('w1')?.item.alert.message, 'new incident');
    store.settle('w1', 'log', 'delivered');
    // The cap: 8 delivered alerts, at most 5 remembered.
    for (let i = 0; i < 8; i++) {
      await store.admit(item(`cap${i}`, undefined, now), ['log']);
      store.settle(`cap${i}`, 'log', 'delivered');
    }
    now += 2_000;
    await store.admit(item('trigger', undefined, now), ['log']);
    now += 2_000;
    await store.admit(item('trigger2', undefined, now), ['log']);
    // w1 (re-used past the window) and cap0-cap7 are 9 delivered alerts: the 4 oldest go, exactly the cap of 5 stays.
    assert.equal((await store.list({ state: 'sent', limit: 100 })).alerts.length, 5, 'exactly the cap is remembered');
    assert.equal((await store.admit(item('cap3', undefined, now), ['log'])).duplicate, true, 'the fifth newest is remembered');
    assert.equal((await store.admit(item('cap0', undefined, now), ['log'])).duplicate, false, 'the oldest beyond the cap is forgotten');
    assert.equal((await store.admit(item('cap7', undefined, now), ['log'])).duplicate, true, 'the newest is remembered');
    await store.close();
  });

  test(`${name}: each channel's progress and attempts survive a reopen; a finished alert is not resumed`, async () => {
    const place = factory.place();
    let store = await open(place);
    await store.admit(item('p1'), ['log', 'smtp']);
    await store.admit(item('p2'), ['log']);
    store.settle('p1', 'log', 'delivered');
    store.attempted('p1', 'smtp', 'SMTP 451: try later');
    store.settle('p2', 'log', 'delivered', undefined, true, true);
    await store.close();
    store = await open(place);
    assert.deepEqual(store.unfinished().map((r) => r.item.alert.id), ['p1']);
    assert.deepEqual(store.get('p1')?.channels, {
      log: { state: 'delivered', attempts: 1 },
      smtp: { state: 'pending', attempts: 1, error: 'SMTP 451: try later' },
    });
    assert.equal(store.get('p2'), undefined);
    assert.equal((await store.admit(item('p2'), ['log'])).duplicate, true);
    store.settle('p1', 'smtp', 'delivered');
    await store.close();
    store = await open(place);
    assert.deepEqual(store.unfinished(), []);
    assert.equal(store.health().pending, 0);
    await store.close();
  });

  test(`${name}: dead letters keep every channel's state and reason, listed while other channels still owe the alert`, async () => {
    const place = factory.place();
    let store = await open(place);
    await store.admit(item('x1'), ['webhook', 'smtp']);
    store.settle('x1', 'webhook', 'dead', 'HTTP 400: bad payload');
    let dead = await store.list({ state: 'dead', limit: 10 });
    assert.equal(dead.total, 1);
    assert.equal(dead.alerts[0]?.channels.smtp?.state, 'pending');
    assert.ok(dead.alerts[0]?.deadAt);
    store.settle('x1', 'smtp', 'delivered');
    await store.close();
    store = await open(place);
    dead = await store.list({ state: 'dead', limit: 10 });
    assert.equal(dead.total, 1);
    const [letter] = dead.alerts;
    assert.equal(letter?.id, 'x1');
    assert.equal(letter?.alert.message, 'The service is down!');
    assert.deepEqual(letter?.channels, { webhook: { state: 'dead', attempts: 1, error: 'HTTP 400: bad payload' }, smtp: { state: 'delivered', attempts: 1 } });
    assert.equal((await store.list({ state: 'pending', limit: 10 })).total, 0);
    assert.equal((await store.list({ state: 'sent', limit: 10 })).total, 0, 'an alert with a dead channel is not "sent"');
    await store.close();
  });

  test(`${name}: a delivery held by a silence stays owed (silenced, listed so) across a reopen; released it is pending again; skipped it is done, never dead`, async () => {
    const place = factory.place();
    let store = await open(place);
    await store.admit(item('s1'), ['log', 'chat']);
    await store.admit(item('s2'), ['chat']);
    store.settle('s1', 'log', 'delivered');
    store.hold('s1', 'chat', 'held by silence x until 2030-01-01T00:00:00.000Z');
    store.hold('s2', 'chat', 'held by silence x until 2030-01-01T00:00:00.000Z');
    await store.close();
    store = await open(place);
    assert.deepEqual(store.unfinished().map((r) => r.item.alert.id), ['s1', 's2'], 'held deliveries are owed: resumed at start');
    assert.deepEqual(store.get('s1')?.channels.chat, { state: 'silenced', attempts: 0, error: 'held by silence x until 2030-01-01T00:00:00.000Z' });
    const silenced = await store.list({ state: 'silenced', limit: 10 });
    assert.deepEqual([silenced.total, silenced.alerts.map((a) => a.id)], [2, ['s2', 's1']]);
    store.hold('s1', 'chat', false);
    assert.equal(store.get('s1')?.channels.chat?.state, 'pending');
    store.settle('s2', 'chat', 'skipped', 'silenced until its incident closed', false);
    await store.close();
    store = await open(place);
    assert.deepEqual(store.unfinished().map((r) => r.item.alert.id), ['s1']);
    assert.equal((await store.list({ state: 'silenced', limit: 10 })).total, 0);
    const sent = await store.list({ state: 'sent', limit: 10 });
    assert.deepEqual(sent.alerts.map((a) => [a.id, a.channels.chat?.state]), [['s2', 'skipped']]);
    assert.equal((await store.list({ state: 'dead', limit: 10 })).total, 0, 'skipped is not dead');
    await store.close();
  });

  test(`${name}: the notification log: per open incident, the channels that delivered one of its alerts, read back after a reopen`, async () => {
    const place = factory.place();
    let store = await open(place);
    const incident = (id: string, state: 'open' | 'closed') =>
      store.hubWrite({ op: 'incident', row: { id, target: 'web', state, openedAt: 1, resolvedAt: state === 'open' ? null : 2, message: 'm', reason: null, silenced: false, recipients: [], events: [] } });
    incident('json-n1', 'open');
    incident('json-n2', 'closed');
    for (const id of ['n1', 'n2']) await store.admit(item(id), ['log', 'chat']);
    store.settle('n1', 'log', 'delivered');
    store.settle('n1', 'chat', 'dead', 'HTTP 400');
    store.settle('n2', 'log', 'delivered');
    await store.close();
    store = await open(place);
    assert.deepEqual(await store.notifyLog(), [{ incident: 'json-n1', channel: 'log' }]);
    await store.close();
  });

  test(`${name}: the hub's rows (agent, target, buckets, incident with its deliveries, silence) are read back as written after a reopen`, async () => {
    const place = factory.place();
    let store = await open(place);
    const now = Date.now();
    const agent: AgentRow = { name: 'a1', instance: 'i1', version: '0.1.0', firstSeenAt: now - 9000, instanceSince: now - 9000, lastReportAt: now, intervalMs: 5000, state: 'reporting', targets: [{ name: 'web', state: 'down' }] };
    const target: TargetRow = { name: 'web', state: 'down', since: now - 500, lastFailure: 'HTTP 503', alerted: 'down', reportedAt: now };
    const incident: IncidentRow = {
      id: 'json-i1', target: 'web', state: 'open', openedAt: now - 500, resolvedAt: null, message: 'The service is down!', reason: 'HTTP 503', silenced: true,
      recipients: ['admin@work'], events: [{ at: now - 500, kind: 'detected', text: 'HTTP 503' }], opener: { agent: 'a1', instance: 'i1' }, witnesses: ['a1'],
    };
    const silence: SilenceRow = { id: 'sil1', target: 'web*', startsAt: now, until: now + 3_600_000, comment: 'deploy', createdAt: now };
    store.hubWrite({ op: 'agent', row: agent });
    store.hubWrite({ op: 'target', row: target });
    store.hubWrite({ op: 'buckets', at: now, adds: [{ target: 'web', checks: 6, failures: 2, latency: [4, 0, 2], incidents: 1 }] });
    store.hubWrite({ op: 'buckets', at: now, adds: [{ target: 'web', checks: 1, failures: 0, latency: [1], incidents: 0 }] });
    store.hubWrite({ op: 'incident', row: incident });
    await store.hubCommit({ op: 'silence', row: silence });
    await store.admit(item('i1'), ['log']);
    store.settle('i1', 'log', 'delivered');
    await store.close();
    store = await open(place);
    const snapshot = await store.hubLoad();
    assert.deepEqual(snapshot.agents, [agent]);
    assert.deepEqual(snapshot.targets, [target]);
    assert.deepEqual(snapshot.open, [incident]);
    assert.deepEqual(snapshot.silences, [silence]);
    assert.deepEqual(snapshot.buckets.names, ['web']);
    const rows = [...snapshot.buckets.rows];
    assert.equal(rows.length, 2 * PACKED_WIDTH, 'an hour and a day');
    assert.deepEqual(rows.slice(3, 7), [7, 2, 1, 5], 'checks, failures and incidents added up, then the first latency bucket');
    const [listed] = await store.incidents({ state: 'open', limit: 10 });
    assert.deepEqual({ ...listed, deliveries: listed?.deliveries.map((d) => ({ ...d, at: 0 })) }, { ...incident, deliveries: [{ incident: 'json-i1', alertId: 'i1', channel: 'log', state: 'delivered', attempts: 1, error: null, at: 0 }] });
    assert.deepEqual(await store.incidents({ state: 'closed', limit: 10 }), []);
    await store.close();
  });

  test(`${name}: listings are paged, newest first, every alert on exactly one page`, async () => {
    const store = await open(factory.place());
    const ids = Array.from({ length: 25 }, (_, i) => `l${String(i).padStart(2, '0')}`);
    for (const id of ids) await store.admit(item(id), ['log']);
    for (const id of ids.filter((_, i) => i % 5 === 0)) store.settle(id, 'log', 'delivered');
    const pages: string[][] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await store.list({ state: 'pending', limit: 7, cursor });
      assert.equal(page.total, 20);
      pages.push(page.alerts.map((a) => a.id));
      if (page.next === undefined) break;
      cursor = page.next;
      assert.ok(pages.length < 10, 'the pages end');
    }
    const pending = ids.filter((_, i) => i % 5 !== 0);
    assert.deepEqual(pages.flat(), [...pending].reverse(), 'newest first, none twice, none missing');
    assert.deepEqual(pages.map((p) => p.length), [7, 7, 6]);
    const sent = await store.list({ state: 'sent', limit: 100 });
    assert.deepEqual(sent.alerts.map((a) => a.id), ['l20', 'l15', 'l10', 'l05', 'l00']);
    assert.equal(sent.next, undefined);
    await store.close();
  });

  test(`${name}: a second store on a held place is refused; the first is untouched and the place free once it closes`, { skip: factory.isInUse ? false : 'several stores share a place' }, async () => {
    const place = factory.place();
    const first = await open(place);
    await first.admit(item('h1'), ['log']);
    const t0 = Date.now();
    await assert.rejects(open(place), (err: unknown) => factory.isInUse!(err));
    assert.ok(Date.now() - t0 < 5_000, 'refused within a few seconds');
    const before = first.health().commits;
    assert.equal((await first.admit(item('h2'), ['log'])).duplicate, false);
    assert.equal(first.health().commits, before + 1, 'the first still commits');
    await first.close();
    const second = await open(place);
    assert.deepEqual(second.unfinished().map((r) => r.item.alert.id), ['h1', 'h2']);
    await second.close();
  });
}
