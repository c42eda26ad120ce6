/**
 * The agent's reports to the mailer (the hub): every --report-every a compact
 * AgentReport (shared/wire-report.ts) of every target: its state now, the
 * checks and failures since the last report the mailer took, their response
 * times in the fixed LATENCY_BUCKETS_MS buckets, the last failure's reason.
 * Fed by the agent's events (agent/events.ts: `reporter.events` is a
 * listener of `check` and `transition`); state changes still go at once as
 * alerts (notifier.ts), a report never replaces one.
 *
 * A report is a snapshot, never queued nor retried: one that fails leaves the
 * counts adding up, and the next interval's report carries them all. Each
 * target keeps running totals and the totals the mailer last took; a report
 * is their difference, and only an accepted report moves the mark, so checks
 * made while a report is on the wire are in the next one. One report at a
 * time: an interval that finds one still on the wire is skipped (two on the
 * wire would count the same checks twice).
 *
 * The mailer's answers: taken (2xx) moves the mark; 404 (no reports path: the
 * book's mailer behind JSON, an older ch2) logs one warning and ends the
 * reports; anything else (network, 5xx, 401) a warning at most once a minute.
 * stop() sends a last report with `goodbye: true`, bounded in time so that
 * `docker stop` stays prompt; how it fares is a debug line only.
 *
 * An https target's certificate expiry (the check's certExpiresAt, as last
 * seen) goes as `certExpiresAt`, only for a target that has one. A mailer
 * older than the field refuses the report (400, unknown field): the reporter
 * then logs one warning, drops the field for good and sends the report again
 * at once without it.
 */
import type { Logger } from '../../shared/logger.ts';
import { formatDurationFlag } from '../../shared/duration.ts';
import { type AgentReport, LATENCY_BUCKETS_MS, latencyBucket, REPORT_VERSION, type TargetReport } from '../../shared/wire-report.ts';
import type { CheckResult } from '../checks/probe.ts';
import type { Transition } from '../incidents/incident.ts';
import type { ReportOutcome, SendReport } from './report-client.ts';

/** Most time a report may take on the wire (less when the interval is shorter). */
export const REPORT_TIMEOUT_MS = 5000;
/** The least time between two warnings of failed reports. */
export const WARN_EVERY_MS = 60_000;
/** The most time stop() takes for the goodbye report. */
export const GOODBYE_MS = 800;

/** A repeating timer: returns its cancel. */
export type Every = (ms: number, fn: () => void) => () => void;

const realEvery: Every = (ms, fn) => {
  const timer = setInterval(fn, ms);
  timer.unref();
  return () => clearInterval(timer);
};

export interface ReporterOptions {
  agent: AgentReport['agent'];
  intervalMs: number;
  /** The targets' names, in the order reports list them. */
  targets: readonly string[];
  send: SendReport;
  log: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /** The mailer's host:port, for log lines. */
  mailer: string;
  /** Wall clock, ms since the epoch (sentAt, the warnings' spacing); default Date.now. */
  clock?: () => number;
  /** The interval timer; default an unref'd setInterval. */
  every?: Every;
  /** Most time a report may take; default min(REPORT_TIMEOUT_MS, intervalMs). */
  timeoutMs?: number;
}

/** A target's running totals since the start (checks, failures, latency), in the report's shape. */
interface Tally extends TargetReport {
  /** The running totals in the last report the mailer took. */
  taken: { checks: number; failures: number; latency: number[] };
}

/** The running totals a report was made from, to mark as taken if the mailer takes it. */
type Marks = Array<{ checks: number; failures: number; latency: number[] }>;

const BUCKETS = LATENCY_BUCKETS_MS.length + 1;

export class Reporter {
  readonly #options: ReporterOptions;
  readonly #tallies: Tally[] = [];
  readonly #byName = new Map<string, Tally>();
  readonly #clock: () => number;
  readonly #timeoutMs: number;
  #cancel: (() => void) | undefined;
  #inFlight: Promise<ReportOutcome> | undefined;
  #gone = false;
  #stopped = false;
  #lastWarnAt = Number.NEGATIVE_INFINITY;
  #failing = false;
  /** The mailer does not read certExpiresAt (an older ch2): it is left out. */
  #noCertExpiry = false;

  /** The listener to join to the agent's events (fanOut). */
  readonly events = {
    check: (target: string, result: CheckResult): void => this.#check(target, result),
    transition: (target: string, transition: Transition): void => this.#transition(target, transition),
  };

