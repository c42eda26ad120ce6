/**
 * The hub's tables and every SQL statement on them (the alerts' are in
 * sqlite-queries.ts). Time buckets: one row per target, size (an hour or a
 * day, UTC) and start, with its checks, failures, incidents opened and the
 * latency histogram as columns, so a report adds to a bucket with one upsert
 * and never reads it first. Storage grows with targets × buckets, never with
 * checks. Deliveries: one row per (incident, alert, channel), replaced as the
 * channel's progress changes, so an incident keeps its deliveries after the
 * alerts themselves are forgotten.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { LATENCY_BUCKETS_MS } from '../../shared/wire-report.ts';
import type { NotifyEntry } from './store.ts';
import { packBuckets, toAgent, toDelivery, toIncident, toSilence, toTarget } from './hub-rows.ts';
import {
  type AgentRow,
  type BucketAdd,
  DAY_MS,
  type DeliveryRow,
  HOUR_MS,
  type HubSnapshot,
  type IncidentQuery,
  type PackedBuckets,
  type IncidentRecord,
  type IncidentRow,
  type SilenceRow,
  type TargetRow,
} from '../hub/model.ts';

type Row = Record<string, SQLInputValue>;
const L = LATENCY_BUCKETS_MS.length + 1;
const LCOLS = Array.from({ length: L }, (_, i) => `l${i}`);

export const HUB_SCHEMA = `
CREATE TABLE IF NOT EXISTS hub_agents (name TEXT PRIMARY KEY, instance TEXT NOT NULL, version TEXT NOT NULL, first_seen INTEGER NOT NULL, instance_since INTEGER NOT NULL,
  last_report INTEGER NOT NULL, interval_ms INTEGER NOT NULL, state TEXT NOT NULL, targets TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hub_targets (name TEXT PRIMARY KEY, state TEXT NOT NULL, since INTEGER, last_failure TEXT, alerted TEXT, stale_why TEXT, reported_at INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hub_buckets (target TEXT NOT NULL, size INTEGER NOT NULL, start INTEGER NOT NULL,
  checks INTEGER NOT NULL, failures INTEGER NOT NULL, incidents INTEGER NOT NULL, ${LCOLS.map((c) => `${c} INTEGER NOT NULL`).join(', ')},
  PRIMARY KEY (size, start, target)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hub_incidents (id TEXT PRIMARY KEY, target TEXT NOT NULL, state TEXT NOT NULL, opened_at INTEGER NOT NULL,
  resolved_at INTEGER, message TEXT NOT NULL, reason TEXT, silenced INTEGER NOT NULL, recipients TEXT NOT NULL, events TEXT NOT NULL, ledger TEXT);
CREATE INDEX IF NOT EXISTS hub_incidents_open ON hub_incidents (opened_at) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS hub_incidents_by_age ON hub_incidents (opened_at);
CREATE TABLE IF NOT EXISTS hub_deliveries (incident TEXT NOT NULL, alert_seq INTEGER NOT NULL, channel TEXT NOT NULL, alert_id TEXT NOT NULL, state TEXT NOT NULL,
  attempts INTEGER NOT NULL, error TEXT, at INTEGER NOT NULL, PRIMARY KEY (incident, alert_seq, channel)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hub_silences (id TEXT PRIMARY KEY, target TEXT NOT NULL, starts_at INTEGER NOT NULL, until INTEGER NOT NULL,
  comment TEXT NOT NULL, created_at INTEGER NOT NULL, match TEXT) WITHOUT ROWID;
`;

/** Columns added since the tables were first made (in HUB_SCHEMA too): added to an older store at open (migrateHub). */
const ADDED_COLUMNS: ReadonlyArray<readonly [table: string, column: string]> = [
  ['hub_targets', 'stale_why TEXT'],
  ['hub_targets', 'reported_at INTEGER'],
  ['hub_incidents', 'ledger TEXT'],
  ['hub_silences', 'match TEXT'],
];

