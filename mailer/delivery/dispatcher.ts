/**
 * Delivers each accepted alert through every channel, each on its own: a slow
 * or failing channel never delays another channel or the intake. A transient
 * failure is retried with exponential backoff and jitter (honouring a
 * channel's Retry-After) until --max-retry-age; a permanent failure, or one
 * past that age, is dead-lettered with its reason and logged. Nothing is
 * dropped silently.
 *
 * Each channel has its own queue (keyed-queue.ts):
 * - at most `channel.concurrency` sends under way at once (its connection
 *   pool's size), so nothing waits inside nodemailer's or undici's queue
 *   while the send's deadline runs;
 * - per target, one alert at a time, in the order they were accepted: an "up"
 *   is never delivered before the "down" it closes. A down still owed (being
 *   retried) when its up arrives is still delivered first, then the up;
 *   neither is dropped. A down that is dead-lettered lets the up go on.
 * - a send that outlives --send-timeout has its AbortSignal aborted, and the
 *   dispatcher waits until the channel has settled it before it retries:
 *   a send given up on cannot go out beside its retry.
 */
import { backoffDelay, type BackoffPolicy } from '../../shared/backoff.ts';
import type { Logger } from '../../shared/logger.ts';
import { type SendResult, transient } from '../../shared/send-result.ts';
import type { Channel } from './channels/channel.ts';
import { KeyedQueue, type RunOutcome } from './keyed-queue.ts';
import type { Outbox, OutboxRecord } from '../store/outbox.ts';
import type { QueuedAlert } from '../queued-alert.ts';

export interface DispatcherOptions {
  channels: readonly Channel[];
  outbox: Outbox;
  log: Logger;
  maxRetryAgeMs: number;
  /** Longest a single send may take before it is cancelled and counts as a transient failure. */
  sendTimeoutMs?: number;
  backoff?: BackoffPolicy;
  now?: () => number;
}

const DEFAULT_POLICY: BackoffPolicy = { baseMs: 1000, maxMs: 5 * 60_000, jitter: 1 };
/** Sends at once on a channel that does not say (log, file). */
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_SEND_TIMEOUT_MS = 120_000;

interface Job {
  item: QueuedAlert;
  channel: Channel;
  attempt: number;
}

/** Alerts about one target keep their order; an alert without a target is on its own. */
function orderKey(job: Job): string {
  const { target, id } = job.item.alert;
  return target !== undefined ? `t:${target}` : `id:${id}`;
}

export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #queues = new Map<string, KeyedQueue<Job>>();
  readonly #sending = new Set<AbortController>();
  #closed = false;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    for (const channel of options.channels) {
      this.#queues.set(
        channel.name,
        new KeyedQueue<Job>({ limit: channel.concurrency ?? DEFAULT_CONCURRENCY, key: orderKey, run: (job) => this.#attempt(job) }),
      );
    }
  }

  get channelNames(): string[] {
    return this.#options.channels.map((c) => c.name);
  }

  /** Deliveries not finished: under way, queued, or waiting for a retry. */
  get active(): number {
    let n = 0;
    for (const queue of this.#queues.values()) n += queue.size;
    return n;
  }

  submit(item: QueuedAlert): void {
    if (this.#closed) return;
    const record = this.#options.outbox.get(item.alert.id);
    for (const channel of this.#options.channels) {
      const state = record?.channels[channel.name];
      // A resumed alert goes only to the channels that still owe it.
      if (record && (!state || state.state !== 'pending')) continue;
      this.#queues.get(channel.name)?.add({ item, channel, attempt: (state?.attempts ?? 0) + 1 });
    }
  }

  /**
   * Take up deliveries a previous run left unfinished (from the spool), oldest
   * first. A channel that is no longer configured cannot deliver: its share
   * is dead-lettered with that reason, so nothing waits forever unseen.
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

  /**
   * At shutdown: start nothing more, cancel the sends under way, and wait
   * until each has settled (and its outcome is recorded) before the channels
   * let go of their connections. What is not delivered stays owed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const controller of this.#sending) controller.abort(new Error('the mailer is stopping'));
    await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
    await Promise.allSettled(this.#options.channels.map((c) => c.close?.()));
  }

  async #attempt(job: Job): Promise<RunOutcome> {
    const { item, channel, attempt } = job;
    const { outbox, log } = this.#options;
    const id = item.alert.id;
    const result = await this.#send(channel, item);
    if (result.ok) {
      outbox.settle(id, channel.name, 'delivered', undefined, true, !channel.repeatIsHarmless);
      if (channel.name !== 'log') log.info(`Delivered alert ${id} via ${channel.name}.`, { event: 'delivered', id, channel: channel.name, attempt, detail: result.detail });
      return undefined;
    }
    const now = this.#options.now?.() ?? Date.now();
    const age = now - item.receivedAt;
    if (!result.retry || age >= this.#options.maxRetryAgeMs) {
      const why = result.retry ? `still failing after ${Math.round(age / 1000)}s: ${result.error}` : result.error;
      outbox.settle(id, channel.name, 'dead', why);
      log.error(`Alert ${id} not delivered via ${channel.name} (dead letter): ${why}`, { event: 'dead', id, channel: channel.name, attempt });
      return undefined;
    }
    outbox.attempted(id, channel.name, result.error);
    if (this.#closed) return 0; // stays owed; the queue is closed and starts nothing more
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
    job.attempt += 1;
    return delay;
  }

  /**
   * One send, cancelled (its signal aborted) when it outlives the timeout.
   * It resolves only once the channel has settled the send, so that a retry
   * can never run beside a send that may still go out.
   */
  async #send(channel: Channel, item: QueuedAlert): Promise<SendResult> {
    const limit = this.#options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no answer within ${Math.round(limit / 1000)}s`));
    }, limit);
    this.#sending.add(controller);
    if (this.#closed) controller.abort(new Error('the mailer is stopping'));
    try {
      const result = await channel.send(item, { signal: controller.signal });
      if (!result.ok && timedOut) return transient(`no answer within ${limit >= 1000 ? `${Math.round(limit / 1000)}s` : `${limit}ms`} (send cancelled)`);
      return result;
    } catch (err) {
      return transient(`channel threw: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.#sending.delete(controller);
    }
  }
}
