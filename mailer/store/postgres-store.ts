/**
 * The store on Postgres (--store postgres://…): the same Store as SQLite's,
 * its working set and group commit from group-commit-store.ts, its commits
 * and reads on one session (postgres-session.ts), in order. Each commit is one
 * transaction, committed with synchronous_commit on, so an admit resolves
 * only once its alert's WAL is flushed on the server; a sync is counted for
 * each commit that wrote (a read-only one flushes nothing) while the
 * server's fsync is on. Postgres unreachable or refusing writes: the commit
 * fails, new alerts get 503, the probe finds out once it takes writes again.
 *
 * Several mailers may use one database at once, all active: each works on
 * the deliveries it claims (postgres-claims.ts: claimed at insert, kept by a
 * heartbeat on a second session, taken over from a mailer whose lease
 * lapsed, released at close), and its working set holds only those. An id
 * already in the database is a duplicate, wherever it was admitted (the
 * alerts' unique id); one whose rows are pending and claimed by no live
 * mailer (kept by a commit whose answer was lost with the connection: its
 * sender got 503) is claimed when it is resent, and answered as new. A
 * commit that writes hub rows tells the others which (NOTIFY ch2_hub,
 * postgres-hub-notify.ts); they read them (watchClaims hub).
 */
import type { Logger } from '../../shared/logger.ts';
import { DAILY_KEEP_MS, DAY_MS, HOURLY_KEEP_MS, type HubChanges, type HubWrite, type SilenceRow } from '../hub/model.ts';
import { GroupCommitStore } from './group-commit-store.ts';
import type { CommitBatch, CommitResult, StoreBackend } from './store-backend.ts';
import { migrate } from './postgres-migrations.ts';
import { PostgresSession } from './postgres-session.ts';
import * as hq from './postgres-hub-queries.ts';
import * as q from './postgres-queries.ts';
import { claimResent, WORK_CHANNEL } from './postgres-claim-queries.ts';
import { NoticeListener } from './postgres-listen.ts';
import { HUB_CHANNEL, type HubTold, hubNotices, mergeTold, parseTold, readChanges } from './postgres-hub-notify.ts';
import { claimAll, type ClaimCounts, type ClaimHandlers, Claims, LEASE_MS } from './postgres-claims.ts';
import { instanceName } from './postgres-session.ts';
import { type MailerMembers, PostgresOwners } from './postgres-owners.ts';
import { DEFAULT_MAX_REMEMBERED, type OpenSummary } from './sqlite-store.ts';
import type { PostgresLocation } from './store-url.ts';
import type { StoreHealth, StoreOptions } from './store.ts';

export interface PostgresStoreOptions extends StoreOptions {
  where: PostgresLocation;
  log: Logger;
}

const PRUNE_EVERY_MS = 1000;
/** The other mailers are told of the hub rows committed at most this often (#tellHub). */
const NOTIFY_HUB_EVERY_MS = 50;
const PRUNE_BATCH = 10_000;
const HUB_PRUNE_EVERY_MS = 3_600_000;

class PostgresBackend implements StoreBackend {
  readonly #session: PostgresSession;
  readonly #me: string;
  readonly #claims: Claims;
  #listener: NoticeListener | undefined;
  /** Hub writes committed since the others were last told (#tellHub). */
  #toldHub: HubWrite[] = [];
  #toldTimer: NodeJS.Timeout | undefined;
  readonly #windowMs: number;
  readonly #maxRemembered: number;
  readonly #fsync: boolean;
  #syncs = 0;
  /** Rows in state sent, counted once at open and kept since by each commit and prune. */
  #sentRows: number;
  #lastPrune = -Infinity;
  #lastHubPrune = -Infinity;

