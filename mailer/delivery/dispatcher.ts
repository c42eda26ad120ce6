/**
 * Delivers each accepted alert through every channel, each on its own: a slow
 * or failing channel never delays another channel or the intake. A transient
 * failure is retried with exponential backoff and jitter (honouring a
 * channel's Retry-After) until --max-retry-age; a permanent failure, or one
 * past that age, is dead-lettered with its reason and logged. Nothing is
 * dropped silently.
 */
import { backoffDelay, type BackoffPolicy } from '../../shared/backoff.ts';
import type { Logger } from '../../shared/logger.ts';
import { type SendResult, transient } from '../../shared/send-result.ts';
import type { Channel } from './channels/channel.ts';
import type { Outbox, OutboxRecord } from '../store/outbox.ts';
import type { QueuedAlert } from '../queued-alert.ts';

export interface DispatcherOptions {
  channels: readonly Channel[];
  outbox: Outbox;
  log: Logger;
  maxRetryAgeMs: number;
  /** Longest a single send may take before it counts as a transient failure. */
  sendTimeoutMs?: number;
  backoff?: BackoffPolicy;
  now?: () => number;
}

const DEFAULT_POLICY: BackoffPolicy = { baseMs: 1000, maxMs: 5 * 60_000, jitter: 1 };

export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  #inFlight = 0;
  #closed = false;

  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  get channelNames(): string[] {
    return this.#options.channels.map((c) => c.name);
  }

  /** Sends and retries under way or waiting. */
  get active(): number {
    return this.#inFlight + this.#timers.size;
  }

  submit(item: QueuedAlert): void {
    const record = this.#options.outbox.get(item.alert.id);
    for (const channel of this.#options.channels) {
      const state = record?.channels[channel.name];
      // A resumed alert goes only to the channels that still owe it.
      if (record && (!state || state.state !== 'pending')) continue;
      void this.#attempt(item, channel, (state?.attempts ?? 0) + 1);
    }
  }

  /**
   * Take up deliveries a previous run left unfinished (from the spool). A
   * channel that is no longer configured cannot deliver: its share is
   * dead-lettered with that reason, so nothing waits forever unseen.
   */
  resume(records: readonly OutboxRecord[]): number {
    const configured = new Set(this.channelNames);
    const { outbox, log } = this.#options;
    let resumed = 0;
    for (const record of records) {
      const id = record.item.alert.id;
      for (const [name, state] of Object.entries(record.channels)) {
        if (state.state !== 'pending' || configured.has(name)) continue;
        const why = `channel ${name} is no longer configured`;
        outbox.settle(id, name, 'dead', why, false);
        log.error(`Alert ${id} not delivered via ${name} (dead letter): ${why}`, { event: 'dead', id, channel: name });
      }
      if (outbox.get(id)) {
        this.submit(record.item);
        resumed += 1;
      }
    }
    return resumed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled(this.#options.channels.map((c) => c.close?.()));
  }

  async #attempt(item: QueuedAlert, channel: Channel, attempt: number): Promise<void> {
    if (this.#closed) return;
    const { outbox, log } = this.#options;
    const id = item.alert.id;
    this.#inFlight += 1;
    let result: SendResult;
    try {
      result = await this.#sendWithTimeout(channel, item);
    } catch (err) {
      result = transient(`channel threw: ${(err as Error).message}`);
    } finally {
      this.#inFlight -= 1;
    }
    if (result.ok) {
      outbox.settle(id, channel.name, 'delivered', undefined, true, !channel.repeatIsHarmless);
      if (channel.name !== 'log') log.info(`Delivered alert ${id} via ${channel.name}.`, { event: 'delivered', id, channel: channel.name, attempt, detail: result.detail });
      return;
    }
    const now = this.#options.now?.() ?? Date.now();
    const age = now - item.receivedAt;
    if (!result.retry || age >= this.#options.maxRetryAgeMs) {
      const why = result.retry ? `still failing after ${Math.round(age / 1000)}s: ${result.error}` : result.error;
      outbox.settle(id, channel.name, 'dead', why);
      log.error(`Alert ${id} not delivered via ${channel.name} (dead letter): ${why}`, { event: 'dead', id, channel: channel.name, attempt });
      return;
    }
    outbox.attempted(id, channel.name, result.error);
    const delay = Math.min(
      Math.max(result.retryAfterMs ?? 0, backoffDelay(attempt, this.#options.backoff ?? DEFAULT_POLICY)),
      Math.max(0, this.#options.maxRetryAgeMs - age),
    );
    log.warn(`Alert ${id} via ${channel.name} failed: ${result.error}; retry ${attempt} in ${(delay / 1000).toFixed(1)}s.`, {
      event: 'retry',
      id,
      channel: channel.name,
      attempt,
    });
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#attempt(item, channel, attempt + 1);
    }, delay);
    this.#timers.add(timer);
  }

  #sendWithTimeout(channel: Channel, item: QueuedAlert): Promise<SendResult> {
    const limit = this.#options.sendTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<SendResult>((resolve) => {
      timer = setTimeout(() => resolve(transient(`no answer within ${Math.round(limit / 1000)}s`)), limit);
    });
    return Promise.race([channel.send(item), timeout]).finally(() => clearTimeout(timer));
  }
}
