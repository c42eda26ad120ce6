/**
 * The SQL of the claims several mailers on one Postgres database hold on the
 * deliveries rows (one row per alert and channel: claimed_by, lease_until;
 * postgres-migrations.ts). A mailer's claim is its instance name
 * (postgres-session.ts) and a lease on the database's clock (never a
 * mailer's: their clocks may differ), so only the server's time decides
 * whether a lease has lapsed. Rows are locked in (alert_seq, channel) order
 * by every statement that waits for a lock here and in the commit's progress
 * write (postgres-queries.ts applyChanges), so a heartbeat and a commit never
 * deadlock; a claim of free rows skips locked ones (FOR UPDATE SKIP LOCKED,
 * as pg-boss, River and graphile-worker take jobs), so two mailers scanning
 * at once take disjoint rows and never wait for each other.
 */
import type { ClientBase } from 'pg';
import type { Alert } from '../../shared/alert.ts';
import type { Intake } from '../queued-alert.ts';
import type { ChannelState } from './outbox.ts';
import type { PendingRow } from './store-backend.ts';

/** The database's clock, ms since the epoch. */
const NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';
/** A deliveries row (as `d`) some channel still owes. */
export const OWED = "d.state IN ('pending', 'silenced')";
/** The channel NOTIFY tells every mailer on: work was released (a mailer stopping), look for it now. */
export const WORK_CHANNEL = 'ch2_work';

/**
 * An alert row with the channels just claimed and those already done (whoever
 * did them), as the working set holds it; the channels other mailers still
 * owe are not in it. (The outer read of deliveries sees the rows as they were
 * before this statement's claim: the claimed ones are owed there, so not twice.)
 */
const LOAD = `SELECT a.seq, a.id, a.received_at, a.dead_at, a.via, a.line, a.alert,
    (SELECT json_object_agg(x.channel, json_strip_nulls(json_build_object('state', x.state, 'attempts', x.attempts, 'error', x.error)) ORDER BY x.ord)
       FROM (SELECT k.channel, k.ord, k.state, k.attempts, k.error FROM claimed k WHERE k.alert_seq = a.seq
             UNION ALL SELECT d.channel, d.ord, d.state, d.attempts, d.error FROM deliveries d WHERE d.alert_seq = a.seq AND NOT ${OWED}) x) AS channels,
    array_agg(DISTINCT c.was) FILTER (WHERE c.was IS NOT NULL) AS was, count(*)::bigint AS n
  FROM claimed c JOIN alerts a ON a.seq = c.alert_seq GROUP BY a.seq ORDER BY a.seq`;

interface LoadedRow {
  seq: number;
  id: string;
  received_at: number;
  dead_at: number | null;
  via: string;
  line: string;
  alert: Alert;
  channels: Record<string, ChannelState>;
  was: string[] | null;
  n: number;
}

export interface Claimed {
  rows: PendingRow[];
  /** Deliveries rows claimed (a batch full of them: there may be more). */
  count: number;
  /** The mailers that held them before (their instance names). */
  from: string[];
}

function loaded(rows: readonly LoadedRow[]): Claimed {
  const from = new Set<string>();
  let count = 0;
  const out = rows.map((row): PendingRow => {
    for (const w of row.was ?? []) from.add(w);
    count += row.n;
    return { record: { item: { alert: row.alert, line: row.line, via: row.via as Intake, receivedAt: row.received_at }, channels: row.channels }, seq: row.seq, deadAt: row.dead_at };
  });
  return { rows: out, count, from: [...from] };
}

export interface ClaimScope {
  /** This mailer's instance name. */
  me: string;
  leaseMs: number;
  /**
   * Rows claimed by a mailer of this host and pid are free too, when it has
   * no session left on the server: this process started again (a container
   * restarted: the same host name, pid 1), so that one is dead.
   */
  samePrefix?: string;
}

/**
 * A row handed over to mailer $1 (postgres-owners.ts): claimed_by is `<to>\t<from>` until the
 * receiver takes it (as it takes a lapsed row, so the lease still covers the hand-over: a receiver
 * that died meanwhile loses it to whoever scans once it lapses).
 */
const HANDED_TO_ME = "left(d.claimed_by, length($1) + 1) = $1 || E'\\t'";

