/**
 * The outbox: every accepted alert and where each channel stands with it.
 * It also remembers alert ids, so an alert resent with a known id is
 * acknowledged and not delivered twice. This one keeps its records in
 * memory; the spool that survives a restart implements the same interface.
 */
import type { QueuedAlert } from './queued-alert.ts';

export type DeliveryState = 'pending' | 'delivered' | 'dead';

export interface OutboxRecord {
  item: QueuedAlert;
  channels: Record<string, { state: DeliveryState; attempts: number; error?: string }>;
}

export interface Outbox {
  /** True when an alert with this id was accepted before. */
  has(id: string): boolean;
  /** Keep an accepted alert; resolves once it is safely kept. */
  put(item: QueuedAlert, channels: readonly string[]): Promise<void>;
  attempted(id: string, channel: string, error?: string): void;
  settle(id: string, channel: string, state: Exclude<DeliveryState, 'pending'>, error?: string): void;
  get(id: string): OutboxRecord | undefined;
  /** Alerts some channel still has to deliver. */
  unfinished(): OutboxRecord[];
}

export class MemoryOutbox implements Outbox {
  readonly #records = new Map<string, OutboxRecord>();
  readonly #maxRemembered: number;

  constructor(maxRemembered = 100_000) {
    this.#maxRemembered = maxRemembered;
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  async put(item: QueuedAlert, channels: readonly string[]): Promise<void> {
    const record: OutboxRecord = { item, channels: {} };
    for (const name of channels) record.channels[name] = { state: 'pending', attempts: 0 };
    this.#records.set(item.alert.id, record);
    this.#forgetOldest();
  }

  attempted(id: string, channel: string, error?: string): void {
    const state = this.#records.get(id)?.channels[channel];
    if (!state) return;
    state.attempts += 1;
    if (error !== undefined) state.error = error;
  }

  settle(id: string, channel: string, state: Exclude<DeliveryState, 'pending'>, error?: string): void {
    const entry = this.#records.get(id)?.channels[channel];
    if (!entry) return;
    entry.state = state;
    if (error !== undefined) entry.error = error;
  }

  get(id: string): OutboxRecord | undefined {
    return this.#records.get(id);
  }

  unfinished(): OutboxRecord[] {
    return [...this.#records.values()].filter((r) => Object.values(r.channels).some((c) => c.state === 'pending'));
  }

  /** Forget the oldest finished records beyond the bound; unfinished ones stay. */
  #forgetOldest(): void {
    if (this.#records.size <= this.#maxRemembered) return;
    for (const [id, record] of this.#records) {
      if (this.#records.size <= this.#maxRemembered) break;
      if (Object.values(record.channels).every((c) => c.state !== 'pending')) this.#records.delete(id);
    }
  }
}
