/**
 * The store on Postgres (--store postgres://…): the same Store as SQLite's,
 * its working set and group commit from group-commit-store.ts, its database
 * work on one session (postgres-session.ts: the hold on the store, every
 * query in order). Each commit is one transaction, committed with
 * synchronous_commit on, so an admit resolves only once its alert's WAL is
 * flushed on the server; a sync is counted for each commit that wrote (a
 * read-only one flushes nothing) while the server's fsync is on. Postgres
 * unreachable or refusing writes: the commit fails, new alerts get 503, the
 * probe finds out once it takes writes again. A commit whose answer was lost
 * with the connection may have been committed: its alerts got 503, and when a
 * sender resends one, the row kept for it, still pending and in no mailer's
 * working set, is taken up (adopted) and answered as new, so it is delivered.
 */
import type { Logger } from '../../shared/logger.ts';
import { DAILY_KEEP_MS, DAY_MS, HOURLY_KEEP_MS } from '../hub/model.ts';
import { GroupCommitStore } from './group-commit-store.ts';
import type { CommitBatch, CommitResult, StoreBackend } from './store-backend.ts';
import { migrate } from './postgres-migrations.ts';
import { PostgresSession } from './postgres-session.ts';
import * as hq from './postgres-hub-queries.ts';
import * as q from './postgres-queries.ts';
import { DEFAULT_MAX_REMEMBERED, type OpenSummary } from './sqlite-store.ts';
import type { PostgresLocation } from './store-url.ts';
import type { StoreOptions } from './store.ts';

export interface PostgresStoreOptions extends StoreOptions {
  where: PostgresLocation;
  log: Logger;
}

const PRUNE_EVERY_MS = 1000;
const PRUNE_BATCH = 10_000;
const HUB_PRUNE_EVERY_MS = 3_600_000;

class PostgresBackend implements StoreBackend {
  readonly #session: PostgresSession;
  readonly #windowMs: number;
  readonly #maxRemembered: number;
  readonly #fsync: boolean;
  #syncs = 0;
  /** Rows in state sent, counted once at open and kept since by each commit and prune. */
  #sentRows: number;
  #lastPrune = -Infinity;
  #lastHubPrune = -Infinity;

