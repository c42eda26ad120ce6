/**
 * A store in memory only, for tests of the parts around the store (the
 * dispatcher): the same records and dead letters as the SQLite store, no
 * disk. put/has/dead are shorthands those tests use.
 */
import { applyProgress, isFinished, newRecord, type OutboxRecord, type SettledState } from '../../mailer/store/outbox.ts';
import type { Admitted, ListedAlert, ListPage, ListQuery, Store, StoreHealth } from '../../mailer/store/store.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import type { NotifyEntry } from '../../mailer/store/store.ts';
import { type HubSnapshot, type HubWrite, type IncidentQuery, type IncidentRecord, NO_BUCKETS } from '../../mailer/hub/model.ts';

interface Kept {
  record: OutboxRecord;
  seq: number;
  deadAt?: number;
  finishedAt?: number;
}

export class MemoryOutbox implements Store {
  readonly #all = new Map<string, Kept>();
  #seq = 0;
  #commits = 0;

  async admit(item: QueuedAlert, channels: readonly string[]): Promise<Admitted> {
    if (this.#all.has(item.alert.id)) return { duplicate: true };
    this.#all.set(item.alert.id, { record: newRecord(item, channels), seq: ++this.#seq });
    this.#commits += 1;
    return { duplicate: false };
  }

  async put(item: QueuedAlert, channels: readonly string[]): Promise<void> {
    await this.admit(item, channels);
  }

  has(id: string): boolean {
    return this.#all.has(id);
  }

  get(id: string): OutboxRecord | undefined {
    const kept = this.#all.get(id);
    return kept && kept.finishedAt === undefined ? kept.record : undefined;
  }

  unfinished(): OutboxRecord[] {
    return [...this.#all.values()].filter((k) => k.finishedAt === undefined).map((k) => k.record);
  }

  attempted(id: string, channel: string, error?: string): void {
    const kept = this.#all.get(id);
    if (kept && kept.finishedAt === undefined) applyProgress(kept.record, channel, { error, attempted: true });
  }

  hold(id: string, channel: string, why: string | false): void {
    const kept = this.#all.get(id);
    if (kept && kept.finishedAt === undefined) applyProgress(kept.record, channel, why === false ? { state: 'pending', attempted: false } : { state: 'silenced', error: why, attempted: false });
  }

  settle(id: string, channel: string, state: SettledState, error?: string, attempted = true): void {
    const kept = this.#all.get(id);
    if (!kept || kept.finishedAt !== undefined || !applyProgress(kept.record, channel, { state, error, attempted })) return;
    if (state === 'dead') kept.deadAt ??= Date.now();
    if (isFinished(kept.record)) kept.finishedAt = Date.now();
  }

  /** The hub's writes, in order (none are read back). */
  readonly hubWrites: HubWrite[] = [];

  hubWrite(write: HubWrite): void {
    this.hubWrites.push(write);
  }

  async hubCommit(write: HubWrite): Promise<void> {
    this.hubWrites.push(write);
    this.#commits += 1;
  }

  async hubLoad(): Promise<HubSnapshot> {
    return { agents: [], targets: [], buckets: NO_BUCKETS, open: [], silences: [] };
  }

  async notifyLog(): Promise<NotifyEntry[]> {
    return [];
  }

  async incidents(_query: IncidentQuery): Promise<IncidentRecord[]> {
    return [];
  }

  async list(query: ListQuery): Promise<ListPage> {
    const matches = [...this.#all.values()]
      .filter((k) =>
        query.state === 'dead'
          ? k.deadAt !== undefined
          : query.state === 'pending'
            ? k.finishedAt === undefined
            : query.state === 'silenced'
              ? k.finishedAt === undefined && Object.values(k.record.channels).some((c) => c.state === 'silenced')
              : k.finishedAt !== undefined && k.deadAt === undefined,
      )
      .sort((a, b) => b.seq - a.seq);
    const before = query.cursor === undefined ? Infinity : Number(query.cursor);
    const page = matches.filter((k) => k.seq < before).slice(0, query.limit);
    const alerts = page.map((k): ListedAlert => {
      const { alert, line, via, receivedAt } = k.record.item;
      const listed: ListedAlert = { id: alert.id, alert, line, via, receivedAt: new Date(receivedAt).toISOString(), channels: structuredClone(k.record.channels) };
      if (k.deadAt !== undefined) listed.deadAt = new Date(k.deadAt).toISOString();
      if (k.finishedAt !== undefined) listed.finishedAt = new Date(k.finishedAt).toISOString();
      return listed;
    });
    const out: ListPage = { state: query.state, total: matches.length, alerts };
    if (page.length === query.limit) out.next = String(page.at(-1)!.seq);
    return out;
  }

  /** Dead letters, newest first (the shape tests of the dispatcher read). */
  async dead(limit: number): Promise<{ total: number; letters: ListedAlert[] }> {
    const page = await this.list({ state: 'dead', limit });
    return { total: page.total, letters: page.alerts };
  }

  health(): StoreHealth {
    return { degraded: false, commits: this.#commits, syncs: this.#commits, writeErrors: 0, pending: this.unfinished().length };
  }

  async close(): Promise<void> {}
}
