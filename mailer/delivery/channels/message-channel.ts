/**
 * A channel that says alerts as a chat message (Slack, Discord, Teams,
 * Telegram, …), once: one alert or a group of them (grouping) become the same
 * MessageLines (email-content.ts), which the channel's own `say` escapes for
 * its dialect and posts. `idempotencyKey` names a message the same on every
 * retry: the alert id, or for a group a hash of its members' ids.
 */
import { createHash } from 'node:crypto';
import type { SendResult } from '../../../shared/send-result.ts';
import { type MessageLines, messageLines } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import type { Channel, RateLimit } from './channel.ts';

export interface MessageChannelSpec {
  name: string;
  concurrency?: number;
  rateLimit?: RateLimit;
  /** Post one message; never throws. */
  say(lines: MessageLines, items: readonly QueuedAlert[], signal: AbortSignal): Promise<SendResult>;
  close?(): Promise<void>;
}

/** The same key for the same message on every retry: the alert id, or a hash of a group's ids. */
export function idempotencyKey(items: readonly QueuedAlert[]): string {
  if (items.length === 1) return items[0]!.alert.id;
  return `group-${createHash('sha256').update(items.map((i) => i.alert.id).join('\n')).digest('hex').slice(0, 32)}`;
}

export function messageChannel(spec: MessageChannelSpec): Channel {
  return {
    name: spec.name,
    ...(spec.concurrency !== undefined ? { concurrency: spec.concurrency } : {}),
    ...(spec.rateLimit !== undefined ? { rateLimit: spec.rateLimit } : {}),
    send: (item, { signal }) => spec.say(messageLines([item]), [item], signal),
    sendGroup: (items, { signal }) => spec.say(messageLines(items), items, signal),
    ...(spec.close ? { close: spec.close } : {}),
  };
}
