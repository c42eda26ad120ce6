/**
 * The hub's registry of agents, keyed by --agent-name: per agent its current
 * instance and version, when it last reported, the interval it promised, its
 * targets (name, state now, running totals of checks and failures) and its
 * state: reporting, silent (the silence watcher, agent-silence.ts, found no
 * report in time) or stopped (its last report said goodbye). A report under a
 * known name with a new instance id is that agent restarted: the name keeps
 * its record (and its targets' totals) and the log says so.
 *
 * Kept in memory; hub.ts writes each agent to the store after its report and
 * restores the registry from it at start (restore), so a mailer restart
 * forgets no agent (a silent one alarms again after its silence). The
 * targets of all agents together are at most the board's MAX_TARGETS
 * (roomFor; hub.ts keeps a report to what fits and what the board takes),
 * so reports cannot grow the mailer's memory or store without bound.
 */
import type { Logger } from '../../shared/logger.ts';
import type { AgentReport, TargetState } from '../../shared/wire-report.ts';
import type { AgentRow } from './model.ts';
import { formatDurationFlag } from '../../shared/duration.ts';
import { MAX_TARGETS } from './target-board.ts';

/** GET: the agents, as AgentView[]. */
export const AGENTS_PATH = '/api/v1/agents';

/** The shared-name warning is logged at most this often per name. */
export const SHARED_WARN_MS = 600_000;

export type AgentState = 'reporting' | 'silent' | 'stopped';

/** At most this many agent names are kept: a report under one more is refused. */
export const MAX_AGENTS = 10_000;

export interface TargetRecord {
  name: string;
  state: TargetState;
  /** Running totals over every report this name has sent (across restarts). */
  checks: number;
  failures: number;
  lastFailure?: string;
}

/** An agent as the store keeps it (AgentRow), with its targets' running totals. */
export interface AgentRecord extends Omit<AgentRow, 'targets'> {
  restarts: number;
  /** The instance before the current one: a report from it again means two agents share the name. */
  previousInstance?: string;
  /** Two running agents report under this name (their instances alternate): no report of theirs is a restart. */
  shared?: boolean;
  /** When the shared-name warning was last logged. */
  sharedWarnedAt?: number;
  /** The targets of its latest report, in its order. */
  targets: Map<string, TargetRecord>;
}

/** What GET /api/v1/agents shows of an agent. */
export interface AgentView {
  name: string;
  instance: string;
  version: string;
  lastReportAt: string;
  intervalMs: number;
  state: AgentState;
  targets: number;
}

/** What GET /api/v1/agents shows of one agent. */
export function agentView(a: AgentRecord): AgentView {
  return {
    name: a.name,
    instance: a.instance,
    version: a.version,
    lastReportAt: new Date(a.lastReportAt).toISOString(),
    intervalMs: a.intervalMs,
    state: a.state,
    targets: a.targets.size,
  };
}

export type Recorded =
  | {
      ok: true;
      record: AgentRecord;
      /** first: a name not seen before; restart: a known name with a new instance. */
      kind: 'first' | 'report' | 'restart';
      /** Its state and last report time before this report (none for a first). */
      previous: { state: AgentState; lastReportAt: number } | undefined;
    }
  | { ok: false; error: string };

export class AgentRegistry {
  readonly #agents = new Map<string, AgentRecord>();
  readonly #log: Logger;
  readonly #max: number;

  constructor(options: { log: Logger; maxAgents?: number }) {
    this.#log = options.log;
    this.#max = options.maxAgents ?? MAX_AGENTS;
  }

  /** Take a report received at `at` (ms since the epoch). */
  record(report: AgentReport, at: number): Recorded {
    const { name, instance, version } = report.agent;
    const known = this.#agents.get(name);
    if (known === undefined && this.#agents.size >= this.#max) {
      return { ok: false, error: `the hub already knows ${this.#max} agents; a report under a new name is refused` };
    }
    const record: AgentRecord = known ?? {
      name,
      instance,
      version,
      firstSeenAt: at,
      instanceSince: at,
      lastReportAt: at,
      intervalMs: report.intervalMs,
      state: 'reporting',
      restarts: 0,
      targets: new Map(),
    };
    const previous = known ? { state: known.state, lastReportAt: known.lastReportAt } : undefined;
    const alternates = known !== undefined && known.instance !== instance && (known.shared === true || known.previousInstance === instance);
    const kind = known === undefined ? 'first' : known.instance !== instance && !alternates ? 'restart' : 'report';
    if (alternates) this.#shared(record, at);
    if (kind === 'restart') {
      record.restarts += 1;
      record.instanceSince = at;
    }
    if (known !== undefined && known.instance !== instance) record.previousInstance = known.instance;
    record.instance = instance;
    record.version = version;
    record.lastReportAt = at;
    record.intervalMs = report.intervalMs;
    record.state = report.goodbye ? 'stopped' : 'reporting';
    const targets = new Map<string, TargetRecord>();
    for (const t of report.targets) {
      const before = record.targets.get(t.name);
      const target: TargetRecord = { name: t.name, state: t.state, checks: (before?.checks ?? 0) + t.checks, failures: (before?.failures ?? 0) + t.failures };
      const lastFailure = t.lastFailure ?? before?.lastFailure;
      if (lastFailure !== undefined) target.lastFailure = lastFailure;
      targets.set(t.name, target);
    }
    record.targets = targets;
    if (known === undefined) this.#agents.set(name, record);
    this.#logReport(record, kind, report);
    return { ok: true, record, kind, previous };
  }

