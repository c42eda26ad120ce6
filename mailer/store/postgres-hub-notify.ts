/**
 * The hub's rows across mailers on one database (several mailers, all
 * active): a commit that writes hub rows (agents, targets, incidents,
 * buckets, forgotten agents and targets) NOTIFYs HUB_CHANNEL in its
 * transaction, the payload the mailer's name, a newline, and what it wrote
 * (hubNotices: the agents', targets' and buckets' names and the incidents'
 * ids, in as many notices as keep each under NOTIFY's 8000 bytes). Another mailer's
 * listener (postgres-listen.ts) hands the payload to readChanges, which reads
 * those rows as they are now (so a notice read late brings the latest, and
 * notices in any order come out the same) for the hub to apply
 * (hub/hub-sync.ts). No payload (the listener connected again): every agent
 * and target, the incidents open or closed within a day, the buckets of the
 * current and previous hour and day.
 */
import type { ClientBase } from 'pg';
import { LATENCY_BUCKETS_MS } from '../../shared/wire-report.ts';
import { DAY_MS, HOUR_MS, type HubChanges, type HubWrite } from '../hub/model.ts';
import { packBuckets, toAgent, toIncident, toTarget } from './hub-rows.ts';

/** The channel a mailer NOTIFYs in a commit that wrote hub rows. */
export const HUB_CHANNEL = 'ch2_hub';

/** What a notice names: agents, targets (their rows), buckets (their targets), incidents (ids); all: everything. */
export interface HubTold {
  all?: boolean;
  a: string[];
  t: string[];
  b: string[];
  i: string[];
}

/** Under Postgres's 8000 bytes for a NOTIFY payload, with room for the mailer's name. */
const MAX_PAYLOAD = 7000;
const LCOLS = Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) => `l${i}`);

/**
 * The payloads of a commit's notices (each after the mailer's name and a newline): what it wrote,
 * split into as many notices as keep each under MAX_PAYLOAD; none when it wrote no hub row but silences.
 */
export function hubNotices(writes: readonly HubWrite[]): string[] {
  const named = { a: new Set<string>(), t: new Set<string>(), b: new Set<string>(), i: new Set<string>() };
  for (const w of writes) {
    if (w.op === 'agent') named.a.add(w.row.name);
    else if (w.op === 'forget-agent') named.a.add(w.name);
    else if (w.op === 'target') named.t.add(w.row.name);
    else if (w.op === 'forget-target') named.t.add(w.name);
    else if (w.op === 'incident') named.i.add(w.row.id);
    else if (w.op === 'buckets') for (const add of w.adds) named.b.add(add.target);
  }
  const out: string[] = [];
  let told: HubTold = { a: [], t: [], b: [], i: [] };
  let size = 40;
  for (const kind of ['a', 't', 'b', 'i'] as const) {
    for (const name of named[kind]) {
      const cost = Buffer.byteLength(JSON.stringify(name)) + 1;
      if (size + cost > MAX_PAYLOAD) {
        out.push(JSON.stringify(told));
        told = { a: [], t: [], b: [], i: [] };
        size = 40;
      }
      told[kind].push(name);
      size += cost;
    }
  }
  if (told.a.length + told.t.length + told.b.length + told.i.length > 0) out.push(JSON.stringify(told));
  return out;
}

/** What two notices told, as one read: a busy cluster's notices while a read is under way go in the next one. */
export function mergeTold(x: HubTold, y: HubTold): HubTold {
  if (x.all === true || y.all === true) return { all: true, a: [], t: [], b: [], i: [] };
  const union = (p: string[], q: string[]): string[] => [...new Set([...p, ...q])];
  return { a: union(x.a, y.a), t: union(x.t, y.t), b: union(x.b, y.b), i: union(x.i, y.i) };
}

/** A notice's payload (after the name) read back; undefined (or not one of ours): everything. */
export function parseTold(payload: string | undefined): HubTold {
  const everything: HubTold = { all: true, a: [], t: [], b: [], i: [] };
  if (payload === undefined || payload === '*') return everything;
  try {
    const v = JSON.parse(payload) as Partial<HubTold>;
    const list = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
    return { a: list(v.a), t: list(v.t), b: list(v.b), i: list(v.i) };
  } catch {
    return everything;
  }
}

type Row = Record<string, unknown>;

/** The rows a notice named (or everything), as the database has them now: at most four queries. */
export async function readChanges(c: ClientBase, told: HubTold, now: number): Promise<HubChanges> {
  const all = told.all === true;
  const some = async (names: readonly string[], table: string, key: string): Promise<Row[]> =>
    names.length === 0 ? [] : (await c.query<Row>(`SELECT * FROM ${table} WHERE ${key} = ANY($1::text[])`, [names])).rows;
  const agents = (all ? (await c.query<Row>('SELECT * FROM hub_agents')).rows : await some(told.a, 'hub_agents', 'name')).map(toAgent);
  const targets = (all ? (await c.query<Row>('SELECT * FROM hub_targets')).rows : await some(told.t, 'hub_targets', 'name')).map(toTarget);
  const incidents = (all ? (await c.query<Row>("SELECT * FROM hub_incidents WHERE state = 'open' OR resolved_at >= $1", [now - DAY_MS])).rows : await some(told.i, 'hub_incidents', 'id')).map(toIncident);
  const hour = now - (now % HOUR_MS) - HOUR_MS;
  const day = now - (now % DAY_MS) - DAY_MS;
  const which = all ? '' : 'AND target = ANY($5::text[])';
  const buckets = all || told.b.length > 0
    ? await c.query({
        text: `SELECT target, size, start, checks, failures, incidents, ${LCOLS.join(', ')} FROM hub_buckets WHERE ((size = $1 AND start >= $2) OR (size = $3 AND start >= $4)) ${which}`,
        values: all ? [HOUR_MS, hour, DAY_MS, day] : [HOUR_MS, hour, DAY_MS, day, told.b],
        rowMode: 'array',
      })
    : { rows: [] };
  const found = (rows: ReadonlyArray<{ name: string }>, asked: readonly string[]): string[] => {
    const seen = new Set(rows.map((r) => r.name));
    return asked.filter((n) => !seen.has(n));
  };
  return { full: all, agents, goneAgents: found(agents, told.a), targets, goneTargets: found(targets, told.t), incidents, buckets: packBuckets(buckets.rows as unknown[][]) };
}
