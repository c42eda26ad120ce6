/**
 * The store on node:sqlite: one database in --spool (sqlite-open.ts: WAL,
 * exclusive hold). Group commit: alerts admitted and progress recorded in one
 * turn of the event loop go into one transaction right after it, and admit()
 * resolves only once that transaction is committed and the WAL synced
 * (fdatasync) after it. The sync is what synchronous=FULL does inside
 * COMMIT; it is done here instead, on node's thread pool, so the event loop
 * goes on taking requests meanwhile: one sync runs at a time, and covers
 * every transaction committed before it started. A failed sync leaves the
 * database's durability unknown, so the mailer stops (exit 1) and starts
 * again from what SQLite has (what PostgreSQL does on a failed fsync). A failed commit (disk full, I/O error)
 * rejects the batch's alerts (HTTP 503), keeps their progress records for
 * the next commit, and marks the store degraded until a write succeeds; a
 * probe write every second finds out when space is back. Unfinished alerts
 * are also kept in memory (the dispatcher's working set); finished ones stay
 * in the database for the dedupe window, capped in number, for duplicate
 * checks and GET /alerts.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
import type { Logger } from '../../shared/logger.ts';
import type { QueuedAlert } from '../queued-alert.ts';
import { hasLegacySpool, readLegacySpool, retireLegacySpool } from './legacy-spool.ts';
import { applyProgress, type ChannelState, type DeliveryState, isFinished, newRecord, type OutboxRecord } from './outbox.ts';
import { openSpoolDatabase, removeOwner } from './sqlite-open.ts';
import { SqliteQueries } from './sqlite-queries.ts';
import type { Admitted, ListPage, ListQuery, Store, StoreHealth, StoreOptions } from './store.ts';

export interface SqliteStoreOptions extends StoreOptions {
  dir: string;
  log: Logger;
  /** Move a corrupt database aside and start empty (--spool-recover). */
  recover?: boolean;
}

export interface OpenSummary {
  resumed: number;
  remembered: number;
  /** Alerts taken over from a spool of the previous format (journal.log). */
  imported: number;
  movedAside?: string;
}

interface Entry {
  record: OutboxRecord;
  seq: number;
  deadAt: number | null;
}

interface Queued {
  item: QueuedAlert;
  channels: readonly string[];
  resolve: (a: Admitted) => void;
  reject: (err: Error) => void;
}

interface AlertChange {
  /** Every channel's progress, as it was when the change was recorded. */
  channels: Record<string, ChannelState>;
  state: 'pending' | 'sent' | 'dead';
  deadAt: number | null;
  finishedAt: number | null;
}

const PRUNE_EVERY_MS = 1000;
const PRUNE_BATCH = 10_000;
const PROBE_EVERY_MS = 1000;
export const DEFAULT_MAX_REMEMBERED = 500_000;

export class SqliteStore implements Store {
  readonly #q: SqliteQueries;
  readonly #dir: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #maxRemembered: number;
  readonly #pending = new Map<string, Entry>();
  /** Admitted, commit not yet done: a duplicate waits for this. */
  readonly #inflight = new Map<string, Promise<Admitted>>();
  #queue: Queued[] = [];
  /** Committed, waiting for the next WAL sync. */
  /** seq undefined: the id was kept already, so the alert is answered as a duplicate. */
  #unsynced: Array<{ q: Queued; seq: number | undefined }> = [];
  #syncing: Promise<void> | undefined;
  #syncs = 0;
  readonly #walPath: string;
  #walFd: number | undefined;
  #alerts = new Map<number, AlertChange>();
  #scheduled = false;
  /** A commit waits for the sync under way: what it would commit could not be synced sooner. */
  #afterSync = false;
  #commits = 0;
  #writeErrors = 0;
  #degraded: string | undefined;
  #probe: NodeJS.Timeout | undefined;
  #lastPrune = -Infinity;
  #sentRows: number;
  #closed = false;

  private constructor(options: SqliteStoreOptions, q: SqliteQueries, walPath: string) {
    this.#q = q;
    this.#walPath = walPath;
    this.#dir = options.dir;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#windowMs = options.dedupeWindowMs;
    this.#maxRemembered = options.maxRemembered ?? DEFAULT_MAX_REMEMBERED;
    this.#sentRows = q.countState('sent');
  }

