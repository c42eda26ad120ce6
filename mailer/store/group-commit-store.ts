/**
 * The Store that both implementations share (sqlite-store.ts, postgres-store.ts):
 * the working set of unfinished alerts in memory (the dispatcher's Outbox) and
 * group commit. Alerts admitted and progress recorded while a commit is under
 * way go to the database together when it is done, as one transaction (a
 * CommitBatch, which the implementation's StoreBackend writes); admit()
 * resolves once the backend says that transaction is committed and synced,
 * and so does hubCommit() (a write of the hub's that an HTTP answer waits for:
 * a silence added or removed). A failed commit (disk full, I/O error, the
 * database unreachable) rejects the batch's alerts and hubCommit() writes
 * (HTTP 503), keeps their progress records for the next commit, and marks the
 * store degraded until a write succeeds; a probe write every second finds out
 * when the database takes writes again. What the backend cannot vouch for (a
 * failed sync, a lost hold on the store) stops the mailer (fatal, exit 1),
 * which starts again from what the database has.
 */
import type { Logger } from '../../shared/logger.ts';
import { incidentKey, type QueuedAlert } from '../queued-alert.ts';
import { applyProgress, isFinished, newRecord, type OutboxRecord, type SettledState, snapshotProgress } from './outbox.ts';
import { coalesceWrites, type HubSnapshot, type HubWrite, type IncidentQuery, type IncidentRecord } from '../hub/model.ts';
import type { AlertChange, CommitBatch, PendingRow, StoreBackend } from './store-backend.ts';
import type { Admitted, ListPage, ListQuery, NotifyEntry, Store, StoreHealth } from './store.ts';

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

export class GroupCommitStore implements Store {
  #backend!: StoreBackend;
  /** The store as log lines name it: a folder, or a URL without its password. */
  readonly #label: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #pending = new Map<string, PendingRow>();
  /** Admitted, commit not yet done: a duplicate waits for this. */
  readonly #inflight = new Map<string, Promise<Admitted>>();
  #queue: Queued[] = [];
  #alerts = new Map<number, AlertChange>();
  /** The hub's writes waiting for the next commit. */
  #hub: HubWrite[] = [];
  /** The hub's writes an HTTP answer waits for (hubCommit): in the next commit, settled by it. */
  #hubAwaited: Array<{ write: HubWrite; resolve: () => void; reject: (err: Error) => void }> = [];
  /** A commit is with the backend: what comes meanwhile waits for it, then goes as one. */
  #committing = false;
  #scheduled = false;
  #linger: NodeJS.Timeout | undefined;
  /** Progress waits that must not linger (a channel whose repeat does harm): the next commit goes as soon as it can. */
  #urgent = false;
  #commits = 0;
  /** The backend's count of syncs, as of its last answer. */
  #syncs = 0;
  #writeErrors = 0;
  #degraded: string | undefined;
  #probe: NodeJS.Timeout | undefined;
  #closed = false;

  protected constructor(label: string, log: Logger, now: () => number) {
    this.#label = label;
    this.#log = log;
    this.#now = now;
  }

  /** Start on this backend with the unfinished alerts it holds (once, from the implementation's open). */
  protected start(backend: StoreBackend, pending: readonly PendingRow[]): void {
    this.#backend = backend;
    for (const row of pending) this.#pending.set(row.record.item.alert.id, row);
  }

  admit(item: QueuedAlert, channels: readonly string[]): Promise<Admitted> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    const id = item.alert.id;
    const inflight = this.#inflight.get(id);
    if (inflight) return inflight.then(() => ({ duplicate: true }));
    if (this.#pending.has(id)) return Promise.resolve({ duplicate: true });
    // An id kept from before is found by the insert itself, in the commit.
    const done = new Promise<Admitted>((resolve, reject) => this.#queue.push({ item, channels, resolve, reject }));
    this.#inflight.set(id, done);
    this.#schedule(true);
    return done;
  }

  /** The working set, by alert id (postgres-claims.ts adds what it takes over and drops what it lost). */
  protected get working(): Map<string, PendingRow> {
    return this.#pending;
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

  hubLoad(): Promise<HubSnapshot> {
    return this.#backend.hubLoad(this.#now());
  }

  notifyLog(): Promise<NotifyEntry[]> {
    return this.#backend.notifyLog();
  }

  incidents(query: IncidentQuery): Promise<IncidentRecord[]> {
    this.#flush();
    return this.#backend.incidents(query);
  }

  list(query: ListQuery): Promise<ListPage> {
    this.#flush();
    return this.#backend.list(query);
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
    await this.#backend.close();
  }

  /** The database's state is unknown (a failed sync) or no longer this store's: stop, to start again from what it has. */
  protected fatal(error: string): never {
    this.#log.error(`Store ${this.#label}: ${error}; stopping, to start again from what the store holds.`, { event: 'store-error' });
    process.exit(1);
  }

  #changed(entry: PendingRow, urgent: boolean): void {
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

  /** Send everything queued to the backend as one commit; settles every waiting admit when it answers. */
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
    const batch: CommitBatch = { now, items: queue.map((q) => q.item), channels: channelLists(queue), changes: [...alerts], hub: coalesceWrites(writes) };
    this.#backend.commit(batch).then(
      ({ seqs, syncs, adopted }) => {
        this.#commits += 1;
        this.#syncs = syncs;
        this.#succeeded();
        queue.forEach((q, i) => {
          const id = q.item.alert.id;
          const seq = seqs[i];
          // Owed by no channel (silenced, or no route matches it): kept as done.
          if (seq !== undefined && q.channels.length === 0) this.#alerts.set(seq, { channels: {}, state: 'sent', deadAt: null, finishedAt: now });
          else if (seq !== undefined) this.#pending.set(id, adopted?.[i] ?? { record: newRecord(q.item, q.channels), seq, deadAt: null });
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

  #failed(err: Error): void {
    this.#writeErrors += 1;
    if (this.#degraded !== undefined) return;
    this.#degraded = err.message;
    this.#log.error(`Store: cannot write ${this.#label} (${err.message}); new alerts get 503 until a write succeeds.`, { event: 'store-error' });
    this.#probe = setInterval(() => this.#tryWrite(), PROBE_EVERY_MS);
    this.#probe.unref();
  }

  #succeeded(): void {
    if (this.#degraded === undefined) return;
    this.#degraded = undefined;
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = undefined;
    this.#log.info(`Store: writes to ${this.#label} succeed again.`, { event: 'store-ok' });
  }

  /** While degraded: commit what waits, or try a write of an alert's size. */
  #tryWrite(): void {
    if (this.#committing) return;
    if (this.#waiting()) return this.#flush();
    this.#committing = true;
    this.#backend.probe().then(
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
