/**
 * The Postgres store's SQL on alerts and deliveries (schema:
 * postgres-migrations.ts), each statement written for a whole commit's
 * worth of rows at once (unnest of arrays), so a commit of many alerts is a
 * few round trips whatever their number. An alert's channels, as the store
 * sees them ({"smtp": {"state": "pending", "attempts": 0}, …}), are its
 * deliveries rows, in the order they were given.
 */
import type { ClientBase } from 'pg';
import type { Alert } from '../../shared/alert.ts';
import type { Intake, QueuedAlert } from '../queued-alert.ts';
import type { ChannelState } from './outbox.ts';
import { leaseFrom, OWED } from './postgres-claim-queries.ts';
import type { AlertChange } from './store-backend.ts';
import type { ListedAlert, ListPage, ListQuery } from './store.ts';

interface AlertRow {
  seq: number;
  id: string;
  received_at: number;
  dead_at: number | null;
  finished_at: number | null;
  via: string;
  line: string;
  alert: Alert;
  channels: Record<string, ChannelState> | null;
}

const CHANNELS = `(SELECT json_object_agg(d.channel, json_strip_nulls(json_build_object('state', d.state, 'attempts', d.attempts, 'error', d.error)) ORDER BY d.ord)
  FROM deliveries d WHERE d.alert_seq = a.seq) AS channels`;
const COLUMNS = `a.seq, a.id, a.received_at, a.dead_at, a.finished_at, a.via, a.line, a.alert, ${CHANNELS}`;
const WHERE: Record<ListQuery['state'], string> = {
  pending: "a.state = 'pending'",
  silenced: "a.state = 'pending' AND EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_seq = a.seq AND d.state = 'silenced')",
  sent: "a.state = 'sent'",
  dead: 'a.dead_at IS NOT NULL',
};

/** Insert the alerts (a known id is skipped): the seq of each one inserted, by id. */
export async function insertAlerts(c: ClientBase, items: readonly QueuedAlert[]): Promise<Map<string, number>> {
  if (items.length === 0) return new Map();
  const r = await c.query<{ id: string; seq: number }>(
    `INSERT INTO alerts (id, state, received_at, via, line, alert)
     SELECT id, 'pending', received_at, via, line, alert::json FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
       AS u(id, received_at, via, line, alert, n) ORDER BY n
     ON CONFLICT (id) DO NOTHING RETURNING id, seq`,
    [items.map((i) => i.alert.id), items.map((i) => i.receivedAt), items.map((i) => i.via), items.map((i) => i.line), items.map((i) => JSON.stringify(i.alert))],
  );
  return new Map(r.rows.map((row) => [row.id, row.seq]));
}

/** The rows kept under these ids. */
export async function findIds(c: ClientBase, ids: readonly string[]): Promise<Array<{ seq: number; id: string; state: string; receivedAt: number }>> {
  if (ids.length === 0) return [];
  const r = await c.query<{ seq: number; id: string; state: string; received_at: number }>('SELECT seq, id, state, received_at FROM alerts WHERE id = ANY($1::text[])', [ids]);
  return r.rows.map((row) => ({ seq: row.seq, id: row.id, state: row.state, receivedAt: row.received_at }));
}

/** Forget these alerts and their deliveries, except those kept with an incident (the status page's history). */
export async function deleteAlerts(c: ClientBase, seqs: readonly number[]): Promise<void> {
  if (seqs.length === 0) return;
  await c.query('DELETE FROM alerts WHERE seq = ANY($1::bigint[])', [seqs]);
  await c.query('DELETE FROM deliveries WHERE alert_seq = ANY($1::bigint[]) AND incident IS NULL', [seqs]);
}

/** A pending delivery per channel of each new alert, claimed by this mailer (`me`) for a lease of `leaseMs`. */
export async function insertDeliveries(c: ClientBase, rows: ReadonlyArray<{ seq: number; id: string; channels: readonly string[] }>, at: number, me: string, leaseMs: number): Promise<void> {
  const seqs: number[] = [];
  const ids: string[] = [];
  const channels: string[] = [];
  const ords: number[] = [];
  for (const row of rows) {
    row.channels.forEach((channel, i) => {
      seqs.push(row.seq);
      ids.push(row.id);
      channels.push(channel);
      ords.push(i);
    });
  }
  if (seqs.length === 0) return;
  await c.query(
    `INSERT INTO deliveries (alert_seq, channel, ord, alert_id, state, attempts, at, claimed_by, lease_until)
     SELECT seq, channel, ord, id, 'pending', 0, $5, $6, ${leaseFrom(7)} FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::text[]) AS u(seq, channel, ord, id)`,
    [seqs, channels, ords, ids, at, me, leaseMs],
  );
}

/**
 * Each channel's progress as the changes say, written only where the row is
 * still this mailer's (`me`: fenced, so a mailer whose lease lapsed never
 * overwrites the progress of the one that took over); then each alert's
 * state from all its deliveries rows, whichever mailer holds them (pending
 * while one is owed, else dead if one is dead, else sent). The alerts rows
 * are locked first, in seq order: two mailers finishing the last channels of
 * one alert at once take turns, and the second sees the first's rows.
 * Returns how many alerts became sent.
 */
