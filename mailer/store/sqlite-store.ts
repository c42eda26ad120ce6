/**
 * The store on node:sqlite. The database work runs in a worker thread
 * (sqlite-worker.ts: the store's folder, its exclusive hold, each commit and
 * the fdatasync of the WAL after it), so the event loop that answers HTTP
 * spends no time in SQL or in a sync. Group commit: alerts admitted and
 * progress recorded while a commit is under way go to the worker together
 * when it is done, as one transaction; admit() resolves once the worker says
 * that transaction is committed and synced, and so does hubCommit() (a write
 * of the hub's that an HTTP answer waits for: a silence added or removed). A
 * failed sync leaves the database's durability unknown, so the mailer stops
 * (exit 1) and starts again from what SQLite has (what PostgreSQL does on a
 * failed fsync). A failed commit (disk full, I/O error) rejects the batch's
 * alerts and hubCommit() writes (HTTP 503), keeps
 * their progress records for the next commit, and marks the store degraded
 * until a write succeeds; a probe write every second finds out when space is
 * back. Unfinished alerts are also kept in memory (the dispatcher's working
 * set); finished ones stay in the database for the dedupe window, capped in
 * number, for duplicate checks and GET /alerts.
 */
import type { Logger } from '../../shared/logger.ts';
import type { NotifyEntry } from './store.ts';
import { incidentKey, type QueuedAlert } from '../queued-alert.ts';
import { applyProgress, isFinished, newRecord, type OutboxRecord, type SettledState, snapshotProgress } from './outbox.ts';
import type { AlertChange, CommitResult, WorkerRequest, WorkerSettings } from './sqlite-worker.ts';
import { WorkerClient } from './sqlite-worker-client.ts';
import { coalesceWrites, type HubSnapshot, type HubWrite, type IncidentQuery, type IncidentRecord } from '../hub/model.ts';
import type { Admitted, ListPage, ListQuery, Store, StoreHealth, StoreOptions } from './store.ts';

export interface SqliteStoreOptions extends StoreOptions {
  dir: string;
  log: Logger;
  /** Move a corrupt database aside and start empty (--store-recover). */
  recover?: boolean;
}

