/**
 * The mailer's one store: accepted alerts, each channel's progress and
 * attempts, dead letters and the dedupe memory. The intake admits alerts
 * through it, the dispatcher records progress (Outbox), GET /alerts lists
 * it. Everything that may touch a disk or a network is async, so a
 * networked implementation (Postgres) fits the same interface and the same
 * conformance tests (test/store/conformance.ts). sqlite-store.ts is the
 * implementation the mailer runs on.
 */
import type { Alert } from '../../shared/alert.ts';
import type { ChannelState, Outbox, OutboxRecord } from './outbox.ts';
import type { Intake, QueuedAlert } from '../queued-alert.ts';
import type { HubChanges, HubSnapshot, HubStorage, SilenceRow } from '../hub/model.ts';

/** pending: some channel owes it; silenced: some channel holds it back for a silence (pending too); dead; sent: done, none dead. */
export type ListState = 'pending' | 'silenced' | 'dead' | 'sent';
export const LIST_STATES: readonly ListState[] = ['pending', 'silenced', 'dead', 'sent'];

/** An entry of the notification log: a channel delivered a down of this incident (hub_deliveries). */
export interface NotifyEntry {
  incident: string;
  channel: string;
}

export interface ListQuery {
  state: ListState;
  /** At most this many alerts, newest first. */
  limit: number;
  /** The `next` of the previous page: only alerts accepted before it. */
  cursor?: string | undefined;
}

export interface ListedAlert {
  id: string;
  alert: Alert;
  line: string;
  via: Intake;
  receivedAt: string;
  channels: Record<string, ChannelState>;
  /** When a channel first gave up on it (dead letters). */
  deadAt?: string;
  /** When the last channel was done with it. */
  finishedAt?: string;
}

export interface ListPage {
  state: ListState;
  total: number;
  alerts: ListedAlert[];
  /** Cursor of the next (older) page; absent on the last page. */
  next?: string;
}

export interface StoreHealth {
  /** Writes are failing (disk full, I/O error): new alerts get 503 until one succeeds. */
  degraded: boolean;
  /** Why, while degraded. */
  reason?: string;
  /** Transactions committed since start (every acknowledged alert is in one). */
  commits: number;
  /** Syncs of the store to disk since start (an admitted alert is acknowledged after one). */
  syncs: number;
  /** Commits that failed since start. */
  writeErrors: number;
  /** Alerts some channel still owes (in this mailer's working set). */
  pending: number;
  /** Postgres: the claims on deliveries this mailer holds, and those taken over and lost since start. */
  claims?: { held: number; adopted: number; lost: number };
}

export interface Admitted {
  /** The id was accepted before (within the dedupe window): nothing new was kept. */
  duplicate: boolean;
}

export interface Store extends Outbox, HubStorage {
  /**
   * Keep a new alert, owed by these channels. Resolves once it is committed
   * (alerts admitted together share one commit); rejects when
   * it could not be written. A known id resolves as a duplicate; one whose
   * commit is still under way waits for it and shares its outcome.
   */
  admit(item: QueuedAlert, channels: readonly string[]): Promise<Admitted>;
  /** One page of alerts in a state, newest first. */
  list(query: ListQuery): Promise<ListPage>;
  health(): StoreHealth;
  /** What the hub holds in memory, read once at start. */
  hubLoad(): Promise<HubSnapshot>;
  /**
   * The notification log, read once at start: per incident still open, the
   * channels that delivered one of its alerts (its downs; an up closes it).
   * Durable with each delivery's progress (kept with its incident).
   */
  notifyLog(): Promise<NotifyEntry[]>;
  /**
   * Postgres (several mailers may share the database): one incident's nflog
   * as the database has it, whichever mailer told it: the channels that
   * delivered one of its downs and not yet its up. Asked by the dispatcher's
   * told stage for an up whose incident its own log does not know. SQLite
   * (one mailer) has none: its log at start is the whole of it.
   */
  toldOf?(incident: string): Promise<string[]>;
  /**
   * Postgres (several mailers may share the database): when each of these
   * agents last reported and as which instance, at whichever mailer
   * (hub_agents). Asked before an agent is called silent: its reports may go
   * to another mailer. SQLite (one mailer) has none.
   */
  lastReports?(names: readonly string[]): Promise<Map<string, { at: number; instance: string }>>;
  /**
   * Postgres (several mailers may share the database): the live mailers, and
   * the hand-over of a delivery to the one that owns its destination
   * (postgres-owners.ts; the choice is the dispatcher's). SQLite has none.
   */
  destinations?(): MailerMembers;
  /** Commit what is queued and let go of the store. */
  close(): Promise<void>;
  /**
   * Postgres, several mailers on one database: from now on take over work
   * whose claim lapsed (`adopted`: to resume) and say what is no longer this
   * mailer's (`lost`: to stop); `only` names, for an alert already being
   * delivered here, the channels just added. Called once the mailer has
   * resumed unfinished().
   */
  watchClaims?(handlers: {
    adopted(records: OutboxRecord[], only: ReadonlyMap<string, readonly string[]>): void;
    lost(ids: string[]): void;
    /** The silences as the database has them, after another mailer added or removed one. */
    silences?(rows: SilenceRow[]): void;
    /** The hub rows another mailer wrote, as the database has them (all of them once listening, again after the connection was lost). */
    hub?(changes: HubChanges): void;
  }): void;
}

/** The live mailers on a shared database, and the hand-over of a delivery to another (postgres-owners.ts). */
export interface MailerMembers {
  me: string;
  /** The live mailers on the database, sorted; undefined until first read. */
  members(): readonly string[] | undefined;
  /** Hand a delivery to `to`: true once it is no longer this mailer's (handed, or already another's); false to deliver it here. */
  handOver(id: string, channel: string, to: string): Promise<boolean>;
  /** For /healthz: the live mailers seen now, and the deliveries handed to another since start. */
  counts(): { members: number; handed: number };
}

export interface StoreOptions {
  /** Remember accepted ids this long (ms) for duplicate checks. */
  dedupeWindowMs: number;
  /** Remember at most this many finished alerts; the oldest are forgotten first. */
  maxRemembered?: number;
  now?: () => number;
}

/** What went wrong opening a store, with the one line the mailer prints before it exits 2. */
export class StoreOpenError extends Error {
  readonly kind: 'in-use' | 'corrupt' | 'unusable';
  constructor(kind: 'in-use' | 'corrupt' | 'unusable', message: string) {
    super(message);
    this.kind = kind;
  }
}
