/**
 * An agent's report to the hub (`POST /api/v1/reports`, JSON, gzip when
 * large, the mailer token as for alerts), version 1. Sent every
 * --report-every; on `docker stop` a last one with `goodbye: true`. Per
 * target: its state now, checks and failures since the last report, their
 * response times in fixed buckets (LATENCY_BUCKETS_MS upper bounds, the last
 * one open), so reports add up exactly, and the last failure's reason.
 * State changes still go at once as alerts; a report never replaces one.
 *
 * A report the mailer cannot read is a 400 with the reason (parseReport).
 * An unknown field is refused, so a new optional field (certExpiresAt) is
 * sent only to a mailer that reads it: an older one answers 400 naming it.
 */
import { AGENT_INSTANCE_PATTERN, AGENT_NAME_PATTERN, FIELD_MAX } from './wire-json.ts';

export const REPORTS_PATH = '/api/v1/reports';
export const REPORT_VERSION = 1;
/** The agents' default --report-every, ms (the mailer warns of an --agent-silence at or below it). */
export const DEFAULT_REPORT_EVERY_MS = 10_000;
/** Upper bounds (ms) of the latency buckets; a last, open bucket counts the rest. */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;
export const REPORT_MAX_TARGETS = 10_000;
export const REPORT_MAX_BYTES = 8 * 1024 * 1024;
export const TARGET_STATES = ['up', 'down', 'unknown'] as const;
export type TargetState = (typeof TARGET_STATES)[number];

export interface TargetReport {
  name: string;
  state: TargetState;
  /** Checks done since the last report, and how many failed. */
  checks: number;
  failures: number;
  /** Counts per LATENCY_BUCKETS_MS bucket, plus one open bucket: LATENCY_BUCKETS_MS.length + 1 numbers. */
  latency: number[];
  /** The last failure's one-line reason, if any failed since the last report. */
  lastFailure?: string;
  /** https: when the soonest certificate of the target's chain expires (ISO 8601), as last seen. */
  certExpiresAt?: string;
}

export interface AgentReport {
  v: typeof REPORT_VERSION;
  agent: {
    /** --agent-name (default the hostname: the container's). */
    name: string;
    /** Random per start: a restart is told apart from a second agent. */
    instance: string;
    version: string;
  };
  /** When the agent sent it (ISO 8601). */
  sentAt: string;
  /** --report-every, ms: the hub expects the next within it. */
  intervalMs: number;
  /** The last report of an agent that is stopping. */
  goodbye?: boolean;
  targets: TargetReport[];
}

export type ReportParse = { ok: true; value: AgentReport } | { ok: false; error: string };

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownKey(record: Record<string, unknown>, known: readonly string[], where: string): string | undefined {
  const key = Object.keys(record).find((k) => !known.includes(k));
  return key === undefined ? undefined : `${where}: unknown field ${JSON.stringify(key.slice(0, 40))}`;
}

function target(data: unknown, i: number): TargetReport | string {
  const where = `targets[${i}]`;
  if (!isRecord(data)) return `${where} must be an object`;
  const bad = unknownKey(data, ['name', 'state', 'checks', 'failures', 'latency', 'lastFailure', 'certExpiresAt'], where);
  if (bad) return bad;
  const { name, state, checks, failures, latency, lastFailure, certExpiresAt } = data;
  if (typeof name !== 'string' || name.length === 0 || name.length > FIELD_MAX) return `${where}.name must be a string of 1 to ${FIELD_MAX} characters`;
  if (!TARGET_STATES.includes(state as TargetState)) return `${where}.state must be up, down or unknown`;
  if (!count(checks) || !count(failures) || failures > checks) return `${where}: checks and failures must be whole numbers, failures at most checks`;
  if (!Array.isArray(latency) || latency.length !== LATENCY_BUCKETS_MS.length + 1 || !latency.every(count)) {
    return `${where}.latency must be ${LATENCY_BUCKETS_MS.length + 1} whole numbers`;
  }
  if (latency.reduce((a: number, b: number) => a + b, 0) > checks) return `${where}.latency counts more checks than checks`;
  if (lastFailure !== undefined && (typeof lastFailure !== 'string' || lastFailure.length > FIELD_MAX)) return `${where}.lastFailure must be a string of at most ${FIELD_MAX} characters`;
  if (certExpiresAt !== undefined && (typeof certExpiresAt !== 'string' || certExpiresAt.length > 64 || Number.isNaN(Date.parse(certExpiresAt)))) return `${where}.certExpiresAt must be an ISO 8601 date`;
  return {
    name,
    state: state as TargetState,
    checks,
    failures,
    latency: latency as number[],
    ...(lastFailure !== undefined ? { lastFailure } : {}),
    ...(certExpiresAt !== undefined ? { certExpiresAt } : {}),
  };
}