  /**
   * Another mailer on a shared store heard this agent at `at` (later than this one did), as
   * `instance`: its record goes by that, so its silence and the silence's incident are the same here.
   */
  heardElsewhere(name: string, at: number, instance: string): void {
    const record = this.#agents.get(name);
    if (!record || at <= record.lastReportAt) return;
    record.lastReportAt = at;
    record.instance = instance;
  }

  /**
   * Another mailer's row of an agent (a shared store: hub-sync.ts), taken unless this one's word is
   * newer (a later report, or a stop or silence at the same one). Returns the record taken.
   */
  adopt(row: AgentRow): AgentRecord | undefined {
    const known = this.#agents.get(row.name);
    // An older report's row is not taken, nor one that would make a stopped or silent agent reporting again without a report.
    if (known ? row.lastReportAt < known.lastReportAt || (row.lastReportAt === known.lastReportAt && row.state === 'reporting' && known.state !== 'reporting') : this.#agents.size >= this.#max) return undefined;
    const targets = new Map<string, TargetRecord>(row.targets.map((t) => [t.name, { ...(known?.targets.get(t.name) ?? { checks: 0, failures: 0 }), name: t.name, state: t.state }]));
    const record: AgentRecord = known ?? { ...row, restarts: 0, targets };
    Object.assign(record, { ...row, targets });
    if (!known) this.#agents.set(row.name, record);
    return record;
  }

  /** An alert of an agent's current instance said a target is up or down: its record, when that changed what it says of it. */
  said(name: string, instance: string | undefined, target: string, status: 'up' | 'down'): AgentRecord | undefined {
    const record = this.#agents.get(name);
    const t = record && record.instance === instance ? record.targets.get(target) : undefined;
    if (!record || !t || t.state === status) return undefined;
    t.state = status;
    return record;
  }

  /** The agents kept in the store, at start (before any report); their targets within MAX_TARGETS in all. */
  restore(rows: readonly AgentRow[]): void {
    let room = MAX_TARGETS;
    for (const r of rows) {
      if (this.#agents.size >= this.#max) break;
      const kept = r.targets.slice(0, Math.max(0, room));
      room -= kept.length;
      const targets = new Map<string, TargetRecord>(kept.map((t) => [t.name, { name: t.name, state: t.state, checks: 0, failures: 0 }]));
      this.#agents.set(r.name, { ...r, restarts: 0, targets });
    }
  }

  /** How many targets a report from this agent may name: MAX_TARGETS less those the other agents hold. */
  roomFor(name: string): number {
    let held = 0;
    for (const a of this.#agents.values()) if (a.name !== name) held += a.targets.size;
    return Math.max(0, MAX_TARGETS - held);
  }

  /** What the store keeps of an agent (viewAt: when its view of each target was said, for the other mailers on a shared store). */
  row(record: AgentRecord, viewAt?: (target: string) => number | undefined): AgentRow {
    const { name, instance, version, firstSeenAt, instanceSince, lastReportAt, intervalMs, state } = record;
    const at = (t: string): { at?: number } => {
      const v = viewAt?.(t);
      return v === undefined ? {} : { at: v };
    };
    return { name, instance, version, firstSeenAt, instanceSince, lastReportAt, intervalMs, state, targets: [...record.targets.values()].map((t) => ({ name: t.name, state: t.state, ...at(t.name) })) };
  }

  /** The silence watcher found no report in time. */
  markSilent(name: string): void {
    const record = this.#agents.get(name);
    if (record?.state === 'reporting') record.state = 'silent';
  }

  /** Forgotten by hand (DELETE /api/v1/agents/<name>). */
  forget(name: string): boolean {
    return this.#agents.delete(name);
  }

  get(name: string): AgentRecord | undefined {
    return this.#agents.get(name);
  }

  records(): IterableIterator<AgentRecord> {
    return this.#agents.values();
  }

  get size(): number {
    return this.#agents.size;
  }

  /** Every agent, by name. */
  list(): AgentView[] {
    return [...this.#agents.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(agentView);
  }

  /** Two agents under one --agent-name: said at most every SHARED_WARN_MS. */
  #shared(record: AgentRecord, at: number): void {
    record.shared = true;
    if (record.sharedWarnedAt !== undefined && at - record.sharedWarnedAt < SHARED_WARN_MS) return;
    record.sharedWarnedAt = at;
    this.#log.warn(`two agents report as ${record.name} (their instances alternate): give each its own --agent-name; their reports are not taken as restarts`, { event: 'agent-name-shared', agent: record.name });
  }

  #logReport(record: AgentRecord, kind: 'first' | 'report' | 'restart', report: AgentReport): void {
    const fields = { event: 'agent-report', agent: record.name, instance: record.instance };
    const about = `version ${record.version || '?'}, ${record.targets.size} target(s), reporting every ${formatDurationFlag(record.intervalMs)}`;
    if (kind === 'first') this.#log.info(`agent ${record.name} reports (${about})`, { ...fields, event: 'agent-new' });
    else if (kind === 'restart') this.#log.info(`agent ${record.name} restarted (${about})`, { ...fields, event: 'agent-restart' });
    else this.#log.debug(`agent ${record.name} reported`, fields);
    if (report.goodbye) this.#log.info(`agent ${record.name} stopped (goodbye); no silence alarm for it`, { ...fields, event: 'agent-stopped' });
  }
}
