/**
 * Agent silence: an agent that stops reporting raises an alert, through every
 * channel, like any alert (admitted by Admissions, peer "hub"): a down
 * "agent X has not reported for …; its n targets are not being watched" to
 * the default recipient (--default-to, else the first --to address), target `agent:X`, and an
 * incident id of its own per silence. Its next report sends the up ("agent X
 * reports again after …", same target and incident). A goodbye report marks
 * the agent stopped: no alarm then or later (until it reports again).
 *
 * How long is silence: --agent-silence <d> for every agent (from 1s: the
 * flag is the operator's word, tests use 2s), or by default 3 × the agent's
 * own report interval, at least 30s; `off` never alarms. A given length at
 * or below a report interval would call an agent silent between two of its
 * reports: silenceWarning says so at start (against the agents' default
 * --report-every), and a report whose interval is at or above it gets one
 * warning per agent.
 *
 * One timer (unreferenced) for all agents, armed for the earliest deadline;
 * reports only push deadlines later, so a report re-arms it only when its
 * deadline comes first (a new agent, a shorter interval). The clock is
 * injectable for tests.
 */
import type { Logger } from '../../shared/logger.ts';
import { type AgentReport, DEFAULT_REPORT_EVERY_MS } from '../../shared/wire-report.ts';
import type { AlertRequest } from '../../shared/wire-json.ts';
import { formatDurationFlag, formatElapsed } from '../../shared/duration.ts';
import type { AgentRecord, AgentRegistry, AgentView } from './agents.ts';
import type { AlertSink } from './model.ts';
import type { ReportReceiver } from './report-body.ts';

export const DEFAULT_SILENCE_FACTOR = 3;
export const MIN_DEFAULT_SILENCE_MS = 30_000;
/** The least --agent-silence takes. */
export const MIN_SILENCE_MS = 1000;
export const MAX_SILENCE_MS = 7 * 86_400_000;
const TIMER_MAX_MS = 2 ** 31 - 1;

/** --agent-silence: one length for all agents, 'off', or undefined for the per-agent default. */
export type SilenceSetting = number | 'off' | undefined;

export interface Timer {
  clear(): void;
}
export interface Clock {
  now(): number;
  /** Run `fn` once after `ms`; must not keep the process alive. */
  setTimer(fn: () => void, ms: number): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { clear: () => clearTimeout(t) };
  },
};

/** How long an agent reporting every `intervalMs` may go without a report; undefined: never alarm. */
export function silenceFor(setting: SilenceSetting, intervalMs: number): number | undefined {
  if (setting === 'off') return undefined;
  return setting ?? Math.max(MIN_DEFAULT_SILENCE_MS, DEFAULT_SILENCE_FACTOR * intervalMs);
}

/** The start-up warning for an --agent-silence at or below the agents' default report interval; undefined when none is due. */
export function silenceWarning(setting: SilenceSetting): string | undefined {
  if (typeof setting !== 'number' || setting > DEFAULT_REPORT_EVERY_MS) return undefined;
  return `--agent-silence ${formatDurationFlag(setting)} is at or below the agents' default report interval (--report-every ${formatDurationFlag(DEFAULT_REPORT_EVERY_MS)}): such an agent is called silent between two of its reports; give at least 3 × their --report-every, or leave it unset (3 × each agent's interval).`;
}

export interface AgentSilenceOptions {
  registry: AgentRegistry;
  admissions: AlertSink;
  /** Where the alarms go: the allowlist's default recipient. */
  recipient: string | undefined;
  setting: SilenceSetting;
  log: Logger;
  clock?: Clock;
  /** An agent was found silent (its record says so now). */
  onSilent?: (record: AgentRecord) => void;
  /**
   * Several mailers on one store (Store.lastReports): when the agents last reported at any of them.
   * An agent is called silent only when the store has no later report of it either: its reports
   * may go to another mailer (the agent's --mailer list, a service's replicas).
   */
  lastReports?: (names: readonly string[]) => Promise<Map<string, { at: number; instance: string }>>;
}

/** The incident of an agent's silence: the same on its down and its up, and after a mailer restart. */
function silenceIncident(record: AgentRecord): string {
  return `hub-silence-${record.instance}-${record.lastReportAt.toString(36)}`;
}

interface Open {
  incident: string;
  lastReportAt: number;
}

export class AgentSilence implements ReportReceiver {
  readonly #o: AgentSilenceOptions;
  readonly #clock: Clock;
  /** Agents silent now, with the incident their down alarm opened. */
  readonly #open = new Map<string, Open>();
  #timer: Timer | undefined;
  #timerAt = Infinity;
  /** Agents restored from the store get a silence's grace from the start. */
  readonly #startedAt: number;
  #closed = false;
  /** Agents already warned of an interval at or above the silence. */
  readonly #warned = new Set<string>();

  constructor(options: AgentSilenceOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#startedAt = this.#clock.now();
  }

  /** Watch the agents restored from the store (a restart of the mailer is no silence of theirs). */
  watchRestored(): void {
    for (const record of this.#o.registry.records()) {
      if (record.state === 'silent') this.#open.set(record.name, { incident: silenceIncident(record), lastReportAt: record.lastReportAt });
      const deadline = record.state === 'reporting' ? this.#deadline(record) : undefined;
      if (deadline !== undefined) this.#arm(deadline);
    }
  }

