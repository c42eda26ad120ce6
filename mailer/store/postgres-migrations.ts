/**
 * The Postgres store's schema, as numbered migrations applied in order at
 * start, each once (schema_migrations holds the versions applied), in one
 * transaction under an advisory lock of their own, so mailers starting at
 * the same time on one database never apply one twice. A database with a
 * version this mailer does not know (written by a newer one) is refused.
 *
 * Tables: alerts (one row an alert: its state pending, sent or dead, as in
 * the SQLite store); deliveries (one row per alert and channel: its progress,
 * and the incident it is kept with once it has progress; claimed_by and
 * lease_until are the claim a mailer holds on it, for several mailers on one
 * database, claimed with FOR UPDATE SKIP LOCKED: postgres-claim-queries.ts;
 * migration 2 indexes the owed rows by lease, for the scans of lapsed
 * claims); the hub's tables (agents,
 * targets, buckets, incidents, silences), as in sqlite-hub-queries.ts.
 * Times are ms since the epoch (bigint), as in the SQLite store.
 */
import type { ClientBase } from 'pg';
import { LATENCY_BUCKETS_MS } from '../../shared/wire-report.ts';
import { StoreOpenError } from './store.ts';

/** Advisory lock keys (two int4): the class is "ch2\0"; 2 is the migrations (1 was the store's hold, before several mailers shared a database). */
export const LOCK_CLASS = 0x63683200;
export const MIGRATE_KEY = 2;

const LCOLS = Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) => `l${i}`);

interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'alerts, deliveries and the hub',
    sql: `
CREATE TABLE alerts (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  state text NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
  received_at bigint NOT NULL,
  dead_at bigint,
  finished_at bigint,
  via text NOT NULL,
  line text NOT NULL,
  alert json NOT NULL
);
CREATE INDEX alerts_pending ON alerts (seq) WHERE state = 'pending';
CREATE INDEX alerts_sent ON alerts (seq) WHERE state = 'sent';
CREATE INDEX alerts_sent_by_age ON alerts (received_at) WHERE state = 'sent';
CREATE INDEX alerts_dead ON alerts (seq) WHERE dead_at IS NOT NULL;
CREATE TABLE deliveries (
  alert_seq bigint NOT NULL,
  channel text NOT NULL,
  ord smallint NOT NULL,
  alert_id text NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'silenced', 'delivered', 'dead', 'skipped')),
  attempts integer NOT NULL,
  error text,
  at bigint NOT NULL,
  incident text,
  claimed_by text,
  lease_until bigint,
  PRIMARY KEY (alert_seq, channel)
);
CREATE INDEX deliveries_owed ON deliveries (alert_seq) WHERE state IN ('pending', 'silenced');
CREATE INDEX deliveries_by_incident ON deliveries (incident, at) WHERE incident IS NOT NULL;
CREATE TABLE hub_agents (name text PRIMARY KEY, instance text NOT NULL, version text NOT NULL, first_seen bigint NOT NULL, instance_since bigint NOT NULL,
  last_report bigint NOT NULL, interval_ms bigint NOT NULL, state text NOT NULL, targets json NOT NULL);
CREATE TABLE hub_targets (name text PRIMARY KEY, state text NOT NULL, since bigint, last_failure text, alerted text, stale_why text, reported_at bigint);
CREATE TABLE hub_buckets (target text NOT NULL, size bigint NOT NULL, start bigint NOT NULL,
  checks bigint NOT NULL, failures bigint NOT NULL, incidents bigint NOT NULL, ${LCOLS.map((c) => `${c} bigint NOT NULL`).join(', ')},
  PRIMARY KEY (size, start, target));
CREATE TABLE hub_incidents (id text PRIMARY KEY, target text NOT NULL, state text NOT NULL, opened_at bigint NOT NULL,
  resolved_at bigint, message text NOT NULL, reason text, silenced boolean NOT NULL, recipients json NOT NULL, events json NOT NULL, ledger json);
CREATE INDEX hub_incidents_open ON hub_incidents (opened_at) WHERE state = 'open';
CREATE INDEX hub_incidents_by_age ON hub_incidents (opened_at);
CREATE TABLE hub_silences (id text PRIMARY KEY, target text NOT NULL, starts_at bigint NOT NULL, until bigint NOT NULL,
  comment text NOT NULL, created_at bigint NOT NULL, match json);
CREATE TABLE probe (x bytea);
`,
  },
  {
    version: 2,
    name: 'owed deliveries by lease',
    sql: `CREATE INDEX deliveries_owed_by_lease ON deliveries (lease_until) WHERE state IN ('pending', 'silenced');`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** Apply what the database lacks, in one transaction under the migrations' lock; returns the versions applied. */
export async function migrate(client: ClientBase, label: string): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, MIGRATE_KEY]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)));
    const newer = [...done].filter((v) => v > SCHEMA_VERSION);
    if (newer.length > 0) {
      throw new StoreOpenError('unusable', `The store ${label} has schema version ${Math.max(...newer)}, newer than this mailer's ${SCHEMA_VERSION}; run the newer mailer, or give this one another database (--store / STORE_URL).`);
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
