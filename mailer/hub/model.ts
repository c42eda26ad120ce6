/**
 * The hub's model: what it keeps in the store (the tables of the store's
 * sqlite-hub-queries.ts): agents, targets, time buckets of checks, incidents
 * with every delivery, silences. Writes (HubWrite) go with the store's next
 * commit; reads are the load at start (HubSnapshot) and the incident list,
 * each a constant number of queries whatever the target count.
 *
 * The hub's ports are here too: what it needs of the store (HubStorage) and
 * where its own alerts go (AlertSink). The store and the intake meet them
 * (mailer/main.ts wires them); the hub imports neither, so store/ and intake/
 * can import the hub's model without a cycle.
 */
import type { AlertRequest } from '../../shared/wire-json.ts';
import type { MatchSpec } from '../../shared/alert-match.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Hourly buckets are kept this long (24 hourly bars, uptime over 24 h and 7 d, response times). */
export const HOURLY_KEEP_MS = 8 * DAY_MS;
/** Daily buckets, incidents and their deliveries are kept this long. */
export const DAILY_KEEP_MS = 400 * DAY_MS;

export interface AgentRow {
  name: string;
  instance: string;
  version: string;
  firstSeenAt: number;
  /** When its current instance first reported. */
  instanceSince: number;
  lastReportAt: number;
  intervalMs: number;
  state: 'reporting' | 'silent' | 'stopped';
  /** The targets of its latest report, with what it said of each (at: when, its view's time; a shared store only). */
  targets: Array<{ name: string; state: 'up' | 'down' | 'unknown'; at?: number }>;
}

/** What a target shows: stale when no live agent watches it (each stopped, went silent or was forgotten). */
export type ShownState = 'up' | 'down' | 'unknown' | 'stale';

export interface TargetRow {
  name: string;
  state: ShownState;
  since: number | null;
  lastFailure: string | null;
  /** An alert's word on it (down until its up), when newer than the reports'. */
  alerted: 'up' | 'down' | null;
  /** Why it is stale ("agent a stopped"); null otherwise. */
  staleWhy?: string | null;
  /** When an agent last reported it (ms); forgotten after --forget-after. */
  reportedAt?: number | null;
}

/** Checks counted into the hour and the day of `at`, per target. */
export interface BucketAdd {
  target: string;
  checks: number;
  failures: number;
  /** LATENCY_BUCKETS_MS counts, plus the open bucket. */
  latency: readonly number[];
  /** Incidents opened (counted into the bar). */
  incidents: number;
}

export interface BucketRow {
  target: string;
  size: typeof HOUR_MS | typeof DAY_MS;
  start: number;
  checks: number;
  failures: number;
  incidents: number;
  latency: number[];
}

export interface IncidentEvent {
  at: number;
  kind: 'detected' | 'confirmed' | 'alert' | 'reminder' | 'silenced' | 'resolved';
  text: string;
  /** On the event that counts the alerts past the listed ones: how many. */
  more?: number;
}

export interface IncidentRow {
  id: string;
  target: string;
  state: 'open' | 'closed';
  openedAt: number;
  resolvedAt: number | null;
  message: string;
  reason: string | null;
  silenced: boolean;
  /** Who its down alerts went to: the hub's own recovery alert goes to them too. */
  recipients: string[];
  events: IncidentEvent[];
  /** The agent (and instance) whose down opened it; none: the hub opened it (quorum, or an old store). */
  opener?: { agent: string; instance: string };
  /** The agents that saw it down while it was open (quorum.ts): only they can end it. */
  witnesses?: string[];
}

export interface DeliveryRow {
  incident: string;
  alertId: string;
  channel: string;
  state: 'pending' | 'silenced' | 'delivered' | 'dead' | 'skipped';
  attempts: number;
  error: string | null;
  at: number;
}

export interface SilenceRow {
  id: string;
  /** A glob on the target name; empty when only `match` says what it mutes. */
  target: string;
  /** Matchers in the routes' language (delivery/route-match.ts), channels too. */
  match?: MatchSpec;
  startsAt: number;
  until: number;
  comment: string;
  createdAt: number;
}

