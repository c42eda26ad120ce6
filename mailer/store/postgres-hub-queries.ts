/**
 * The hub's SQL on Postgres (schema: postgres-migrations.ts; the same rows as
 * sqlite-hub-queries.ts): each HubWrite, the load at start, the incident
 * list with each incident's deliveries (the deliveries table, rows kept with
 * an incident), the notification log (at start, and one incident's for an
 * up whose down another mailer told), and pruning past the retention.
 */
import type { ClientBase } from 'pg';
import { LATENCY_BUCKETS_MS } from '../../shared/wire-report.ts';
import type { NotifyEntry } from './store.ts';
import { DAY_MS, HOUR_MS, type HubSnapshot, type HubWrite, type IncidentQuery, type IncidentRecord, type SilenceRow } from '../hub/model.ts';
import { packBuckets, toAgent, toDelivery, toIncident, toSilence, toTarget } from './hub-rows.ts';

type Row = Record<string, unknown>;
const L = LATENCY_BUCKETS_MS.length + 1;
const LCOLS = Array.from({ length: L }, (_, i) => `l${i}`);
const hourOf = (at: number): number => at - (at % HOUR_MS);
const dayOf = (at: number): number => at - (at % DAY_MS);
const $ = (n: number, from = 1): string => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');
const json = (v: unknown): string => JSON.stringify(v);

const SQL = {
  bucket: `INSERT INTO hub_buckets (target, size, start, checks, failures, incidents, ${LCOLS.join(', ')}) VALUES (${$(6 + L)})
    ON CONFLICT (size, start, target) DO UPDATE SET checks = hub_buckets.checks + excluded.checks, failures = hub_buckets.failures + excluded.failures,
    incidents = hub_buckets.incidents + excluded.incidents, ${LCOLS.map((c) => `${c} = hub_buckets.${c} + excluded.${c}`).join(', ')}`,
  agent: `INSERT INTO hub_agents (name, instance, version, first_seen, instance_since, last_report, interval_ms, state, targets) VALUES (${$(9)})
    ON CONFLICT (name) DO UPDATE SET instance = excluded.instance, version = excluded.version, first_seen = excluded.first_seen, instance_since = excluded.instance_since,
    last_report = excluded.last_report, interval_ms = excluded.interval_ms, state = excluded.state, targets = excluded.targets`,
  target: `INSERT INTO hub_targets (name, state, since, last_failure, alerted, stale_why, reported_at) VALUES (${$(7)})
    ON CONFLICT (name) DO UPDATE SET state = excluded.state, since = excluded.since, last_failure = excluded.last_failure, alerted = excluded.alerted,
    stale_why = excluded.stale_why, reported_at = excluded.reported_at`,
  incident: `INSERT INTO hub_incidents (id, target, state, opened_at, resolved_at, message, reason, silenced, recipients, events, ledger) VALUES (${$(11)})
    ON CONFLICT (id) DO UPDATE SET target = excluded.target, state = excluded.state, opened_at = excluded.opened_at, resolved_at = excluded.resolved_at,
    message = excluded.message, reason = excluded.reason, silenced = excluded.silenced, recipients = excluded.recipients, events = excluded.events, ledger = excluded.ledger`,
  silence: `INSERT INTO hub_silences (id, target, starts_at, until, comment, created_at, match) VALUES (${$(7)})
    ON CONFLICT (id) DO UPDATE SET target = excluded.target, starts_at = excluded.starts_at, until = excluded.until, comment = excluded.comment,
    created_at = excluded.created_at, match = excluded.match`,
};

/** One of the hub's writes, in the commit's transaction. */
export async function hubWrite(c: ClientBase, w: HubWrite): Promise<void> {
  switch (w.op) {
    case 'buckets':
      for (const a of w.adds) {
        for (const [size, start] of [[HOUR_MS, hourOf(w.at)], [DAY_MS, dayOf(w.at)]] as const) {
          await c.query(SQL.bucket, [a.target, size, start, a.checks, a.failures, a.incidents, ...Array.from({ length: L }, (_, i) => a.latency[i] ?? 0)]);
        }
      }
      return;
    case 'agent': {
      const a = w.row;
      await c.query(SQL.agent, [a.name, a.instance, a.version, a.firstSeenAt, a.instanceSince, a.lastReportAt, a.intervalMs, a.state, json(a.targets)]);
      return;
    }
    case 'target': {
      const t = w.row;
      await c.query(SQL.target, [t.name, t.state, t.since, t.lastFailure, t.alerted, t.staleWhy ?? null, t.reportedAt ?? null]);
      return;
    }
    case 'incident': {
      const i = w.row;
      const ledger = i.opener !== undefined || i.witnesses !== undefined ? json({ opener: i.opener, witnesses: i.witnesses }) : null;
      await c.query(SQL.incident, [i.id, i.target, i.state, i.openedAt, i.resolvedAt, i.message, i.reason, i.silenced, json(i.recipients), json(i.events), ledger]);
      return;
    }
    case 'silence': {
      const s = w.row;
      await c.query(SQL.silence, [s.id, s.target, s.startsAt, s.until, s.comment, s.createdAt, s.match ? json(s.match) : null]);
      return;
    }
    case 'unsilence':
      await c.query('DELETE FROM hub_silences WHERE id = $1', [w.id]);
      return;
    case 'forget-agent':
      await c.query('DELETE FROM hub_agents WHERE name = $1', [w.name]);
      return;
    case 'forget-target':
      await c.query('DELETE FROM hub_targets WHERE name = $1', [w.name]);
      await c.query('DELETE FROM hub_buckets WHERE target = $1', [w.name]);
      return;
  }
}