  constructor(session: PostgresSession, options: { windowMs: number; maxRemembered: number; fsync: boolean; sentRows: number }) {
    this.#session = session;
    this.#windowMs = options.windowMs;
    this.#maxRemembered = options.maxRemembered;
    this.#fsync = options.fsync;
    this.#sentRows = options.sentRows;
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const changes = new Map(batch.changes);
    const result = await this.#session.transaction(async (c) => {
      let sentDelta = 0;
      const inserted = await q.insertAlerts(c, batch.items);
      const conflicts = batch.items.filter((i) => !inserted.has(i.alert.id)).map((i) => i.alert.id);
      const adopted = new Map<string, number>();
      const reused: string[] = [];
      for (const known of await q.findIds(c, conflicts)) {
        const state = changes.get(known.seq)?.state ?? known.state; // its latest change may be in this commit
        if (state === 'pending') adopted.set(known.id, known.seq); // kept by a commit whose answer was lost
        else if (state === 'sent' && known.receivedAt < batch.now - this.#windowMs) {
          reused.push(known.id);
          if (known.state === 'sent') sentDelta -= 1; // a row still pending in the database was not counted yet
          await q.deleteAlerts(c, [known.seq]);
        }
      }
      for (const [id, seq] of await q.insertAlerts(c, batch.items.filter((i) => reused.includes(i.alert.id)))) inserted.set(id, seq);
      const shared = batch.channels.length === 1 ? batch.channels[0]! : undefined;
      const fresh = batch.items.flatMap((item, i) => {
        const seq = inserted.get(item.alert.id);
        return seq === undefined ? [] : [{ seq, id: item.alert.id, channels: shared ?? batch.channels[i]! }];
      });
      await q.insertDeliveries(c, fresh, batch.now);
      sentDelta += await q.applyChanges(c, [...changes], batch.now);
      for (const w of batch.hub) await hq.hubWrite(c, w);
      const wrote = (await c.query<{ wrote: boolean }>('SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS wrote')).rows[0]?.wrote === true;
      return { seqs: batch.items.map((i) => inserted.get(i.alert.id) ?? adopted.get(i.alert.id)), sentDelta, wrote };
    });
    this.#sentRows += result.sentDelta;
    if (result.wrote && this.#fsync) this.#syncs += 1;
    // Queued now, so it runs before any read asked after this commit answers.
    void this.#prune(batch.now);
    return { seqs: result.seqs, syncs: this.#syncs };
  }

  list: StoreBackend['list'] = (query) => this.#session.run((c) => q.listPage(c, query, this.#sentRows));
  hubLoad: StoreBackend['hubLoad'] = (now) => this.#session.run((c) => hq.hubLoad(c, now, now - HOURLY_KEEP_MS, now - 91 * DAY_MS));
  incidents: StoreBackend['incidents'] = (query) => this.#session.run((c) => hq.incidents(c, query));
  notifyLog: StoreBackend['notifyLog'] = () => this.#session.run((c) => hq.notifyLog(c));
  probe: StoreBackend['probe'] = () => this.#session.run((c) => q.probe(c));
  close: StoreBackend['close'] = () => this.#session.close();

  /** Forget delivered alerts past the dedupe window and the oldest beyond the cap (every second); the hub's old rows hourly. */
  async #prune(now: number): Promise<void> {
    if (now - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now;
    try {
      const removed = await this.#session.transaction(async (c) => {
        let n = await q.pruneSentBefore(c, now - this.#windowMs, PRUNE_BATCH);
        const over = this.#sentRows - n - this.#maxRemembered;
        if (over > 0) n += await q.pruneOldestSent(c, Math.min(over, PRUNE_BATCH));
        return n;
      });
      this.#sentRows = Math.max(0, this.#sentRows - removed);
    } catch {
      // Tried again a second later; a database that refuses writes shows in the commit.
    }
    if (now - this.#lastHubPrune < HUB_PRUNE_EVERY_MS) return;
    this.#lastHubPrune = now;
    await this.#session.transaction((c) => hq.hubPrune(c, now - HOURLY_KEEP_MS, now - DAILY_KEEP_MS, now)).catch(() => undefined);
  }
}

export class PostgresStore extends GroupCommitStore {
  /**
   * Connect, take the hold (a StoreOpenError "in use" when another mailer has
   * it), apply the migrations, load what is unfinished. A server that cannot
   * be reached rejects with its connection error (the caller retries).
   */
  static async open(options: PostgresStoreOptions): Promise<{ store: PostgresStore; summary: OpenSummary }> {
    const store = new PostgresStore(options.where.label, options.log, options.now ?? Date.now);
    const session = await PostgresSession.open(options.where, (why) => store.fatal(why));
    try {
      const loaded = await session.run(async (c) => {
        const applied = await migrate(c, options.where.label);
        const fsync = (await c.query<{ fsync: string }>('SHOW fsync')).rows[0]?.fsync === 'on';
        return { applied, fsync, pending: await q.loadPending(c), sent: await q.countState(c, 'sent'), finished: await q.countState(c, 'finished') };
      });
      if (loaded.applied.length > 0) options.log.info(`Store ${options.where.label}: schema migration(s) ${loaded.applied.join(', ')} applied.`, { event: 'store-migrated', applied: loaded.applied });
      if (!loaded.fsync) options.log.warn(`Store ${options.where.label}: the server runs with fsync off, so a committed alert may be lost with the server's host; no syncs are counted.`, { event: 'store-fsync-off' });
      const backend = new PostgresBackend(session, { windowMs: options.dedupeWindowMs, maxRemembered: options.maxRemembered ?? DEFAULT_MAX_REMEMBERED, fsync: loaded.fsync, sentRows: loaded.sent });
      store.start(backend, loaded.pending);
      return { store, summary: { resumed: loaded.pending.length, remembered: loaded.finished, imported: 0 } };
    } catch (err) {
      await session.close();
      throw err;
    }
  }
}