/** Bring an older store's hub tables up to HUB_SCHEMA (inside the opening transaction). */
export function migrateHub(db: DatabaseSync): void {
  for (const [table, column] of ADDED_COLUMNS) {
    const have = (db.prepare(`PRAGMA table_info(${table})`).all() as Row[]).map((r) => String(r.name));
    if (!have.includes(column.split(' ')[0]!)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column}`);
  }
}

const hourOf = (at: number): number => at - (at % HOUR_MS);
const dayOf = (at: number): number => at - (at % DAY_MS);

export class SqliteHubQueries {
  readonly #s: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    const p = (sql: string): StatementSync => db.prepare(sql);
    this.#s = {
      addBucket: p(
        `INSERT INTO hub_buckets (target, size, start, checks, failures, incidents, ${LCOLS.join(', ')}) VALUES (${Array(6 + L).fill('?').join(', ')})
         ON CONFLICT (size, start, target) DO UPDATE SET checks = checks + excluded.checks, failures = failures + excluded.failures,
         incidents = incidents + excluded.incidents, ${LCOLS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
      ),
      agent: p('INSERT OR REPLACE INTO hub_agents (name, instance, version, first_seen, instance_since, last_report, interval_ms, state, targets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      target: p('INSERT OR REPLACE INTO hub_targets (name, state, since, last_failure, alerted, stale_why, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      incident: p('INSERT OR REPLACE INTO hub_incidents (id, target, state, opened_at, resolved_at, message, reason, silenced, recipients, events, ledger) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      forgetAgent: p('DELETE FROM hub_agents WHERE name = ?'),
      forgetTarget: p('DELETE FROM hub_targets WHERE name = ?'),
      forgetBuckets: p('DELETE FROM hub_buckets WHERE target = ?'),
      // A change of the alert rewrites every channel's row; only a channel whose progress moved takes the new time.
      // Keyed by the alert's seq (acceptance order), so an incident's rows go in at the end of its range.
      delivery: p(`INSERT INTO hub_deliveries (incident, alert_seq, channel, alert_id, state, attempts, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (incident, alert_seq, channel) DO UPDATE SET at = CASE WHEN state IS NOT excluded.state OR attempts IS NOT excluded.attempts THEN excluded.at ELSE at END,
        state = excluded.state, attempts = excluded.attempts, error = excluded.error`),
      silence: p('INSERT OR REPLACE INTO hub_silences (id, target, starts_at, until, comment, created_at, match) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      // The nflog at start: per open incident, the channels that delivered one of its alerts (a down: its up closes it).
      told: p("SELECT DISTINCT d.incident, d.channel FROM hub_deliveries d JOIN hub_incidents i ON i.id = d.incident WHERE i.state = 'open' AND d.state = 'delivered'"),
      unsilence: p('DELETE FROM hub_silences WHERE id = ?'),
      agents: p('SELECT * FROM hub_agents'),
      targets: p('SELECT * FROM hub_targets'),
      buckets: p(`SELECT target, size, start, checks, failures, incidents, ${LCOLS.join(', ')} FROM hub_buckets WHERE (size = ? AND start >= ?) OR (size = ? AND start >= ?)`),
      open: p("SELECT * FROM hub_incidents WHERE state = 'open' ORDER BY opened_at DESC"),
      silences: p('SELECT * FROM hub_silences WHERE until > ? ORDER BY until'),
      pruneBuckets: p('DELETE FROM hub_buckets WHERE size = ? AND start < ?'),
      pruneIncidents: p("DELETE FROM hub_incidents WHERE state = 'closed' AND opened_at < ?"),
      pruneDeliveries: p('DELETE FROM hub_deliveries WHERE at < ? AND incident NOT IN (SELECT id FROM hub_incidents)'),
      pruneSilences: p('DELETE FROM hub_silences WHERE until < ?'),
    };
    for (const state of ['open', 'closed', 'all'] as const) {
      const where = state === 'all' ? '1' : `state = '${state}'`;
      this.#s[`incidents-${state}`] = p(`SELECT * FROM hub_incidents WHERE ${where} ORDER BY opened_at DESC LIMIT ?`);
      this.#s[`incidents-${state}-target`] = p(`SELECT * FROM hub_incidents WHERE ${where} AND target = ? ORDER BY opened_at DESC LIMIT ?`);
    }
    this.#s.deliveriesOf = p('SELECT * FROM hub_deliveries WHERE incident IN (SELECT value FROM json_each(?)) ORDER BY at, channel');
  }

  /** Add a report's checks into the hour and the day of `at`. */
  addBuckets(at: number, adds: readonly BucketAdd[]): void {
    const s = this.#s.addBucket!;
    for (const a of adds) {
      for (const [size, start] of [[HOUR_MS, hourOf(at)], [DAY_MS, dayOf(at)]] as const) {
        s.run(a.target, size, start, a.checks, a.failures, a.incidents, ...Array.from({ length: L }, (_, i) => a.latency[i] ?? 0));
      }
    }
  }

  putAgent(a: AgentRow): void {
    this.#s.agent!.run(a.name, a.instance, a.version, a.firstSeenAt, a.instanceSince, a.lastReportAt, a.intervalMs, a.state, JSON.stringify(a.targets));
  }

  putTarget(t: TargetRow): void {
    this.#s.target!.run(t.name, t.state, t.since, t.lastFailure, t.alerted, t.staleWhy ?? null, t.reportedAt ?? null);
  }

  putIncident(i: IncidentRow): void {
    const ledger = i.opener !== undefined || i.witnesses !== undefined ? JSON.stringify({ opener: i.opener, witnesses: i.witnesses }) : null;
    this.#s.incident!.run(i.id, i.target, i.state, i.openedAt, i.resolvedAt, i.message, i.reason, i.silenced ? 1 : 0, JSON.stringify(i.recipients), JSON.stringify(i.events), ledger);
  }

  forgetAgent(name: string): void {
    this.#s.forgetAgent!.run(name);
  }

  /** A target forgotten: its row and its buckets (its closed incidents stay, as history, until their retention). */
  forgetTarget(name: string): void {
    this.#s.forgetTarget!.run(name);
    this.#s.forgetBuckets!.run(name);
  }

  /** A channel's progress on the alert of this seq, kept with its incident. */
  putDelivery(d: DeliveryRow, alertSeq: number): void {
    this.#s.delivery!.run(d.incident, alertSeq, d.channel, d.alertId, d.state, d.attempts, d.error, d.at);
  }

  putSilence(s: SilenceRow): void {
    this.#s.silence!.run(s.id, s.target, s.startsAt, s.until, s.comment, s.createdAt, s.match ? JSON.stringify(s.match) : null);
  }

  /** What each channel was told, per open incident (delivery/notify-log.ts). */
  notifyLog(): NotifyEntry[] {
    return (this.#s.told!.all() as Row[]).map((r) => ({ incident: String(r.incident), channel: String(r.channel) }));
  }

  deleteSilence(id: string): void {
    this.#s.unsilence!.run(id);
  }

  /** Everything the hub holds in memory, read at start: five queries; the buckets packed (PackedBuckets). */
  load(now: number, hourlySince: number, dailySince: number): HubSnapshot {
    return {
      agents: (this.#s.agents!.all() as Row[]).map(toAgent),
      targets: (this.#s.targets!.all() as Row[]).map(toTarget),
      buckets: this.#packedBuckets(hourlySince, dailySince),
      open: (this.#s.open!.all() as Row[]).map(toIncident),
      silences: (this.#s.silences!.all(now) as Row[]).map(toSilence),
    };
  }

  #packedBuckets(hourlySince: number, dailySince: number): PackedBuckets {
    const statement = this.#s.buckets!;
    statement.setReturnArrays(true);
    const rows = statement.all(HOUR_MS, hourlySince, DAY_MS, dailySince) as unknown as SQLInputValue[][];
    return packBuckets(rows);
  }

  /** Incidents, newest first, with their deliveries: two queries. */
  incidents(q: IncidentQuery): IncidentRecord[] {
    const rows = (q.target === undefined ? this.#s[`incidents-${q.state}`]!.all(q.limit) : this.#s[`incidents-${q.state}-target`]!.all(q.target, q.limit)) as Row[];
    const incidents = rows.map(toIncident);
    if (incidents.length === 0) return [];
    const byId = new Map<string, IncidentRecord>(incidents.map((i) => [i.id, { ...i, deliveries: [] }]));
    for (const r of this.#s.deliveriesOf!.all(JSON.stringify([...byId.keys()])) as Row[]) byId.get(String(r.incident))?.deliveries.push(toDelivery(r));
    return [...byId.values()];
  }

  /** Forget what is past its retention (hub/model.ts); returns the rows removed. */
  prune(hourlyBefore: number, dailyBefore: number, now: number): number {
    let n = Number(this.#s.pruneBuckets!.run(HOUR_MS, hourlyBefore).changes);
    n += Number(this.#s.pruneBuckets!.run(DAY_MS, dailyBefore).changes);
    n += Number(this.#s.pruneIncidents!.run(dailyBefore).changes);
    n += Number(this.#s.pruneDeliveries!.run(dailyBefore).changes);
    n += Number(this.#s.pruneSilences!.run(now).changes);
    return n;
  }

}
