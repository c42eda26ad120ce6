/**
 * The outbox: every accepted alert and where each channel stands with it.
 * It also remembers alert ids, so an alert resent with a known id is
 * acknowledged and not delivered twice. The mailer runs on the durable
 * spool (spool.ts); MemoryOutbox keeps the same records in memory only, for
 * tests of the parts around it.
 */
import type { DeadLetter } from './dead-letters.ts';
import type { QueuedAlert } from '../queued-alert.ts';

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
  /**
   * The channel is done with the alert; `attempted` counts the attempt that ended it;
   * `urgent` records it at once rather than with the rest of the event-loop turn.
   */
  settle(id: string, channel: string, state: Exclude<DeliveryState, 'pending'>, error?: string, attempted?: boolean, urgent?: boolean): void;
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

/**
 * What every outbox does with its records in memory: unfinished ones by id,
 * finished ones remembered by id only. Subclasses keep the records (put),
 * hear of every change (changed) and of dead letters (deadLettered).
 */
export abstract class RecordKeeper implements Outbox {
  protected readonly records = new Map<string, OutboxRecord>();
  protected readonly finished: RememberedIds;

  constructor(maxRemembered: number) {
    this.finished = new RememberedIds(maxRemembered);
  }

  abstract put(item: QueuedAlert, channels: readonly string[]): Promise<void>;
  abstract dead(limit: number): Promise<DeadList>;
  abstract close(): Promise<void>;
  /** A channel's state of the alert changed; `urgent`: record it now. */
  protected abstract changed(id: string, channel: string, urgent: boolean): void;
  /** The alert has a dead channel; its dead letter should show the record as it is now. */
  protected abstract deadLettered(record: OutboxRecord): void;

  has(id: string): boolean {
    return this.records.has(id) || this.finished.has(id);
  }

  get(id: string): OutboxRecord | undefined {
    return this.records.get(id);
  }

  unfinished(): OutboxRecord[] {
    return [...this.records.values()];
  }

  attempted(id: string, channel: string, error?: string): void {
    const state = this.records.get(id)?.channels[channel];
    if (!state) return;
    state.attempts += 1;
    if (error !== undefined) state.error = error;
    this.changed(id, channel, false);
  }

  settle(id: string, channel: string, state: Exclude<DeliveryState, 'pending'>, error?: string, attempted = true, urgent = false): void {
    const record = this.records.get(id);
    const entry = record?.channels[channel];
    if (!record || !entry) return;
    entry.state = state;
    if (attempted) entry.attempts += 1;
    if (error !== undefined) entry.error = error;
    this.changed(id, channel, urgent);
    // The dead letter shows every channel: written when one dies, again as the others settle.
    if (Object.values(record.channels).some((c) => c.state === 'dead')) this.deadLettered(record);
    if (isFinished(record)) {
      this.records.delete(id);
      this.finished.add(id);
    }
  }
}

export class MemoryOutbox extends RecordKeeper {
  readonly #dead: DeadLetter[] = [];

  constructor(maxRemembered = 100_000) {
    super(maxRemembered);
  }

  async put(item: QueuedAlert, channels: readonly string[]): Promise<void> {
    this.records.set(item.alert.id, newRecord(item, channels));
  }

  async dead(limit: number): Promise<DeadList> {
    return { total: this.#dead.length, letters: this.#dead.slice(0, limit), unreadable: [] };
  }

  async close(): Promise<void> {}

  protected changed(): void {}

  protected deadLettered(record: OutboxRecord): void {
    const { alert, line, via, receivedAt } = record.item;
    const at = this.#dead.findIndex((d) => d.id === alert.id);
    if (at >= 0) this.#dead.splice(at, 1);
    this.#dead.unshift({ id: alert.id, deadAt: new Date().toISOString(), alert, line, via, receivedAt: new Date(receivedAt).toISOString(), channels: structuredClone(record.channels) });
  }
}