export function validateReport(data: unknown): ReportParse {
  if (!isRecord(data)) return { ok: false, error: 'a report must be a JSON object' };
  if (data.v !== REPORT_VERSION) return { ok: false, error: `report version ${JSON.stringify(data.v)} is not supported (this mailer reads version ${REPORT_VERSION})` };
  const bad = unknownKey(data, ['v', 'agent', 'sentAt', 'intervalMs', 'goodbye', 'targets'], 'report');
  if (bad) return { ok: false, error: bad };
  const agent = data.agent;
  if (!isRecord(agent)) return { ok: false, error: 'agent must be an object' };
  const badAgent = unknownKey(agent, ['name', 'instance', 'version'], 'agent');
  if (badAgent) return { ok: false, error: badAgent };
  if (typeof agent.name !== 'string' || !AGENT_NAME_PATTERN.test(agent.name)) return { ok: false, error: 'agent.name must be 1 to 128 printable ASCII characters' };
  if (typeof agent.instance !== 'string' || !AGENT_INSTANCE_PATTERN.test(agent.instance)) return { ok: false, error: 'agent.instance must be 8 to 64 of A-Z a-z 0-9 -' };
  if (typeof agent.version !== 'string' || agent.version.length > 64) return { ok: false, error: 'agent.version must be a string of at most 64 characters' };
  if (typeof data.sentAt !== 'string' || Number.isNaN(Date.parse(data.sentAt))) return { ok: false, error: 'sentAt must be an ISO 8601 date' };
  if (!count(data.intervalMs) || data.intervalMs < 1000 || data.intervalMs > 86_400_000) return { ok: false, error: 'intervalMs must be a whole number from 1000 to 86400000' };
  if (data.goodbye !== undefined && typeof data.goodbye !== 'boolean') return { ok: false, error: 'goodbye must be true or false' };
  if (!Array.isArray(data.targets) || data.targets.length > REPORT_MAX_TARGETS) return { ok: false, error: `targets must be a list of at most ${REPORT_MAX_TARGETS}` };
  const targets: TargetReport[] = [];
  const names = new Set<string>();
  for (const [i, t] of data.targets.entries()) {
    const parsed = target(t, i);
    if (typeof parsed === 'string') return { ok: false, error: parsed };
    if (names.has(parsed.name)) return { ok: false, error: `targets[${i}].name is given twice` };
    names.add(parsed.name);
    targets.push(parsed);
  }
  return {
    ok: true,
    value: {
      v: REPORT_VERSION,
      agent: { name: agent.name, instance: agent.instance, version: agent.version },
      sentAt: data.sentAt,
      intervalMs: data.intervalMs,
      ...(data.goodbye === true ? { goodbye: true } : {}),
      targets,
    },
  };
}

export function parseReport(body: Buffer | string): ReportParse {
  let data: unknown;
  try {
    data = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    return { ok: false, error: `body is not valid JSON: ${(err as Error).message}` };
  }
  return validateReport(data);
}

/** The bucket a response time falls in. */
export function latencyBucket(ms: number): number {
  const i = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
  return i < 0 ? LATENCY_BUCKETS_MS.length : i;
}
