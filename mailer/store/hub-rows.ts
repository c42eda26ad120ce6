/**
 * The hub's rows as both stores read them back (sqlite-hub-queries.ts,
 * postgres-hub-queries.ts): a database row, by column name, made the hub's
 * model. JSON columns come as text from SQLite and parsed from Postgres;
 * booleans as 0/1 or true/false; both are taken.
 */
import { type AgentRow, type DeliveryRow, type IncidentRow, PACKED_WIDTH, type PackedBuckets, type SilenceRow, type TargetRow } from '../hub/model.ts';

type Row = Record<string, unknown>;

/** A JSON column's value: parsed from text (SQLite), or as the driver parsed it (Postgres). */
function fromJson<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

const orNull = <T>(v: unknown, as: (v: unknown) => T): T | null => (v === null || v === undefined ? null : as(v));

export function toAgent(r: Row): AgentRow {
  return {
    name: String(r.name),
    instance: String(r.instance),
    version: String(r.version),
    firstSeenAt: Number(r.first_seen),
    instanceSince: Number(r.instance_since),
    lastReportAt: Number(r.last_report),
    intervalMs: Number(r.interval_ms),
    state: String(r.state) as AgentRow['state'],
    targets: fromJson<AgentRow['targets']>(r.targets),
  };
}

export function toTarget(r: Row): TargetRow {
  return {
    name: String(r.name),
    state: String(r.state) as TargetRow['state'],
    since: orNull(r.since, Number),
    lastFailure: orNull(r.last_failure, String),
    alerted: orNull(r.alerted, (v) => String(v) as 'up' | 'down'),
    ...(r.stale_why !== null && r.stale_why !== undefined ? { staleWhy: String(r.stale_why) } : {}),
    ...(r.reported_at !== null && r.reported_at !== undefined ? { reportedAt: Number(r.reported_at) } : {}),
  };
}

export function toIncident(r: Row): IncidentRow {
  const ledger = orNull(r.ledger, (v) => fromJson<Pick<IncidentRow, 'opener' | 'witnesses'>>(v)) ?? undefined;
  return {
    ...(ledger?.opener !== undefined && ledger.opener !== null ? { opener: ledger.opener } : {}),
    ...(ledger?.witnesses !== undefined && ledger.witnesses !== null ? { witnesses: ledger.witnesses } : {}),
    id: String(r.id),
    target: String(r.target),
    state: String(r.state) === 'open' ? 'open' : 'closed',
    openedAt: Number(r.opened_at),
    resolvedAt: orNull(r.resolved_at, Number),
    message: String(r.message),
    reason: orNull(r.reason, String),
    silenced: r.silenced === true || Number(r.silenced) === 1,
    recipients: fromJson<string[]>(r.recipients),
    events: fromJson<IncidentRow['events']>(r.events),
  };
}

export function toSilence(r: Row): SilenceRow {
  const row: SilenceRow = {
    id: String(r.id),
    target: String(r.target),
    startsAt: Number(r.starts_at),
    until: Number(r.until),
    comment: String(r.comment),
    createdAt: Number(r.created_at),
  };
  if (r.match !== null && r.match !== undefined) row.match = fromJson<SilenceRow['match'] & object>(r.match);
  return row;
}

export function toDelivery(r: Row): DeliveryRow {
  return {
    incident: String(r.incident),
    alertId: String(r.alert_id),
    channel: String(r.channel),
    state: String(r.state) as DeliveryRow['state'],
    attempts: Number(r.attempts),
    error: orNull(r.error, String),
    at: Number(r.at),
  };
}

/** Bucket rows (target, size, start, checks, …, as arrays) packed: the targets' names once, the numbers in one Float64Array. */
export function packBuckets(rows: readonly unknown[][]): PackedBuckets {
  const names: string[] = [];
  const index = new Map<string, number>();
  const packed = new Float64Array(rows.length * PACKED_WIDTH);
  rows.forEach((r, k) => {
    const name = String(r[0]);
    let i = index.get(name);
    if (i === undefined) {
      i = names.push(name) - 1;
      index.set(name, i);
    }
    packed[k * PACKED_WIDTH] = i;
    for (let c = 1; c < PACKED_WIDTH; c++) packed[k * PACKED_WIDTH + c] = Number(r[c]);
  });
  return { names, rows: packed };
}