  constructor(options: ReporterOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? Math.min(REPORT_TIMEOUT_MS, options.intervalMs);
    for (const name of options.targets) {
      if (this.#byName.has(name)) continue;
      const tally: Tally = { name, state: 'unknown', checks: 0, failures: 0, latency: new Array<number>(BUCKETS).fill(0), taken: { checks: 0, failures: 0, latency: new Array<number>(BUCKETS).fill(0) } };
      this.#tallies.push(tally);
      this.#byName.set(name, tally);
    }
  }

  /** Whether reports still go (false after a 404 or stop()). */
  get active(): boolean {
    return !this.#gone && !this.#stopped;
  }

  /** Reports every interval from now on. */
  start(): void {
    if (this.#cancel || !this.active) return;
    this.#cancel = (this.#options.every ?? realEvery)(this.#options.intervalMs, () => {
      if (this.active && !this.#inFlight) void this.report();
    });
  }

  /** The report as it would go now (nothing is marked). */
  snapshot(goodbye = false): { report: AgentReport; marks: Marks } {
    const targets: TargetReport[] = [];
    const marks: Marks = [];
    for (const t of this.#tallies) {
      const failures = t.failures - t.taken.failures;
      targets.push({
        name: t.name,
        state: t.state,
        checks: t.checks - t.taken.checks,
        failures,
        latency: t.latency.map((n, i) => n - t.taken.latency[i]!),
        // The last failure is since the mark whenever a failure is.
        ...(failures > 0 && t.lastFailure !== undefined ? { lastFailure: t.lastFailure } : {}),
        ...(t.certExpiresAt !== undefined && !this.#noCertExpiry ? { certExpiresAt: t.certExpiresAt } : {}),
      });
      marks.push({ checks: t.checks, failures: t.failures, latency: [...t.latency] });
    }
    const report: AgentReport = {
      v: REPORT_VERSION,
      agent: { ...this.#options.agent },
      sentAt: new Date(this.#clock()).toISOString(),
      intervalMs: this.#options.intervalMs,
      ...(goodbye ? { goodbye: true } : {}),
      targets,
    };
    return { report, marks };
  }

  /** Sends one report now; resolves with the mailer's outcome (never rejects). */
  report(goodbye = false, timeoutMs = this.#timeoutMs): Promise<ReportOutcome> {
    const sending = this.#send(goodbye, timeoutMs);
    this.#inFlight = sending;
    void sending.then(() => {
      if (this.#inFlight === sending) this.#inFlight = undefined;
    });
    return sending;
  }

  /**
   * No more reports; the last one, with `goodbye: true`, within `boundMs`
   * (a report still on the wire is waited for first, in that time).
   */
  async stop(boundMs = GOODBYE_MS): Promise<void> {
    if (this.#stopped) return;
    const wasGone = this.#gone;
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = undefined;
    if (wasGone) return;
    const start = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), boundMs);
      timer.unref();
    });
    try {
      if (this.#inFlight && (await Promise.race([this.#inFlight, bound])) === 'late') {
        this.#options.log.debug('No goodbye report: the last report was still on the wire.', { event: 'report-goodbye', ok: false });
        return;
      }
      const left = Math.max(1, Math.floor(boundMs - (performance.now() - start)));
      const outcome = await Promise.race([this.#send(true, left), bound]);
      if (outcome === 'late') this.#options.log.debug('Goodbye report not delivered in time.', { event: 'report-goodbye', ok: false });
      else if (outcome.ok) this.#options.log.debug('Goodbye report delivered to the mailer.', { event: 'report-goodbye', ok: true });
      else this.#options.log.debug(`Goodbye report not delivered: ${outcome.error}.`, { event: 'report-goodbye', ok: false });
    } finally {
      clearTimeout(timer);
    }
  }

  #check(target: string, result: CheckResult): void {
    const t = this.#byName.get(target);
    if (!t) return;
    // An incident starts up: the first check settles "unknown" (as the metrics' ch2_target_up).
    if (t.state === 'unknown') t.state = 'up';
    t.checks += 1;
    t.latency[latencyBucket(result.latencyMs)]! += 1;
    if (!result.ok) {
      t.failures += 1;
      t.lastFailure = result.reason ?? 'check failed';
    }
    if (result.certExpiresAt !== undefined) t.certExpiresAt = new Date(result.certExpiresAt).toISOString();
  }

  #transition(target: string, transition: Transition): void {
    const t = this.#byName.get(target);
    if (!t) return;
    if (transition.kind === 'down') t.state = 'down';
    else if (transition.kind === 'up') t.state = 'up';
  }

  async #send(goodbye: boolean, timeoutMs: number): Promise<ReportOutcome> {
    let { report, marks } = this.snapshot(goodbye);
    let outcome = await this.#attempt(report, timeoutMs);
    if (!outcome.ok && outcome.refused === 'certExpiresAt' && !this.#noCertExpiry) {
      this.#noCertExpiry = true;
      this.#options.log.warn(`The mailer at ${this.#options.mailer} does not read certExpiresAt (an older ch2): reports go on without the certificates' expiry.`, {
        event: 'report',
        ok: false,
        field: 'certExpiresAt',
      });
      ({ report, marks } = this.snapshot(goodbye));
      outcome = await this.#attempt(report, timeoutMs);
    }
    if (outcome.ok) this.#taken(marks);
    if (!goodbye) this.#note(outcome);
    return outcome;
  }

  async #attempt(report: AgentReport, timeoutMs: number): Promise<ReportOutcome> {
    try {
      return await this.#options.send(report, timeoutMs);
    } catch (err) {
      return { ok: false, gone: false, error: (err as Error).message ?? String(err) };
    }
  }

  #taken(marks: Marks): void {
    this.#tallies.forEach((t, i) => {
      const m = marks[i]!;
      t.taken = { checks: m.checks, failures: m.failures, latency: m.latency };
    });
  }

  #note(outcome: ReportOutcome): void {
    const { log } = this.#options;
    if (outcome.ok) {
      if (this.#failing) log.info(`Reports reach the mailer at ${this.#options.mailer} again.`, { event: 'report', ok: true });
      this.#failing = false;
      return;
    }
    if (outcome.gone) {
      if (this.#gone) return;
      this.#gone = true;
      this.#cancel?.();
      this.#cancel = undefined;
      log.warn(`Not sending reports: ${outcome.error}; the book's mailer, or an older ch2? Alerts go on as before.`, { event: 'report', ok: false, gone: true });
      return;
    }
    const now = this.#clock();
    if (now - this.#lastWarnAt < WARN_EVERY_MS) return;
    this.#lastWarnAt = now;
    this.#failing = true;
    log.warn(`Report not delivered: ${outcome.error}; the next goes in ${formatDurationFlag(this.#options.intervalMs)}, with the counts since the last one taken.`, {
      event: 'report',
      ok: false,
    });
  }
}
