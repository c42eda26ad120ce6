/**
 * The outbox: every accepted alert and where each channel stands with it.
 * It also remembers alert ids, so an alert resent with a known id is
 * acknowledged and not delivered twice. The mailer runs on the durable
 * spool (spool.ts); MemoryOutbox keeps the same records in memory only, for
 * tests of the parts around it.
 */
import type { DeadLetter } from './dead-letters.ts';
import type { QueuedAlert } from './queued-alert.ts';

export type DeliveryState = 'pending' | 'delivered' | 'dead';

export interface ChannelState {
  state: DeliveryState;
  attempts: number;
  error?: string;
}

export interface OutboxRecord {
  item: QueuedAlert;
  channels: Record<string, ChannelState>;
}

export interface DeadList {
  total: number;
  letters: DeadLetter[];
  unreadable: string[];
}

export interface Outbox {
  /** True when an alert with this id was accepted before. */
  has(id: string): boolean;
  /** Keep an accepted alert; resolves once it is safely kept (on disk, for the spool). */
  put(item: QueuedAlert, channels: readonly string[]): Promise<void>;
  /** A failed attempt that will be retried. */
  attempted(id: string, channel: string, error?: string): void;
  /** The channel is done with the alert; `attempted` counts the attempt that ended it. */
  settle(id: string, channel: string, state: Exclude<DeliveryState, 'pending'>, error?: string, attempted?: boolean): void;
  /** An alert some channel has still to deliver. */
  get(id: string): OutboxRecord | undefined;
  /** Alerts some channel still has to deliver, oldest first. */
  unfinished(): OutboxRecord[];
  /** Alerts a channel gave up on, newest first. */
  dead(limit: number): Promise<DeadList>;
  /** Write what is pending and let go of files. */
  close(): Promise<void>;
}

export function isFinished(record: OutboxRecord): boolean {
  return Object.values(record.channels).every((c) => c.state !== 'pending');
}

export function newRecord(item: QueuedAlert, channels: readonly string[]): OutboxRecord {
  const record: OutboxRecord = { item, channels: {} };
  for (const name of channels) record.channels[name] = { state: 'pending', attempts: 0 };
  return record;
}

/** Ids of finished alerts, oldest forgotten first beyond a bound. */
export class RememberedIds {
  readonly #ids = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#ids.size;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string): void {
    this.#ids.delete(id);
    this.#ids.add(id);
    if (this.#ids.size > this.#max) {
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
  }

  values(): IterableIterator<string> {
    return this.#ids.values();
  }
}

export class MemoryOutbox implements Outbox {
  readonly #records = new Map<string, OutboxRecord>();
  readonly #finished: RememberedIds;
  readonly #dead: DeadLetter[] = [];

  constructor(maxRemembered = 100_000) {
    this.#finished = new RememberedIds(maxRemembered);
  }

  has(id: string): boolean {
    return this.#records.has(id) || this.#finished.has(id);
  }

  async put(item: QueuedAlert, channels: readonly string[]): Promise<void> {
    this.#records.set(item.alert.id, newRecord(item, channels));
  }

  attempted(id: string, channel: string, error?: string): void {
    const state = this.#records.get(id)?.channels[channel];
    if (!state) return;
    state.attempts += 1;
    if (error !== undefined) state.error = error;
  }

  settle(id: string, channel: string, state: Exclude<DeliveryState, 'pending'>, error?: string, attempted = true): void {
    const record = this.#records.get(id);
    const entry = record?.channels[channel];
    if (!record || !entry) return;
    entry.state = state;
    if (attempted) entry.attempts += 1;
    if (error !== undefined) entry.error = error;
    if (Object.values(record.channels).some((c) => c.state === 'dead')) {
      const { alert, line, via, receivedAt } = record.item;
      const letter = { id, deadAt: new Date().toISOString(), alert, line, via, receivedAt: new Date(receivedAt).toISOString(), channels: structuredClone(record.channels) };
      const at = this.#dead.findIndex((d) => d.id === id);
      if (at >= 0) this.#dead.splice(at, 1);
      this.#dead.unshift(letter);
    }
    if (!isFinished(record)) return;
    this.#records.delete(id);
    this.#finished.add(id);
  }

  get(id: string): OutboxRecord | undefined {
    return this.#records.get(id);
  }

  unfinished(): OutboxRecord[] {
    return [...this.#records.values()];
  }

  async dead(limit: number): Promise<DeadList> {
    return { total: this.#dead.length, letters: this.#dead.slice(0, limit), unreadable: [] };
  }

  async close(): Promise<void> {}
}