export interface OpenSummary {
  resumed: number;
  remembered: number;
  /** Alerts taken over from a store of the previous format (journal.log). */
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

const PROBE_EVERY_MS = 1000;
/**
 * Delivery progress and the hub's writes wait up to this long for alerts to
 * share their commit. Nobody waits on them; a commit of their own would put
 * every alert that arrives meanwhile one commit behind (under load the commits
 * alternated: one of alerts, one of their progress).
 */
const LINGER_MS = 5;

/** The channels of each queued alert for a commit: one list when they all have the same (sent once), else one per alert. */
function channelLists(queue: readonly Queued[]): Array<readonly string[]> {
  const first = queue[0]?.channels ?? [];
  const same = (c: readonly string[]): boolean => c === first || (c.length === first.length && c.every((name, i) => name === first[i]));
  return queue.every((q) => same(q.channels)) ? [first] : queue.map((q) => q.channels);
}

export const DEFAULT_MAX_REMEMBERED = 500_000;

export class SqliteStore implements Store {
  #worker!: WorkerClient;
  readonly #dir: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #pending = new Map<string, Entry>();
  /** Admitted, commit not yet done: a duplicate waits for this. */
  readonly #inflight = new Map<string, Promise<Admitted>>();
  #queue: Queued[] = [];
  #alerts = new Map<number, AlertChange>();
  /** The hub's writes waiting for the next commit. */
  #hub: HubWrite[] = [];
  /** The hub's writes an HTTP answer waits for (hubCommit): in the next commit, settled by it. */
  #hubAwaited: Array<{ write: HubWrite; resolve: () => void; reject: (err: Error) => void }> = [];
  /** A commit is with the worker: what comes meanwhile waits for it, then goes as one. */
  #committing = false;
  #scheduled = false;
  #linger: NodeJS.Timeout | undefined;
  /** Progress waits that must not linger (a channel whose repeat does harm): the next commit goes as soon as it can. */
  #urgent = false;
  #commits = 0;
  /** The worker's count of WAL syncs, as of its last answer. */
  #syncs = 0;
  #writeErrors = 0;
  #degraded: string | undefined;
  #probe: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: SqliteStoreOptions) {
    this.#dir = options.dir;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** Open the store (throws StoreOpenError), import a previous-format store, load what is unfinished. */
  static async open(options: SqliteStoreOptions): Promise<{ store: SqliteStore; summary: OpenSummary }> {
    const settings: WorkerSettings = {
      dir: options.dir,
      recover: options.recover ?? false,
      windowMs: options.dedupeWindowMs,
      maxRemembered: options.maxRemembered ?? DEFAULT_MAX_REMEMBERED,
      now: (options.now ?? Date.now)(),
    };
    const store = new SqliteStore(options);
    const { client, opened } = await WorkerClient.start(settings, options.log, (error) => store.#fatal(error));
    store.#worker = client;
    for (const row of opened.pending) store.#pending.set(row.record.item.alert.id, row);
    const summary: OpenSummary = { resumed: store.#pending.size, remembered: opened.remembered, imported: opened.imported };
    if (opened.movedAside) summary.movedAside = opened.movedAside;
    return { store, summary };
  }

  admit(item: QueuedAlert, channels: readonly string[]): Promise<Admitted> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    const id = item.alert.id;
    const inflight = this.#inflight.get(id);
    if (inflight) return inflight.then(() => ({ duplicate: true }));
    if (this.#pending.has(id)) return Promise.resolve({ duplicate: true });
    // An id kept from before is found by the insert itself, in the commit (sqlite-worker.ts).
    const done = new Promise<Admitted>((resolve, reject) => this.#queue.push({ item, channels, resolve, reject }));
    this.#inflight.set(id, done);
    this.#schedule(true);
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

  settle(id: string, channel: string, state: SettledState, error?: string, attempted = true, urgent = false): void {
    const entry = this.#pending.get(id);
    if (!entry || !applyProgress(entry.record, channel, { state, error, attempted })) return;
    if (state === 'dead' && entry.deadAt === null) entry.deadAt = this.#now();
    this.#changed(entry, urgent);
  }

  hold(id: string, channel: string, why: string | false): void {
    const entry = this.#pending.get(id);
    if (!entry || !applyProgress(entry.record, channel, why === false ? { state: 'pending', attempted: false } : { state: 'silenced', error: why, attempted: false })) return;
    this.#changed(entry, false);
  }

  hubWrite(write: HubWrite): void {
    if (this.#closed) return;
    this.#hub.push(write);
    this.#schedule();
  }

  hubCommit(write: HubWrite): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    const done = new Promise<void>((resolve, reject) => this.#hubAwaited.push({ write, resolve, reject }));
    this.#schedule(true);
    return done;
  }

  async hubLoad(): Promise<HubSnapshot> {
    return (await this.#worker.ask({ op: 'hub-load', n: 0, now: this.#now() })) as HubSnapshot;
  }

  async notifyLog(): Promise<NotifyEntry[]> {
    return (await this.#worker.ask({ op: 'notify-log', n: 0 })) as NotifyEntry[];
  }

  async incidents(query: IncidentQuery): Promise<IncidentRecord[]> {
    this.#flush();
    return (await this.#worker.ask({ op: 'incidents', n: 0, query })) as IncidentRecord[];
  }

  async list(query: ListQuery): Promise<ListPage> {
    this.#flush();
    return (await this.#worker.ask({ op: 'list', n: 0, query })) as ListPage;
  }

  health(): StoreHealth {
    const h: StoreHealth = { degraded: this.#degraded !== undefined, commits: this.#commits, syncs: this.#syncs, writeErrors: this.#writeErrors, pending: this.#pending.size };
    if (this.#degraded !== undefined) h.reason = this.#degraded;
    return h;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    while (this.#committing) await new Promise((resolve) => setImmediate(resolve));
    if (this.#waiting()) this.#flush();
    while (this.#committing) await new Promise((resolve) => setImmediate(resolve));
    this.#closed = true;
    if (this.#probe) clearInterval(this.#probe);
    await this.#worker.close();
  }

  #changed(entry: Entry, urgent: boolean): void {
    const finished = isFinished(entry.record);
    if (finished) this.#pending.delete(entry.record.item.alert.id);
    const state = !finished ? 'pending' : entry.deadAt !== null ? 'dead' : 'sent';
    const channels = snapshotProgress(entry.record.channels);
    const change: AlertChange = { channels, state, deadAt: entry.deadAt, finishedAt: finished ? this.#now() : null };
    // Each delivery is kept with the alert's incident too (hub_deliveries), for the status page.
    change.id = entry.record.item.alert.id;
    change.incident = incidentKey(entry.record.item);
    this.#alerts.set(entry.seq, change);
    if (urgent) {
      this.#urgent = true;
      this.#flush();
    } else this.#schedule();
  }

  /** A commit soon (an alert or an HTTP answer waits for it), or within LINGER_MS (progress, hub writes). */
  #schedule(soon = false): void {
    if (this.#scheduled || this.#closed || this.#committing) return; // a commit under way takes what waits when it is done
    if (soon) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    } else {
      this.#linger ??= setTimeout(() => this.#flush(), LINGER_MS);
    }
  }

  /** Send everything queued to the worker as one commit; settles every waiting admit when it answers. */
  #flush(): void {
    this.#scheduled = false;
    clearTimeout(this.#linger);
    this.#linger = undefined;
    if (this.#committing) return;
    this.#urgent = false;
    if (!this.#waiting()) return;
    const queue = this.#queue;
    const alerts = this.#alerts;
    const hub = this.#hub;
    const awaited = this.#hubAwaited;
    this.#queue = [];
    this.#alerts = new Map();
    this.#hub = [];
    this.#hubAwaited = [];
    this.#committing = true;
    const now = this.#now();
    const writes = awaited.length === 0 ? hub : [...hub, ...awaited.map((a) => a.write)];
    const request: WorkerRequest = { op: 'commit', n: 0, now, items: queue.map((q) => q.item), channels: channelLists(queue), changes: [...alerts], hub: coalesceWrites(writes) };
    this.#worker.ask(request).then(
      (value) => {
        const { seqs, syncs } = value as CommitResult;
        this.#commits += 1;
        this.#syncs = syncs;
        this.#succeeded();
        queue.forEach((q, i) => {
          const id = q.item.alert.id;
          const seq = seqs[i];
          // Owed by no channel (silenced, or no route matches it): kept as done.
          if (seq !== undefined && q.channels.length === 0) this.#alerts.set(seq, { channels: {}, state: 'sent', deadAt: null, finishedAt: now });
          else if (seq !== undefined) this.#pending.set(id, { record: newRecord(q.item, q.channels), seq, deadAt: null });
          this.#inflight.delete(id);
          q.resolve({ duplicate: seq === undefined });
        });
        for (const a of awaited) a.resolve();
        this.#committed();
      },
      (err: Error) => {
        // Progress is kept for the next commit, unless newer progress replaced it meanwhile.
        for (const [k, v] of alerts) if (!this.#alerts.has(k)) this.#alerts.set(k, v);
        this.#hub = [...hub, ...this.#hub];
        this.#failed(err);
        for (const q of queue) {
          this.#inflight.delete(q.item.alert.id);
          q.reject(err);
        }
        for (const a of awaited) a.reject(err);
        this.#committed();
      },
    );
  }

  /** A commit is answered: what came meanwhile goes next (while degraded, the probe timer sends it). */
  #committed(): void {
    this.#committing = false;
    if (this.#degraded !== undefined || this.#closed) return;
    if (this.#queue.length > 0 || this.#hubAwaited.length > 0 || this.#urgent) this.#flush();
    else if (this.#alerts.size > 0 || this.#hub.length > 0) this.#schedule();
  }

  /** Whether anything waits for a commit. */
  #waiting(): boolean {
    return this.#queue.length > 0 || this.#alerts.size > 0 || this.#hub.length > 0 || this.#hubAwaited.length > 0;
  }

  #fatal(error: string): never {
    this.#log.error(`Store ${this.#dir}: ${error}; stopping, to start again from what is on disk.`, { event: 'store-error' });
    process.exit(1);
  }

  #failed(err: Error): void {
    this.#writeErrors += 1;
    if (this.#degraded !== undefined) return;
    this.#degraded = err.message;
    this.#log.error(`Store: cannot write ${this.#dir} (${err.message}); new alerts get 503 until a write succeeds.`, { event: 'store-error' });
    this.#probe = setInterval(() => this.#tryWrite(), PROBE_EVERY_MS);
    this.#probe.unref();
  }

  #succeeded(): void {
    if (this.#degraded === undefined) return;
    this.#degraded = undefined;
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = undefined;
    this.#log.info(`Store: writes to ${this.#dir} succeed again.`, { event: 'store-ok' });
  }

  /** While degraded: commit what waits, or try a write of an alert's size. */
  #tryWrite(): void {
    if (this.#committing) return;
    if (this.#waiting()) return this.#flush();
    this.#committing = true;
    this.#worker.ask({ op: 'probe', n: 0 }).then(
      () => {
        this.#succeeded();
        this.#committed();
      },
      () => {
        this.#writeErrors += 1;
        this.#committing = false;
      },
    );
  }
}
