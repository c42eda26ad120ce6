/**
 * What group-commit-store.ts asks of a database (StoreBackend), and the
 * batches it hands over: one transaction's alerts, progress and hub writes
 * (CommitBatch). sqlite-store.ts (through its worker) and postgres-store.ts
 * implement it.
 */
import type { QueuedAlert } from '../queued-alert.ts';
import type { ChannelState, OutboxRecord } from './outbox.ts';
import type { HubSnapshot, HubWrite, IncidentQuery, IncidentRecord } from '../hub/model.ts';
import type { ListPage, ListQuery, NotifyEntry } from './store.ts';

export interface AlertChange {
  /** Every channel's progress, as it was when the change was recorded. */
  channels: Record<string, ChannelState>;
  state: 'pending' | 'sent' | 'dead';
  deadAt: number | null;
  finishedAt: number | null;
  /** The alert's id and incident, when it has one: its deliveries are kept with the incident (hub_deliveries). */
  id?: string;
  incident?: string;
}

/** One transaction's worth of writes. */
export interface CommitBatch {
  /** The store's clock now: the dedupe window and pruning go by it. */
  now: number;
  /** The alerts to insert, in order. */
  items: QueuedAlert[];
  /** The channels that owe each item: one list shared by all of them (the usual case), or one list per item. */
  channels: Array<readonly string[]>;
  /** Progress, by the alert's seq. */
  changes: Array<[number, AlertChange]>;
  /** The hub's writes (hub/model.ts), in order. */
  hub: HubWrite[];
}

export interface CommitResult {
  /** The seq of each item kept; undefined for a duplicate. */
  seqs: Array<number | undefined>;
  /** An item kept before and taken up by this commit (Postgres: the channels it claimed, with their progress); else a new record. */
  adopted?: Array<PendingRow | undefined>;
  /** Syncs of the database to disk so far. */
  syncs: number;
}

/** An unfinished alert as the database holds it. */
export interface PendingRow {
  record: OutboxRecord;
  seq: number;
  deadAt: number | null;
}

/** What an implementation does with its database. */
export interface StoreBackend {
  commit(batch: CommitBatch): Promise<CommitResult>;
  list(query: ListQuery): Promise<ListPage>;
  hubLoad(now: number): Promise<HubSnapshot>;
  incidents(query: IncidentQuery): Promise<IncidentRecord[]>;
  notifyLog(): Promise<NotifyEntry[]>;
  /** A write of an alert's size, undone: can the database take one now? */
  probe(): Promise<void>;
  close(): Promise<void>;
}