  constructor(session: PostgresSession, claims: Claims, options: { me: string; windowMs: number; maxRemembered: number; fsync: boolean; sentRows: number }) {
    this.#session = session;
    this.#claims = claims;
    this.#me = options.me;
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
      const resent: number[] = [];
      const reused: string[] = [];
      for (const known of await q.findIds(c, conflicts)) {
        const state = changes.get(known.seq)?.state ?? known.state; // its latest change may be in this commit
        if (state === 'pending') resent.push(known.seq); // admitted at another mailer, or kept by a commit whose answer was lost
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
      await q.insertDeliveries(c, fresh, batch.now, this.#me, LEASE_MS);
      // Rows another mailer claims are its own: the alert is a duplicate here.
      const adopted = new Map((await claimResent(c, this.#me, LEASE_MS, resent)).map((row) => [row.record.item.alert.id, row]));
      sentDelta += await q.applyChanges(c, [...changes], batch.now, this.#me);
      for (const w of batch.hub) await hq.hubWrite(c, w);
      // Told when this commits: the other mailers read the silences again.
      if (batch.hub.some((w) => w.op === 'silence' || w.op === 'unsilence')) await c.query('SELECT pg_notify($1, $2)', [hq.SILENCES_CHANNEL, this.#me]);
      const wrote = (await c.query<{ wrote: boolean }>('SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS wrote')).rows[0]?.wrote === true;
      const seqs = batch.items.map((i) => inserted.get(i.alert.id) ?? adopted.get(i.alert.id)?.seq);
      return { seqs, adopted: batch.items.map((i) => adopted.get(i.alert.id)), sentDelta, wrote };
    });
    this.#sentRows += result.sentDelta;
    this.#tellHub(batch.hub);
    if (result.wrote && this.#fsync) this.#syncs += 1;
    // Queued now, so it runs before any read asked after this commit answers.
    void this.#prune(batch.now);
    return { seqs: result.seqs, adopted: result.adopted, syncs: this.#syncs };
  }

  list: StoreBackend['list'] = (query) => this.#session.run((c) => q.listPage(c, query, this.#sentRows));
  hubLoad: StoreBackend['hubLoad'] = (now) => this.#session.run((c) => hq.hubLoad(c, now, now - HOURLY_KEEP_MS, now - 91 * DAY_MS));
  incidents: StoreBackend['incidents'] = (query) => this.#session.run((c) => hq.incidents(c, query));
  notifyLog: StoreBackend['notifyLog'] = () => this.#session.run((c) => hq.notifyLog(c));
  toldOf = (incident: string): Promise<string[]> => this.#session.run((c) => hq.toldOf(c, incident));
  silences = (now: number): Promise<SilenceRow[]> => this.#session.run((c) => hq.silencesNow(c, now));
  lastReports = (names: readonly string[]): Promise<Map<string, { at: number; instance: string }>> => this.#session.run((c) => hq.lastReports(c, names));
  /**
   * The hub rows committed: the others read them (postgres-hub-notify.ts). Told after the commit,
   * at most every NOTIFY_HUB_EVERY_MS with the names of every commit since, not in each commit's
   * transaction: Postgres serializes the commits of transactions that NOTIFY, and a mailer commits
   * the hub's rows with nearly every alert.
   */
  #tellHub(writes: readonly HubWrite[]): void {
    if (!writes.some((w) => w.op !== 'silence' && w.op !== 'unsilence')) return;
    this.#toldHub.push(...writes);
    this.#toldTimer ??= setTimeout(() => void this.#flushHub(), NOTIFY_HUB_EVERY_MS);
  }

  async #flushHub(): Promise<void> {
    clearTimeout(this.#toldTimer);
    this.#toldTimer = undefined;
    const writes = this.#toldHub;
    this.#toldHub = [];
    const payloads = hubNotices(writes);
    if (payloads.length === 0) return;
    await this.#session
      .run(async (c) => {
        for (const told of payloads) await c.query('SELECT pg_notify($1, $2)', [HUB_CHANNEL, `${this.#me}\n${told}`]);
      })
      .catch(() => {
        // Not told: once more with the next commit's (the others read everything again when their listener reconnects).
        if (this.#toldHub.length < 100_000) this.#toldHub.unshift(...writes);
      });
  }

  hubChanges = (told: HubTold, now: number): Promise<HubChanges> => this.#session.run((c) => readChanges(c, told, now));
  probe: StoreBackend['probe'] = () => this.#session.run((c) => q.probe(c));
  /** After the last commit: the claims let go (or, abandoned, left to lapse as a crash leaves them), then the session. */
  close = async (abandon = false): Promise<void> => {
    if (!abandon) await this.#flushHub();
    await this.#listener?.close();
    await this.#claims.close(abandon);
    await this.#session.close();
  };

  /** Listen to the other mailers (postgres-listen.ts), once: work let go, and silences changed. */
  listen(where: PostgresLocation, handlers: Record<string, (payload?: string) => void>): void {
    this.#listener ??= new NoticeListener(where, this.#me, handlers);
  }

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
  /** This mailer's name in claimed_by and pg_stat_activity. */
  readonly instance = instanceName();
  #claims: Claims | undefined;
  #owners: PostgresOwners | undefined;
  #backend: PostgresBackend | undefined;
  #where: PostgresLocation | undefined;
  #clock: () => number = Date.now;

  /**
   * Connect (two sessions: commits and claims), apply the migrations, claim
   * and load the unfinished work no live mailer holds. A server that cannot
   * be reached rejects with its connection error (the caller retries).
   */
  static async open(options: PostgresStoreOptions): Promise<{ store: PostgresStore; summary: OpenSummary }> {
    const store = new PostgresStore(options.where.label, options.log, options.now ?? Date.now);
    const session = await PostgresSession.open(options.where, store.instance);
    const claimSession = await PostgresSession.open(options.where, store.instance).catch(async (err: unknown) => {
      await session.close();
      throw err;
    });
    try {
      const loaded = await session.run(async (c) => {
        const applied = await migrate(c, options.where.label);
        const fsync = (await c.query<{ fsync: string }>('SHOW fsync')).rows[0]?.fsync === 'on';
        return { applied, fsync, sent: await q.countState(c, 'sent'), finished: await q.countState(c, 'finished') };
      });
      if (loaded.applied.length > 0) options.log.info(`Store ${options.where.label}: schema migration(s) ${loaded.applied.join(', ')} applied.`, { event: 'store-migrated', applied: loaded.applied });
      if (!loaded.fsync) options.log.warn(`Store ${options.where.label}: the server runs with fsync off, so a committed alert may be lost with the server's host; no syncs are counted.`, { event: 'store-fsync-off' });
      const pending = (await claimAll(claimSession, store.instance, true)).rows;
      const claims = new Claims({ session: claimSession, me: store.instance, label: options.where.label, log: options.log, working: store.working });
      const backend = new PostgresBackend(session, claims, { me: store.instance, windowMs: options.dedupeWindowMs, maxRemembered: options.maxRemembered ?? DEFAULT_MAX_REMEMBERED, fsync: loaded.fsync, sentRows: loaded.sent });
      store.start(backend, pending);
      store.#claims = claims;
      store.#backend = backend;
      store.#where = options.where;
      store.#clock = options.now ?? Date.now;
      store.#owners = new PostgresOwners({ session: claimSession, me: store.instance, working: store.working });
      claims.start();
      store.#owners.start();
      return { store, summary: { resumed: pending.length, remembered: loaded.finished, imported: 0 } };
    } catch (err) {
      await session.close();
      await claimSession.close();
      throw err;
    }
  }

  /**
   * From now on take over lapsed work, and tell the mailer what comes and goes (main.ts, once it has
   * resumed what open loaded); and the silences as the database has them whenever another mailer
   * adds or removes one (and once the listening connection is up, again after it was lost); and the
   * hub rows another mailer wrote (hub: all of them once the listening connection is up).
   */
  watchClaims(handlers: ClaimHandlers & { silences?: (rows: SilenceRow[]) => void; hub?: (changes: HubChanges) => void }): void {
    const claims = this.#claims;
    const backend = this.#backend;
    if (!claims || !backend) return;
    claims.watch(handlers);
    const { silences } = handlers;
    const readSilences = (): void => {
      if (silences) backend.silences(this.#clock()).then(silences, () => {}); // the next notice, or reconnection, reads them again
    };
    const { hub } = handlers;
    // One read at a time: the notices that come meanwhile are merged into the next read, so the reads
    // never queue up on the commits' session behind a busy cluster's commits (one notice each).
    let pending: HubTold | undefined;
    let reading = false;
    const readHub = (payload?: string): void => {
      if (!hub) return;
      const told = parseTold(payload);
      pending = pending ? mergeTold(pending, told) : told;
      if (reading) return;
      reading = true;
      void (async () => {
        while (pending) {
          const next = pending;
          pending = undefined;
          await backend.hubChanges(next, this.#clock()).then(hub, () => {}); // as for the silences
        }
        reading = false;
      })();
    };
    backend.listen(this.#where!, { [WORK_CHANNEL]: () => void claims.scan(), [hq.SILENCES_CHANNEL]: readSilences, [HUB_CHANNEL]: readHub });
  }

  /** The live mailers, and hand-overs to a destination's owner (postgres-owners.ts). */
  destinations(): MailerMembers {
    if (!this.#owners) throw new Error('the store is not open');
    return this.#owners;
  }

  /** The channels told a down of this incident, by any mailer on the database (Store.toldOf). */
  toldOf(incident: string): Promise<string[]> {
    if (!this.#backend) return Promise.reject(new Error('the store is not open'));
    return this.#backend.toldOf(incident);
  }

  /** When these agents last reported, at any mailer on the database (Store.lastReports). */
  lastReports(names: readonly string[]): Promise<Map<string, { at: number; instance: string }>> {
    if (!this.#backend) return Promise.reject(new Error('the store is not open'));
    return this.#backend.lastReports(names);
  }

  claimCounts(): ClaimCounts | undefined {
    return this.#claims?.counts();
  }

  override async close(): Promise<void> {
    this.#owners?.stop();
    await super.close();
  }

  override health(): StoreHealth {
    const h = super.health();
    const counts = this.#claims?.counts();
    if (counts) h.claims = counts;
    return h;
  }

  /** Stop as a crash would (tests): no last commit, no claim released; the leases lapse. */
  async abandon(): Promise<void> {
    this.#owners?.stop();
    await this.#backend?.close(true);
  }
}