export async function applyChanges(c: ClientBase, changes: ReadonlyArray<[number, AlertChange]>, at: number, me: string): Promise<number> {
  if (changes.length === 0) return 0;
  const seqs = changes.map(([seq]) => seq);
  const old = await c.query<{ seq: number; state: string }>('SELECT seq, state FROM alerts WHERE seq = ANY($1::bigint[]) ORDER BY seq FOR UPDATE', [seqs]);
  const cols = { seq: [] as number[], channel: [] as string[], state: [] as string[], attempts: [] as number[], error: [] as Array<string | null>, incident: [] as Array<string | null> };
  for (const [seq, a] of changes) {
    for (const [channel, s] of Object.entries(a.channels)) {
      cols.seq.push(seq);
      cols.channel.push(channel);
      cols.state.push(s.state);
      cols.attempts.push(s.attempts);
      cols.error.push(s.error ?? null);
      cols.incident.push(a.incident ?? null);
    }
  }
  // Only a channel whose progress moved takes the new time (the incident's delivery log).
  await c.query(
    `WITH u AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[]) AS u(seq, channel, state, attempts, error, incident)),
     mine AS MATERIALIZED (SELECT d.alert_seq, d.channel FROM deliveries d JOIN u ON d.alert_seq = u.seq AND d.channel = u.channel
       WHERE d.claimed_by = $8 ORDER BY d.alert_seq, d.channel FOR UPDATE OF d)
     UPDATE deliveries d SET at = CASE WHEN d.state <> u.state OR d.attempts <> u.attempts THEN $7 ELSE d.at END,
       state = u.state, attempts = u.attempts, error = u.error, incident = u.incident
     FROM u JOIN mine ON mine.alert_seq = u.seq AND mine.channel = u.channel
     WHERE d.alert_seq = u.seq AND d.channel = u.channel`,
    [cols.seq, cols.channel, cols.state, cols.attempts, cols.error, cols.incident, at, me],
  );
  const r = await c.query<{ seq: number; state: string }>(
    `WITH u AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(seq, dead_at, finished_at)),
     s AS (SELECT u.seq, u.dead_at, u.finished_at, coalesce(bool_or(${OWED}), false) AS owed, coalesce(bool_or(d.state = 'dead'), false) AS dead
       FROM u LEFT JOIN deliveries d ON d.alert_seq = u.seq GROUP BY u.seq, u.dead_at, u.finished_at)
     UPDATE alerts a SET state = CASE WHEN s.owed THEN 'pending' WHEN s.dead THEN 'dead' ELSE 'sent' END,
       dead_at = CASE WHEN s.dead THEN coalesce(a.dead_at, s.dead_at, $4) ELSE a.dead_at END,
       finished_at = CASE WHEN s.owed THEN NULL ELSE coalesce(a.finished_at, s.finished_at, $4) END
     FROM s WHERE a.seq = s.seq RETURNING a.seq, a.state`,
    [seqs, changes.map(([, a]) => a.deadAt), changes.map(([, a]) => a.finishedAt), at],
  );
  const was = new Map(old.rows.map((row) => [row.seq, row.state]));
  return r.rows.filter((row) => row.state === 'sent' && was.get(row.seq) !== 'sent').length;
}

/** Delivered alerts received before the cutoff, oldest first, at most `limit`: forgotten; returns how many. */
export async function pruneSentBefore(c: ClientBase, cutoff: number, limit: number): Promise<number> {
  const r = await c.query<{ seq: number }>("SELECT seq FROM alerts WHERE state = 'sent' AND received_at < $1 ORDER BY received_at LIMIT $2", [cutoff, limit]);
  await deleteAlerts(c, r.rows.map((row) => row.seq));
  return r.rows.length;
}

/** The oldest delivered alerts (by acceptance), at most `limit`: forgotten; returns how many. */
export async function pruneOldestSent(c: ClientBase, limit: number): Promise<number> {
  const r = await c.query<{ seq: number }>("SELECT seq FROM alerts WHERE state = 'sent' ORDER BY seq LIMIT $1", [limit]);
  await deleteAlerts(c, r.rows.map((row) => row.seq));
  return r.rows.length;
}

export async function countState(c: ClientBase, which: 'sent' | 'finished'): Promise<number> {
  const r = await c.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM alerts WHERE ${which === 'sent' ? "state = 'sent'" : "state <> 'pending'"}`);
  return r.rows[0]!.n;
}

/** One page, newest first; `sent` is the number of sent rows, which the caller keeps (they are not counted here). */
export async function listPage(c: ClientBase, query: ListQuery, sent: number): Promise<ListPage> {
  const before = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(query.cursor);
  const where = WHERE[query.state];
  const rows = (await c.query<AlertRow>(`SELECT ${COLUMNS} FROM alerts a WHERE ${where} AND a.seq < $1 ORDER BY a.seq DESC LIMIT $2`, [before, query.limit])).rows;
  const total = query.state === 'sent' ? sent : (await c.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM alerts a WHERE ${where}`)).rows[0]!.n;
  const out: ListPage = { state: query.state, total, alerts: rows.map(toListed) };
  if (rows.length === query.limit) out.next = String(rows.at(-1)!.seq);
  return out;
}

/** A write of an alert's size, undone in the same transaction: can the database take one now? */
export async function probe(c: ClientBase): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query("INSERT INTO probe (x) VALUES (decode(repeat('00', 8192), 'hex'))");
    await c.query('DELETE FROM probe');
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

function toListed(row: AlertRow): ListedAlert {
  const listed: ListedAlert = {
    id: row.id,
    alert: row.alert,
    line: row.line,
    via: row.via as Intake,
    receivedAt: new Date(row.received_at).toISOString(),
    channels: row.channels ?? {},
  };
  if (row.dead_at !== null) listed.deadAt = new Date(row.dead_at).toISOString();
  if (row.finished_at !== null) listed.finishedAt = new Date(row.finished_at).toISOString();
  return listed;
}