export type HubWrite =
  | { op: 'buckets'; at: number; adds: BucketAdd[] }
  | { op: 'agent'; row: AgentRow }
  | { op: 'target'; row: TargetRow }
  | { op: 'incident'; row: IncidentRow }
  | { op: 'silence'; row: SilenceRow }
  | { op: 'unsilence'; id: string }
  /** Forgotten by hand (DELETE /api/v1/agents/<name>) or after --forget-after: the row and its buckets. */
  | { op: 'forget-agent'; name: string }
  | { op: 'forget-target'; name: string };

/**
 * The writes of one commit with only the last of each incident, target and
 * agent row kept (each write is the whole row): a storm's alerts joining one
 * incident write it once a commit, not once an alert. Order is kept.
 */
export function coalesceWrites(writes: readonly HubWrite[]): HubWrite[] {
  const keyOf = (w: HubWrite): string | undefined =>
    w.op === 'incident' ? `i${w.row.id}` : w.op === 'target' ? `t${w.row.name}` : w.op === 'agent' ? `a${w.row.name}` : undefined;
  const last = new Map<string, number>();
  writes.forEach((w, i) => {
    const k = keyOf(w);
    if (k !== undefined) last.set(k, i);
  });
  return last.size === 0 ? [...writes] : writes.filter((w, i) => {
    const k = keyOf(w);
    return k === undefined || last.get(k) === i;
  });
}

/**
 * Another mailer's hub writes, as the database has them now (a shared store,
 * postgres-hub-notify.ts): the rows its commit named, read after its notice;
 * full (the listener connected again: what was said meanwhile was not heard):
 * every agent and target, every open incident. A name asked for and not found
 * is gone (forgotten there). Buckets: the current and the previous hour and
 * day of the targets named, as sums over every mailer (they replace this
 * mailer's in memory).
 */
export interface HubChanges {
  full: boolean;
  agents: AgentRow[];
  goneAgents: string[];
  targets: TargetRow[];
  goneTargets: string[];
  incidents: IncidentRow[];
  buckets: PackedBuckets;
}

export interface HubSnapshot {
  agents: AgentRow[];
  targets: TargetRow[];
  /** Hourly buckets of the last HOURLY_KEEP_MS, daily ones of the last 90 days, packed. */
  buckets: PackedBuckets;
  /** Every open incident. */
  open: IncidentRow[];
  /** Silences not yet expired. */
  silences: SilenceRow[];
}

/**
 * Buckets as the worker sends them at start, and as the roll-up reads them:
 * one Float64Array of PACKED_WIDTH numbers a row (target index, size, start,
 * checks, failures, incidents, then the latency counts) and the target names.
 * Copying one typed array between threads takes milliseconds where 100,000s
 * of row objects took seconds, and reading it needs no row objects at all
 * (unpacking 282,000 rows took a second more of start-up, the port closed).
 */
export interface PackedBuckets {
  names: string[];
  rows: Float64Array;
}

export const PACKED_WIDTH = 6 + 12;

export const NO_BUCKETS: PackedBuckets = { names: [], rows: new Float64Array(0) };

export interface IncidentQuery {
  state: 'open' | 'closed' | 'all';
  limit: number;
  target?: string;
}

export interface IncidentRecord extends IncidentRow {
  deliveries: DeliveryRow[];
}

/** A dead letter as the page lists it: an alert some channel gave up on. */
export interface DeadLetterRecord {
  id: string;
  alert: { message: string };
  receivedAt: string;
  channels: Record<string, { state: string; error?: string }>;
}

/** What the hub needs of the store (store/store.ts's Store is one). */
export interface HubStorage {
  /** Keep a write of the hub's with the next commit. */
  hubWrite(write: HubWrite): void;
  /**
   * Keep a write of the hub's that an HTTP answer waits for (a silence added
   * or removed): committed soon, like an alert, and resolves once it is
   * committed and synced; rejects when that commit fails (the write is then
   * dropped, not kept for a later commit).
   */
  hubCommit(write: HubWrite): Promise<void>;
  /** Incidents, newest first, with their deliveries. */
  incidents(query: IncidentQuery): Promise<IncidentRecord[]>;
  /** The newest dead letters. */
  list(query: { state: 'dead'; limit: number }): Promise<{ alerts: DeadLetterRecord[] }>;
}

/** Where the hub's own alerts (agent-silence alarms, recoveries) are admitted, like any alert (intake/admission.ts). */
export interface AlertSink {
  admitJson(request: AlertRequest, peer: string): Promise<unknown>;
}