/** Everything the hub holds in memory, read at start: five queries; the buckets packed (PackedBuckets). */
export async function hubLoad(c: ClientBase, now: number, hourlySince: number, dailySince: number): Promise<HubSnapshot> {
  const agents = (await c.query<Row>('SELECT * FROM hub_agents')).rows.map(toAgent);
  const targets = (await c.query<Row>('SELECT * FROM hub_targets')).rows.map(toTarget);
  const buckets = await c.query({
    text: `SELECT target, size, start, checks, failures, incidents, ${LCOLS.join(', ')} FROM hub_buckets WHERE (size = $1 AND start >= $2) OR (size = $3 AND start >= $4)`,
    values: [HOUR_MS, hourlySince, DAY_MS, dailySince],
    rowMode: 'array',
  });
  const open = (await c.query<Row>("SELECT * FROM hub_incidents WHERE state = 'open' ORDER BY opened_at DESC")).rows.map(toIncident);
  return { agents, targets, buckets: packBuckets(buckets.rows as unknown[][]), open, silences: await silencesNow(c, now) };
}

/** The channel a mailer NOTIFYs (its name the payload) in a commit that added or removed a silence. */
export const SILENCES_CHANNEL = 'ch2_silences';

/** The silences not yet ended, soonest end first: at start, and when another mailer added or removed one. */
export async function silencesNow(c: ClientBase, now: number): Promise<SilenceRow[]> {
  return (await c.query<Row>('SELECT * FROM hub_silences WHERE until > $1 ORDER BY until', [now])).rows.map(toSilence);
}

/** Incidents, newest first, with their deliveries: two queries. */
export async function incidents(c: ClientBase, q: IncidentQuery): Promise<IncidentRecord[]> {
  const where = [q.state === 'all' ? 'true' : `state = '${q.state === 'open' ? 'open' : 'closed'}'`, ...(q.target === undefined ? [] : ['target = $2'])].join(' AND ');
  const rows = (await c.query<Row>(`SELECT * FROM hub_incidents WHERE ${where} ORDER BY opened_at DESC LIMIT $1`, q.target === undefined ? [q.limit] : [q.limit, q.target])).rows;
  if (rows.length === 0) return [];
  const byId = new Map<string, IncidentRecord>(rows.map(toIncident).map((i) => [i.id, { ...i, deliveries: [] }]));
  const deliveries = await c.query<Row>('SELECT incident, alert_id, channel, state, attempts, error, at FROM deliveries WHERE incident = ANY($1::text[]) ORDER BY at, channel', [[...byId.keys()]]);
  for (const r of deliveries.rows) byId.get(String(r.incident))?.deliveries.push(toDelivery(r));
  return [...byId.values()];
}

/** The nflog at start: per open incident, the channels that delivered one of its alerts (a down: its up closes it). */
export async function notifyLog(c: ClientBase): Promise<NotifyEntry[]> {
  const r = await c.query<{ incident: string; channel: string }>(
    "SELECT DISTINCT d.incident, d.channel FROM deliveries d JOIN hub_incidents i ON i.id = d.incident WHERE i.state = 'open' AND d.state = 'delivered'",
  );
  return r.rows.map((row) => ({ incident: row.incident, channel: row.channel }));
}

/**
 * One incident's nflog, wherever it was told (several mailers on one
 * database): the channels that delivered one of its alerts, as at start
 * (its downs), less those that delivered its up already. An alert row gone
 * (past the dedupe window) counts as a down.
 */
export async function toldOf(c: ClientBase, incident: string): Promise<string[]> {
  const r = await c.query<{ channel: string }>(
    `SELECT d.channel FROM deliveries d LEFT JOIN alerts a ON a.seq = d.alert_seq WHERE d.incident = $1 AND d.state = 'delivered'
     GROUP BY d.channel HAVING bool_and(coalesce(a.alert->>'status', 'down') <> 'up') ORDER BY d.channel`,
    [incident],
  );
  return r.rows.map((row) => row.channel);
}

/** When each named agent last reported, and as which instance, as the database has it (any mailer's writes). */
export async function lastReports(c: ClientBase, names: readonly string[]): Promise<Map<string, { at: number; instance: string }>> {
  const r = await c.query<{ name: string; last_report: number; instance: string }>('SELECT name, last_report, instance FROM hub_agents WHERE name = ANY($1::text[])', [names]);
  return new Map(r.rows.map((row) => [row.name, { at: Number(row.last_report), instance: row.instance }]));
}

/** Forget what is past its retention (hub/model.ts). */
export async function hubPrune(c: ClientBase, hourlyBefore: number, dailyBefore: number, now: number): Promise<void> {
  await c.query('DELETE FROM hub_buckets WHERE size = $1 AND start < $2', [HOUR_MS, hourlyBefore]);
  await c.query('DELETE FROM hub_buckets WHERE size = $1 AND start < $2', [DAY_MS, dailyBefore]);
  await c.query("DELETE FROM hub_incidents WHERE state = 'closed' AND opened_at < $1", [dailyBefore]);
  await c.query('DELETE FROM deliveries d WHERE d.incident IS NOT NULL AND d.at < $1 AND NOT EXISTS (SELECT 1 FROM hub_incidents i WHERE i.id = d.incident) AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.seq = d.alert_seq)', [dailyBefore]);
  await c.query('DELETE FROM hub_silences WHERE until < $1', [now]);
}
