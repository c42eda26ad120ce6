/**
 * The dispatcher's record stage (stage 7, dispatcher.ts): one attempt's
 * outcome on one channel, kept. Delivered: settled, and the nflog noted
 * (notify-log.ts). A permanent failure, or a transient one past
 * --max-retry-age: dead-lettered with its reason. Else the attempt is
 * counted and the delay before the next one given: exponential backoff with
 * jitter, at least the channel's Retry-After, never past the retry age.
 */
import { backoffDelay, type BackoffPolicy } from '../../shared/backoff.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SendResult } from '../../shared/send-result.ts';
import type { Channel } from './channels/channel.ts';
import type { RunOutcome } from './keyed-queue.ts';
import type { NotifyLog } from './notify-log.ts';
import type { Outbox } from '../store/outbox.ts';
import type { QueuedAlert } from '../queued-alert.ts';

export const DEFAULT_POLICY: BackoffPolicy = { baseMs: 1000, maxMs: 5 * 60_000, jitter: 1 };

/** One alert's delivery on one channel. */
export interface Job {
  item: QueuedAlert;
  channel: Channel;
  attempt: number;
  /** The alert's generation when the job was made: one forgotten since is dropped. */
  gen: number;
}

export interface RecordDeps {
  outbox: Outbox;
  log: Logger;
  told: NotifyLog;
  maxRetryAgeMs: number;
  backoff?: BackoffPolicy | undefined;
  now: number;
  /** The dispatcher is closing: a failure stays owed, no retry is planned. */
  closed: boolean;
}

/** Undefined: done with (delivered or dead); a number: retry after that many ms (the job's attempt counted on). */
export function recordOutcome(job: Job, result: SendResult, deps: RecordDeps): RunOutcome {
  const { item, channel, attempt } = job;
  const { outbox, log } = deps;
  const id = item.alert.id;
  if (result.ok) {
    outbox.settle(id, channel.name, 'delivered', undefined, true, !channel.repeatIsHarmless);
    deps.told.delivered(item, channel.name);
    if (channel.name !== 'log') log.info(`Delivered alert ${id} via ${channel.name}.`, { event: 'delivered', id, channel: channel.name, attempt, detail: result.detail });
    return undefined;
  }
  const age = deps.now - item.receivedAt;
  if (!result.retry || age >= deps.maxRetryAgeMs) {
    const why = result.retry ? `still failing after ${Math.round(age / 1000)}s: ${result.error}` : result.error;
    outbox.settle(id, channel.name, 'dead', why);
    log.error(`Alert ${id} not delivered via ${channel.name} (dead letter): ${why}`, { event: 'dead', id, channel: channel.name, attempt });
    return undefined;
  }
  outbox.attempted(id, channel.name, result.error);
  if (deps.closed) return 0; // stays owed; the queue is closed and starts nothing more
  const delay = Math.min(Math.max(result.retryAfterMs ?? 0, backoffDelay(attempt, deps.backoff ?? DEFAULT_POLICY)), Math.max(0, deps.maxRetryAgeMs - age));
  log.warn(`Alert ${id} via ${channel.name} failed: ${result.error}; retry ${attempt} in ${(delay / 1000).toFixed(1)}s.`, { event: 'retry', id, channel: channel.name, attempt });
  job.attempt += 1;
  return delay;
}
