/**
 * A channel that says alerts as a chat message (Slack, Discord, Teams,
 * Telegram, …), once: one alert or a group of them (grouping) become the same
 * MessageLines (email-content.ts), which the channel's own `say` escapes for
 * its dialect and posts. `idempotencyKey` names a message the same on every
 * retry: the alert id, or for a group a hash of its members' ids.
 *
 * What the chat channels share besides: `fitLines`, the lines escaped and
 * fitted within a provider's limit (the subject cut to 1,000 characters, then
 * as many detail lines as fit, the rest one "… and N more alerts" line), and
 * `secrets`, taken out of every error line `say` returns (a receiver might
 * quote a token from its URL).
 */
import { createHash } from 'node:crypto';
import type { SendResult } from '../../../shared/send-result.ts';
import { cut } from '../../../shared/text.ts';
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
  /** Taken out of a failed say's error, in this order, each at least 8 characters long (shorter ones would garble the line). */
  secrets?: readonly string[];
}

/** Characters of a message's subject at most, before it is escaped. */
export const TITLE_MAX = 1000;

export interface FitSpec {
  /** The dialect's escaping of alert text (untrusted). */
  escape(text: string): string;
  /** The budget of all the lines, in the units of `size`, a line break costing 1 (leave room for the closing line). */
  max: number;
  /** What a line costs: by default its escaped length. `escaped` is the title after `frame`; `raw` the text before escaping (the title cut). */
  size?(escaped: string, raw: string): number;
  /** The escaped title's markup (bold), counted in `max`. */
  frame?(escapedTitle: string): string;
}

/** "… and N more alerts": our own text, not escaped. */
function moreAlerts(more: number): string {
  return `… and ${more} more alert${more === 1 ? '' : 's'}`;
}

/**
 * The message's lines escaped: the title cut to TITLE_MAX and framed, then
 * each detail line while the total stays within `max`; the first that does
 * not fit and all after it become one "… and N more alerts" line.
 */
export function fitLines({ title, details }: MessageLines, spec: FitSpec): string[] {
  const size = spec.size ?? ((escaped: string) => escaped.length);
  const head = cut(title, TITLE_MAX);
  const framed = spec.frame ? spec.frame(spec.escape(head)) : spec.escape(head);
  const lines = [framed];
  let total = size(framed, head);
  for (const [i, line] of details.entries()) {
    const escaped = spec.escape(line);
    total += 1 + size(escaped, line);
    if (total > spec.max) {
      lines.push(moreAlerts(details.length - i));
      break;
    }
    lines.push(escaped);
  }
  return lines;
}

/** The result with every secret of at least 8 characters taken out of its error. */
function scrubbed(result: SendResult, secrets: readonly string[]): SendResult {
  if (result.ok) return result;
  let error = result.error;
  for (const secret of secrets) if (secret.length >= 8) error = error.split(secret).join('…');
  return { ...result, error };
}

/** The same key for the same message on every retry: the alert id, or a hash of a group's ids. */
export function idempotencyKey(items: readonly QueuedAlert[]): string {
  if (items.length === 1) return items[0]!.alert.id;
  return `group-${createHash('sha256').update(items.map((i) => i.alert.id).join('\n')).digest('hex').slice(0, 32)}`;
}

export function messageChannel(spec: MessageChannelSpec): Channel {
  const secrets = spec.secrets ?? [];
  const say =
    secrets.length === 0
      ? (items: readonly QueuedAlert[], signal: AbortSignal) => spec.say(messageLines(items), items, signal)
      : async (items: readonly QueuedAlert[], signal: AbortSignal) => scrubbed(await spec.say(messageLines(items), items, signal), secrets);
  return {
    name: spec.name,
    ...(spec.concurrency !== undefined ? { concurrency: spec.concurrency } : {}),
    ...(spec.rateLimit !== undefined ? { rateLimit: spec.rateLimit } : {}),
    send: (item, { signal }) => say([item], signal),
    sendGroup: (items, { signal }) => say(items, signal),
    ...(spec.close ? { close: spec.close } : {}),
  };
}
