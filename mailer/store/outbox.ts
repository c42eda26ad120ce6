/**
 * The store as the dispatcher sees it: the accepted alerts some channel still
 * owes (a working set the store keeps in memory, so these calls are quick and
 * synchronous for any implementation) and the calls that record each
 * channel's progress. The store writes that progress durably in the
 * background, with the next group commit; a send recorded as done is not
 * repeated after a restart, one whose record was lost is (at least once).
 */
import type { QueuedAlert } from '../queued-alert.ts';

/**
 * pending: owed (queued, under way, or waiting for a retry). silenced: owed
 * but held back by a silence in force at send time; it goes out when the
 * silence ends if its incident is still open (an up: if its channel was told
 * the down), else it is settled as skipped. delivered, dead, skipped
 * (never sent: its silence outlasted its incident, or an up whose down this
 * channel was never told) are final.
 */
export type DeliveryState = 'pending' | 'silenced' | 'delivered' | 'dead' | 'skipped';
/** The states a channel is done in. */
export type SettledState = Exclude<DeliveryState, 'pending' | 'silenced'>;

export interface ChannelState {
  state: DeliveryState;
  attempts: number;
  error?: string;
}

export interface OutboxRecord {
  item: QueuedAlert;
  channels: Record<string, ChannelState>;
}

export interface Outbox {
  /** A failed attempt that will be retried. */
  attempted(id: string, channel: string, error?: string): void;
  /**
   * The channel is done with the alert; `attempted` counts the attempt that ended it;
   * `urgent` sends it to be committed at once rather than with the next group commit.
   */
  settle(id: string, channel: string, state: SettledState, error?: string, attempted?: boolean, urgent?: boolean): void;
  /** Still owed, but held back by a silence (`why` says which, until when); `false` hands it back to the channel (pending). */
  hold(id: string, channel: string, why: string | false): void;
  /** An alert some channel has still to deliver. */
  get(id: string): OutboxRecord | undefined;
  /** Alerts some channel still has to deliver, oldest first. */
  unfinished(): OutboxRecord[];
}

/** Whether a channel still owes the alert (pending, or held by a silence). */
export function isOwed(state: DeliveryState): boolean {
  return state === 'pending' || state === 'silenced';
}

export function isFinished(record: OutboxRecord): boolean {
  return Object.values(record.channels).every((c) => !isOwed(c.state));
}

export function newRecord(item: QueuedAlert, channels: readonly string[]): OutboxRecord {
  const record: OutboxRecord = { item, channels: {} };
  for (const name of channels) record.channels[name] = { state: 'pending', attempts: 0 };
  return record;
}

/**
 * Apply attempted()/settle() to a record in memory; what every store does
 * before it writes the change. Returns false when the record has no such channel.
 */
export function applyProgress(
  record: OutboxRecord,
  channel: string,
  change: { state?: DeliveryState; error?: string | undefined; attempted: boolean },
): boolean {
  const entry = record.channels[channel];
  if (!entry) return false;
  if (change.state) entry.state = change.state;
  if (change.attempted) entry.attempts += 1;
  if (change.error !== undefined) entry.error = change.error;
  return true;
}

/**
 * A snapshot of each channel's progress, for a commit to write as it is now
 * (the record goes on changing). Copied by hand: structuredClone of these few
 * small objects cost several microseconds per alert on the event loop.
 */
export function snapshotProgress(channels: Record<string, ChannelState>): Record<string, ChannelState> {
  const copy: Record<string, ChannelState> = {};
  for (const name in channels) {
    const c = channels[name]!;
    copy[name] = c.error === undefined ? { state: c.state, attempts: c.attempts } : { state: c.state, attempts: c.attempts, error: c.error };
  }
  return copy;
}