  /** Open the spool (throws StoreOpenError), import a previous-format spool, load what is unfinished. */
  static async open(options: SqliteStoreOptions): Promise<{ store: SqliteStore; summary: OpenSummary }> {
    const { db, movedAside, wal } = openSpoolDatabase(options.dir, options.recover ?? false);
    const q = new SqliteQueries(db);
    const imported = hasLegacySpool(options.dir) ? importLegacy(q, options) : 0;
    const store = new SqliteStore(options, q, wal);
    for (const row of q.loadPending()) store.#pending.set(row.record.item.alert.id, row);
    const summary: OpenSummary = { resumed: store.#pending.size, remembered: q.countFinished(), imported };
    if (movedAside) summary.movedAside = movedAside;
    return { store, summary };
  }

  admit(item: QueuedAlert, channels: readonly string[]): Promise<Admitted> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    const id = item.alert.id;
    const inflight = this.#inflight.get(id);
    if (inflight) return inflight.then(() => ({ duplicate: true }));
    if (this.#pending.has(id)) return Promise.resolve({ duplicate: true });
    // An id kept from before is found by the insert itself (#keep), in the commit.
    const done = new Promise<Admitted>((resolve, reject) => this.#queue.push({ item, channels, resolve, reject }));
    this.#inflight.set(id, done);
    this.#schedule();
    return done;
  }

  get(id: string): OutboxRecord | undefined {
    return this.#pending.get(id)?.record;
  }

  unfinished(): OutboxRecord[] {
    return [...this.#pending.values()].map((e) => e.record);
  }

  attempted(id: string, channel: string, error?: string): void {
    const entry = this.#pending.get(id);
    if (!entry || !applyProgress(entry.record, channel, { error, attempted: true })) return;
    this.#changed(entry, false);
  }

  settle(id: string, channel: string, state: Exclude<DeliveryState, 'pending'>, error?: string, attempted = true, urgent = false): void {
    const entry = this.#pending.get(id);
    if (!entry || !applyProgress(entry.record, channel, { state, error, attempted })) return;
    if (state === 'dead' && entry.deadAt === null) entry.deadAt = this.#now();
    this.#changed(entry, urgent);
  }

  async list(query: ListQuery): Promise<ListPage> {
    if (this.#queue.length > 0 || this.#alerts.size > 0) this.#flush();
    return this.#q.list(query);
  }

  health(): StoreHealth {
    const h: StoreHealth = { degraded: this.#degraded !== undefined, commits: this.#commits, syncs: this.#syncs, writeErrors: this.#writeErrors, pending: this.#pending.size };
    if (this.#degraded !== undefined) h.reason = this.#degraded;
    return h;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    while (this.#syncing) await this.#syncing;
    if (this.#probe) clearInterval(this.#probe);
    this.#q.close();
    if (this.#walFd !== undefined) closeSync(this.#walFd);
    removeOwner(this.#dir);
  }

  #changed(entry: Entry, urgent: boolean): void {
    const finished = isFinished(entry.record);
    if (finished) this.#pending.delete(entry.record.item.alert.id);
    const state = !finished ? 'pending' : entry.deadAt !== null ? 'dead' : 'sent';
    const channels = structuredClone(entry.record.channels);
    this.#alerts.set(entry.seq, { channels, state, deadAt: entry.deadAt, finishedAt: finished ? this.#now() : null });
    if (urgent) this.#flush();
    else this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    if (this.#syncing) {
      // Committed now, it would wait for this sync to end before its own began; committed when
      // the sync ends, it makes one transaction with everything else that came meanwhile.
      this.#afterSync = true;
      return;
    }
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  /** One transaction for everything queued; settles every waiting admit. */
  #flush(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    this.#prune();
    const queue = this.#queue;
    const alerts = this.#alerts;
    if (queue.length === 0 && alerts.size === 0) return;
    this.#queue = [];
    this.#alerts = new Map();
    let seqs: Array<number | undefined>;
    try {
      seqs = this.#q.transaction(() => {
        const out = queue.map((q) => this.#keep(q, alerts));
        for (const [seq, a] of alerts) this.#q.updateAlert(seq, a.channels, a.state, a.deadAt, a.finishedAt);
        return out;
      });
    } catch (err) {
      // Progress is kept for the next commit, unless newer progress replaced it meanwhile.
      for (const [k, v] of alerts) if (!this.#alerts.has(k)) this.#alerts.set(k, v);
      this.#failed(err as Error);
      for (const q of queue) {
        this.#inflight.delete(q.item.alert.id);
        q.reject(err as Error);
      }
      return;
    }
    this.#commits += 1;
    for (const a of alerts.values()) if (a.state === 'sent') this.#sentRows += 1;
    this.#succeeded();
    queue.forEach((q, i) => this.#unsynced.push({ q, seq: seqs[i] }));
    this.#requestSync();
  }

  #requestSync(): void {
    if (this.#syncing || this.#unsynced.length === 0) return;
    this.#syncing = this.#syncLoop().finally(() => {
      this.#syncing = undefined;
      if (this.#afterSync) {
        this.#afterSync = false;
        this.#flush(); // commits what waited, then syncs it
      } else {
        this.#requestSync(); // committed after the loop's last look (an urgent record)
      }
    });
  }

  async #syncLoop(): Promise<void> {
    while (this.#unsynced.length > 0) {
      const batch = this.#unsynced;
      this.#unsynced = [];
      try {
        this.#walFd ??= openSync(this.#walPath, 'r');
        const fd = this.#walFd;
        await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
      } catch (err) {
        this.#log.error(`Spool: cannot sync ${this.#walPath} (${(err as Error).message}); stopping, to start again from what is on disk.`, { event: 'spool-error' });
        process.exit(1);
      }
      this.#syncs += 1;
      for (const { q, seq } of batch) {
        const id = q.item.alert.id;
        if (seq !== undefined) this.#pending.set(id, { record: newRecord(q.item, q.channels), seq, deadAt: null });
        this.#inflight.delete(id);
        q.resolve({ duplicate: seq === undefined });
      }
    }
  }

  /**
   * Insert a queued alert, in the commit's transaction: its seq, or undefined
   * when its id is known (a duplicate). A delivered alert remembered beyond the
   * dedupe window is forgotten, and the new one kept in its place.
   */
  #keep(q: Queued, changes: ReadonlyMap<number, AlertChange>): number | undefined {
    const seq = this.#q.insertAlert(q.item, q.channels);
    if (seq !== undefined) return seq;
    const known = this.#q.findId(q.item.alert.id);
    if (!known) return undefined;
    const state = changes.get(known.seq)?.state ?? known.state; // its latest change is in this commit
    if (state !== 'sent' || known.receivedAt >= this.#now() - this.#windowMs) return undefined;
    this.#q.deleteSeq(known.seq);
    return this.#q.insertAlert(q.item, q.channels);
  }

  /** Forget delivered alerts past the dedupe window, and the oldest beyond the cap. */
  #prune(): void {
    const now = this.#now();
    if (now - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now;
    try {
      const removed = this.#q.transaction(() => {
        let n = this.#q.pruneSentBefore(now - this.#windowMs, PRUNE_BATCH);
        const over = this.#sentRows - n - this.#maxRemembered;
        if (over > 0) n += this.#q.pruneOldestSent(Math.min(over, PRUNE_BATCH));
        return n;
      });
      this.#sentRows = Math.max(0, this.#sentRows - removed);
    } catch {
      // Tried again a second later; a full disk shows in the next commit.
    }
  }

  #failed(err: Error): void {
    this.#writeErrors += 1;
    if (this.#degraded !== undefined) return;
    this.#degraded = err.message;
    this.#log.error(`Spool: cannot write ${this.#dir} (${err.message}); new alerts get 503 until a write succeeds.`, { event: 'spool-error' });
    this.#probe = setInterval(() => this.#tryWrite(), PROBE_EVERY_MS);
    this.#probe.unref();
  }

  #succeeded(): void {
    if (this.#degraded === undefined) return;
    this.#degraded = undefined;
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = undefined;
    this.#log.info(`Spool: writes to ${this.#dir} succeed again.`, { event: 'spool-ok' });
  }

  /** While degraded: commit what waits, or try a write of an alert's size. */
  #tryWrite(): void {
    if (this.#queue.length > 0 || this.#alerts.size > 0) return this.#flush();
    try {
      this.#q.probe();
      this.#succeeded();
    } catch {
      this.#writeErrors += 1;
    }
  }
}

function importLegacy(q: SqliteQueries, options: SqliteStoreOptions): number {
  const now = (options.now ?? Date.now)();
  const legacy = readLegacySpool(options.dir, now);
  q.transaction(() => {
    for (const record of legacy.unfinished) q.importAlert(record, 'pending', null, null);
    for (const { record, deadAt } of legacy.dead) q.importAlert(record, isFinished(record) ? 'dead' : 'pending', deadAt, isFinished(record) ? deadAt : null);
    for (const id of legacy.seen) q.importSeenId(id, now);
  });
  retireLegacySpool(options.dir);
  const count = legacy.unfinished.length + legacy.dead.length;
  options.log.info(
    `Spool ${options.dir}: imported ${count} alert(s) and ${legacy.seen.length} delivered id(s) from journal.log${legacy.damaged > 0 ? ` (${legacy.damaged} damaged record(s) skipped)` : ''}.`,
    { event: 'import', imported: count, seen: legacy.seen.length, damaged: legacy.damaged },
  );
  return count;
}