/** Claim up to `limit` owed rows whose lease has lapsed (or that no mailer holds, or handed over to this one), oldest alert first; their alerts loaded. */
export async function claimLapsed(c: ClientBase, scope: ClaimScope, limit: number): Promise<Claimed> {
  const r = await c.query<LoadedRow>(
    `WITH picked AS (
       SELECT d.alert_seq, d.channel, CASE WHEN ${HANDED_TO_ME} THEN split_part(d.claimed_by, E'\\t', 2) ELSE d.claimed_by END AS was FROM deliveries d
       WHERE ${OWED}
         AND (d.lease_until IS NULL OR d.lease_until < ${NOW_MS} OR ${HANDED_TO_ME}
              OR ($4::text IS NOT NULL AND left(d.claimed_by, length($4)) = $4
                  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity s WHERE s.application_name = d.claimed_by)))
       ORDER BY d.alert_seq, d.channel LIMIT $3 FOR UPDATE OF d SKIP LOCKED),
     claimed AS (
       UPDATE deliveries d SET claimed_by = $1, lease_until = ${NOW_MS} + $2 FROM picked
       WHERE d.alert_seq = picked.alert_seq AND d.channel = picked.channel
       RETURNING d.alert_seq, d.channel, d.ord, d.state, d.attempts, d.error, NULLIF(picked.was, $1) AS was)
     ${LOAD}`,
    [scope.me, scope.leaseMs, limit, scope.samePrefix ?? null],
  );
  return loaded(r.rows);
}

/**
 * In a commit: alerts resent whose rows are pending but in no working set of
 * this mailer's. Their owed rows that no live claim holds (kept by a commit
 * whose answer was lost, or this mailer's own such rows) are claimed; rows
 * another mailer holds (the alert was admitted there) are not: a duplicate.
 */
export async function claimResent(c: ClientBase, me: string, leaseMs: number, seqs: readonly number[]): Promise<PendingRow[]> {
  if (seqs.length === 0) return [];
  const r = await c.query<LoadedRow>(
    `WITH picked AS (
       SELECT d.alert_seq, d.channel, d.claimed_by AS was FROM deliveries d
       WHERE ${OWED} AND d.alert_seq = ANY($3::bigint[]) AND (d.claimed_by IS NULL OR d.claimed_by = $1 OR d.lease_until IS NULL OR d.lease_until < ${NOW_MS})
       ORDER BY d.alert_seq, d.channel FOR UPDATE OF d SKIP LOCKED),
     claimed AS (
       UPDATE deliveries d SET claimed_by = $1, lease_until = ${NOW_MS} + $2 FROM picked
       WHERE d.alert_seq = picked.alert_seq AND d.channel = picked.channel
       RETURNING d.alert_seq, d.channel, d.ord, d.state, d.attempts, d.error, NULLIF(picked.was, $1) AS was)
     ${LOAD}`,
    [me, leaseMs, seqs],
  );
  return loaded(r.rows).rows;
}

/**
 * The heartbeat: renew the lease of these (alert, channel) rows, this
 * mailer's working set, where they are still this mailer's and owed; returns
 * the alerts some of whose rows are owed but claimed by another mailer now
 * (taken over after this mailer's lease lapsed): no longer this mailer's.
 */
export async function renew(c: ClientBase, me: string, leaseMs: number, seqs: readonly number[], channels: readonly string[]): Promise<number[]> {
  if (seqs.length === 0) return [];
  await c.query(
    `WITH u AS (SELECT * FROM unnest($3::bigint[], $4::text[]) AS u(seq, channel)),
     mine AS MATERIALIZED (SELECT d.alert_seq, d.channel FROM deliveries d JOIN u ON d.alert_seq = u.seq AND d.channel = u.channel
       WHERE d.claimed_by = $1 AND ${OWED} ORDER BY d.alert_seq, d.channel FOR UPDATE OF d)
     UPDATE deliveries d SET lease_until = ${NOW_MS} + $2 FROM mine WHERE d.alert_seq = mine.alert_seq AND d.channel = mine.channel`,
    [me, leaseMs, seqs, channels],
  );
  const lost = await c.query<{ seq: number }>(
    `SELECT DISTINCT d.alert_seq AS seq FROM deliveries d JOIN unnest($2::bigint[], $3::text[]) AS u(seq, channel) ON d.alert_seq = u.seq AND d.channel = u.channel
     WHERE ${OWED} AND d.claimed_by IS DISTINCT FROM $1`,
    [me, seqs, channels],
  );
  return lost.rows.map((row) => row.seq);
}

/** Let go of this mailer's owed rows (all of them, those handed to it not yet taken too; or those of these alerts), and tell every mailer to look for work now. */
export async function release(c: ClientBase, me: string, seqs?: readonly number[]): Promise<number> {
  const r = seqs
    ? await c.query(`UPDATE deliveries d SET claimed_by = NULL, lease_until = 0 WHERE d.claimed_by = $1 AND ${OWED} AND d.alert_seq = ANY($2::bigint[])`, [me, seqs])
    : await c.query(`UPDATE deliveries d SET lease_until = 0 WHERE (d.claimed_by = $1 OR ${HANDED_TO_ME}) AND ${OWED}`, [me]);
  if ((r.rowCount ?? 0) > 0) await c.query('SELECT pg_notify($1, $2)', [WORK_CHANNEL, me]);
  return r.rowCount ?? 0;
}

/** The lease new rows get, as an SQL expression on parameter `$n` (the lease in ms). */
export function leaseFrom(param: number): string {
  return `${NOW_MS} + $${param}::bigint`;
}