  report(report: AgentReport): string | undefined {
    const now = this.#clock.now();
    const recorded = this.#o.registry.record(report, now);
    if (!recorded.ok) return recorded.error;
    const { record, previous } = recorded;
    const { setting } = this.#o;
    if (typeof setting === 'number' && record.intervalMs >= setting && !this.#warned.has(record.name) && this.#warned.size < 1000) {
      this.#warned.add(record.name);
      this.#o.log.warn(
        `agent ${record.name} reports every ${formatDurationFlag(record.intervalMs)}, at or above --agent-silence ${formatDurationFlag(setting)}: it is called silent between two of its reports.`,
        { event: 'agent-silence-short', agent: record.name },
      );
    }
    const open = this.#open.get(record.name);
    if (open) {
      this.#open.delete(record.name);
      const after = formatElapsed(now - open.lastReportAt);
      this.#raise({
        id: `${open.incident}-up`,
        to: this.#o.recipient,
        message: `agent ${record.name} reports again after ${after}`,
        status: 'up',
        target: `agent:${record.name}`,
        incident: open.incident,
        time: new Date(now).toISOString(),
        downForMs: Math.max(0, now - (previous?.lastReportAt ?? now)),
      });
    }
    if (record.state === 'reporting') {
      const deadline = this.#deadline(record);
      if (deadline !== undefined) this.#arm(deadline);
    }
    return undefined;
  }

  agents(): AgentView[] {
    return this.#o.registry.list();
  }

  /** At shutdown: no timer, no more alarms. */
  close(): void {
    this.#closed = true;
    this.#timer?.clear();
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #deadline(record: AgentRecord): number | undefined {
    const ms = silenceFor(this.#o.setting, record.intervalMs);
    return ms === undefined ? undefined : Math.max(record.lastReportAt, this.#startedAt) + ms;
  }

  #arm(at: number): void {
    if (this.#closed || at >= this.#timerAt) return;
    this.#timer?.clear();
    this.#timerAt = at;
    this.#timer = this.#clock.setTimer(() => this.#fire(), Math.min(TIMER_MAX_MS, Math.max(0, at - this.#clock.now())));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#closed) return;
    const due = this.#due();
    if (due.length === 0 || !this.#o.lastReports) return this.#settle(due);
    // Asked of the store first: a report another mailer took pushes the deadline on, as one here does.
    this.#o.lastReports(due.map((r) => r.name)).then(
      (seen) => {
        for (const record of due) {
          const there = seen.get(record.name);
          if (there) this.#o.registry.heardElsewhere(record.name, there.at, there.instance);
        }
        this.#settle(this.#due());
      },
      // The store cannot answer: try again in a second rather than call agents silent on this mailer's word alone.
      () => this.#arm(this.#clock.now() + 1000),
    );
  }

  /** The reporting agents whose silence is due now. */
  #due(): AgentRecord[] {
    const now = this.#clock.now();
    return [...this.#o.registry.records()].filter((record) => {
      const deadline = record.state === 'reporting' ? this.#deadline(record) : undefined;
      return deadline !== undefined && deadline <= now;
    });
  }

  /** Raise the silences of `due`, and arm the timer for the next deadline. */
  #settle(due: readonly AgentRecord[]): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    for (const record of due) this.#silent(record, now);
    let next = Infinity;
    for (const record of this.#o.registry.records()) {
      const deadline = record.state === 'reporting' ? this.#deadline(record) : undefined;
      if (deadline !== undefined) next = Math.min(next, deadline);
    }
    // A timer that fired early finds nothing due and is simply armed again.
    if (next !== Infinity) this.#arm(next);
  }

  #silent(record: AgentRecord, now: number): void {
    this.#o.registry.markSilent(record.name);
    this.#o.onSilent?.(record);
    const incident = silenceIncident(record);
    this.#open.set(record.name, { incident, lastReportAt: record.lastReportAt });
    const n = record.targets.size;
    const silentFor = formatElapsed(now - record.lastReportAt);
    this.#o.log.warn(`agent ${record.name} has not reported for ${silentFor}`, { event: 'agent-silent', agent: record.name });
    this.#raise({
      id: `${incident}-down`,
      to: this.#o.recipient,
      message: `agent ${record.name} has not reported for ${silentFor}; its ${n} ${n === 1 ? 'target is' : 'targets are'} not being watched`,
      status: 'down',
      target: `agent:${record.name}`,
      incident,
      reason: `no report within ${formatDurationFlag(this.#deadline(record)! - record.lastReportAt)}`,
      time: new Date(now).toISOString(),
    });
  }

  #raise(alert: AlertRequest & { to: string | undefined }): void {
    const { to, ...rest } = alert;
    const request: AlertRequest = to === undefined ? rest : { ...rest, to };
    this.#o.admissions.admitJson(request, 'hub').then(
      // A refusal (no default recipient, say) is logged by Admissions.
      () => {},
      (err: unknown) => this.#o.log.error(`Cannot keep the hub's alert for ${alert.target ?? '?'}: ${(err as Error).message}`, { event: 'store-error' }),
    );
  }
}
