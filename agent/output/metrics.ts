/**
 * The agent's metrics: a small registry rendered in the Prometheus text
 * exposition format 0.0.4. It knows nothing of how checks are made or alerts
 * sent: it is fed the agent's events.
 *
 * Load it lazily (`await import('./metrics.ts')`) only when `--metrics-port` is
 * given. At run time it imports only prom-text.ts (the format's pieces).
 *
 * Fed by the agent's events (agent/events.ts): `metrics.events` is an
 * AgentEvents listener, to join with the view:
 *
 *   const metrics = new Metrics({ pending: () => notifier.pending });   // `pending` is optional
 *   const events = fanOut([view, metrics.events], onError);
 *
 *   started(targets)         registers every target, in order
 *   check(target, result)    histogram (result.latencyMs), ch2_checks_total (result.ok), last-check time
 *                            (result.at); the first check makes ch2_target_up 1 (an incident starts up)
 *   skipped(target, reason)  ch2_checks_skipped_total{reason} (a check with no verdict: not in the above)
 *   transition(target, t)    'down' → ch2_target_up 0, 'up' → 1; 'reminder' marks the alerts that follow
 *   alertQueued(alert)       ch2_alerts_total{target=alert.target, status, reminder}: reminder="true"
 *                            when the target's last transition was a reminder
 *   alertDelivered / alertFailed / alertDropped   the three outcome counters
 *
 * ch2_alerts_pending is the `pending` option read at each render, or else
 * alerts queued less those delivered, failed and dropped.
 *
 * Metric families (in this order; every family has HELP and TYPE lines):
 *
 *   ch2_target_up{target}                      gauge: 1 up, 0 down: the incident state, not the last
 *                                              check; no sample before the target's first check or state
 *   ch2_check_duration_seconds{target,le}      histogram of check latency, failed and confirming checks
 *                                              included; buckets LATENCY_BUCKETS_SECONDS, _sum, _count
 *   ch2_checks_total{target,result}            counter, result="ok" | "fail"
 *   ch2_target_last_check_timestamp_seconds{target}  gauge: Unix time of the last check (absent before one)
 *   ch2_cert_expiry_seconds{target}            gauge: https: seconds until the soonest certificate of the
 *                                              chain expires (negative once past); absent before one is seen
 *   ch2_checks_skipped_total{reason}           counter, over all targets: checks with no verdict,
 *                                              reason="no_descriptor" (always present)
 *   ch2_alerts_total{target,status,reminder}   counter of alerts queued for the mailer (one per
 *                                              recipient), status="down"|"up", reminder="false"|"true";
 *                                              down/false, down/true and up/false are always present
 *   ch2_alerts_pending                         gauge: alerts waiting for the mailer
 *   ch2_alerts_delivered_total                 counter: alerts the mailer took
 *   ch2_alerts_failed_total                    counter: alerts the mailer refused for good
 *   ch2_alerts_dropped_total                   counter: alerts dropped to keep the queue bounded
 *   process_resident_memory_bytes              gauge
 *   process_cpu_seconds_total                  counter: user + system CPU time
 *   process_start_time_seconds                 gauge
 *
 * Label values are escaped (backslash, double quote, line feed); a target's
 * escaped label is computed once.
 *
 * Cost: per target one small object holding a Float64Array of bucket counts;
 * a check is a few array stores (about 0.1 µs). render() is linear in the
 * number of targets: 21 lines and about 1.8 kB each, so 5,000 targets make
 * about 9 MB of text and take tens of milliseconds of CPU. chunks() yields the
 * same text in pieces, which the metrics server sends with a turn of the event
 * loop between them, so a scrape never stalls the checks for long.
 */
import type { Alert } from '../../shared/alert.ts';
import type { CheckResult, SkipReason } from '../checks/probe.ts';
import { escapeLabelValue, formatNumber, header, single } from './prom-text.ts';

/** Upper bounds of the latency histogram's buckets, in seconds (+Inf is implied). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type AlertKind = 'down' | 'up';

export interface MetricsOptions {
  /** Histogram bucket upper bounds in seconds, ascending; default LATENCY_BUCKETS_SECONDS. */
  buckets?: readonly number[];
  /** Read at each render for ch2_alerts_pending (e.g. `() => notifier.pending`). */
  pending?: () => number;
  /** Include the process_* families; default true. */
  processMetrics?: boolean;
}

/**
 * The events the metrics listen to: structurally a subset of AgentEvents
 * (agent/events.ts), so `fanOut([view, metrics.events], …)` type-checks without
 * this module importing the agent's wiring.
 */
export interface MetricsEvents {
  started(targets: readonly { name: string }[], mailer?: string, protocol?: string): void;
  check(target: string, result: Pick<CheckResult, 'ok' | 'latencyMs' | 'at' | 'certExpiresAt'>): void;
  skipped(target: string, reason: SkipReason): void;
  transition(target: string, transition: { kind: 'down' | 'up' | 'reminder' }): void;
  alertQueued(alert: Pick<Alert, 'target' | 'status'>): void;
  alertDelivered(alert?: unknown): void;
  alertFailed(alert?: unknown, error?: string): void;
  alertDropped(alert?: unknown): void;
}

const STATE_UNKNOWN = -1;

class Series {
  readonly name: string;
  /** `target="…"` with the value escaped, computed once. */
  readonly label: string;
  /** Non-cumulative count per bucket; the last slot is +Inf. */
  readonly buckets: Float64Array;
  readonly bounds: readonly number[];
  sumSeconds = 0;
  ok = 0;
  fail = 0;
  lastCheckMs = 0;
  certExpiresAt: number | undefined;
  up = STATE_UNKNOWN;
  /** The last transition was a reminder: the alerts queued next are reminders. */
  reminding = false;
  /** down/false, down/true, up/false, up/true. */
  readonly alerts = new Float64Array(4);

  constructor(name: string, bounds: readonly number[]) {
    this.name = name;
    this.label = `target="${escapeLabelValue(name)}"`;
    this.bounds = bounds;
    this.buckets = new Float64Array(bounds.length + 1);
  }

  recordCheck(ok: boolean, latencyMs: number, at: number = Date.now()): void {
    const seconds = latencyMs > 0 && Number.isFinite(latencyMs) ? latencyMs / 1000 : 0;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.buckets[i]! += 1;
    this.sumSeconds += seconds;
    if (ok) this.ok += 1;
    else this.fail += 1;
    this.lastCheckMs = at;
    // An incident starts up: until a state is set, a checked target is up.
    if (this.up === STATE_UNKNOWN) this.up = 1;
  }

  recordAlert(status: AlertKind, reminder = false): void {
    this.alerts[(status === 'up' ? 2 : 0) + (reminder ? 1 : 0)]! += 1;
  }
}

export class Metrics {
  readonly #series = new Map<string, Series>();
  readonly #bounds: readonly number[];
  readonly #leLabels: readonly string[];
  readonly #options: MetricsOptions;
  #queued = 0;
  #delivered = 0;
  #failed = 0;
  #dropped = 0;
  readonly #skipped: Record<SkipReason, number> = { no_descriptor: 0 };
  readonly #startTimeSeconds: number;

  constructor(options: MetricsOptions = {}) {
    const bounds = options.buckets ?? LATENCY_BUCKETS_SECONDS;
    for (let i = 0; i < bounds.length; i++) {
      const b = bounds[i]!;
      if (!Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!)) {
        throw new RangeError('histogram buckets must be finite and strictly ascending');
      }
    }
    this.#bounds = [...bounds];
    this.#leLabels = [...bounds.map((b) => `le="${formatNumber(b)}"`), 'le="+Inf"'];
    this.#options = options;
    this.#startTimeSeconds = Math.round((Date.now() - process.uptime() * 1000) / 10) / 100;
  }

  /** The target's series, registered at first sight (no-op if known). Targets render in registration order. */
  #target(name: string): Series {
    let series = this.#series.get(name);
    if (!series) {
      series = new Series(name, this.#bounds);
      this.#series.set(name, series);
    }
    return series;
  }

  /** The agent's events, as a listener (see the header). Methods are bound: pass them around freely. */
  readonly events: MetricsEvents = {
    started: (targets) => {
      for (const t of targets) this.#target(t.name);
    },
    check: (target, result) => {
      const s = this.#target(target);
      s.recordCheck(result.ok, result.latencyMs, result.at);
      if (result.certExpiresAt !== undefined) s.certExpiresAt = result.certExpiresAt;
    },
    skipped: (_target, reason) => {
      this.#skipped[reason] += 1;
    },
    transition: (target, t) => {
      const s = this.#target(target);
      s.reminding = t.kind === 'reminder';
      if (t.kind === 'down') s.up = 0;
      else if (t.kind === 'up') s.up = 1;
    },
    alertQueued: (alert) => {
      this.#queued += 1;
      if (alert.target === undefined) return;
      const s = this.#target(alert.target);
      s.recordAlert(alert.status, s.reminding && alert.status === 'down');
    },
    alertDelivered: () => {
      this.#delivered += 1;
    },
    alertFailed: () => {
      this.#failed += 1;
    },
    alertDropped: () => {
      this.#dropped += 1;
    },
  };

  #pendingNow(): number {
    if (this.#options.pending) return this.#options.pending();
    return Math.max(0, this.#queued - this.#delivered - this.#failed - this.#dropped);
  }

  /** The whole exposition, Prometheus text format 0.0.4, ending with a newline. */
  render(): string {
    return [...this.chunks()].join('');
  }

  /**
   * The same text as render(), in pieces of at most `batch` targets per metric
   * family (each piece ends with a newline), so a server can yield to the event
   * loop between pieces instead of blocking the checks while it renders
   * thousands of targets. One target's histogram is always in one piece.
   */
  *chunks(batch = 250): Generator<string, void, undefined> {
    const series = [...this.#series.values()];
    const le = this.#leLabels;
    const step = Math.max(1, batch);
    const families: Array<[name: string, type: string, help: string, line: (s: Series) => string]> = [
      ['ch2_target_up', 'gauge', 'Whether the target is up (1) or down (0), from its incident state.', (s) => (s.up === STATE_UNKNOWN ? '' : `ch2_target_up{${s.label}} ${s.up}\n`)],
      [
        'ch2_check_duration_seconds',
        'histogram',
        'Time one check took, failed checks included.',
        (s) => {
          let text = '';
          let cumulative = 0;
          for (let i = 0; i < le.length; i++) {
            cumulative += s.buckets[i]!;
            text += `ch2_check_duration_seconds_bucket{${s.label},${le[i]}} ${cumulative}\n`;
          }
          return `${text}ch2_check_duration_seconds_sum{${s.label}} ${formatNumber(s.sumSeconds)}\nch2_check_duration_seconds_count{${s.label}} ${cumulative}\n`;
        },
      ],
      ['ch2_checks_total', 'counter', 'Checks made, by result.', (s) => `ch2_checks_total{${s.label},result="ok"} ${s.ok}\nch2_checks_total{${s.label},result="fail"} ${s.fail}\n`],
      [
        'ch2_target_last_check_timestamp_seconds',
        'gauge',
        'Unix time of the last check of the target.',
        (s) => (s.lastCheckMs > 0 ? `ch2_target_last_check_timestamp_seconds{${s.label}} ${formatNumber(s.lastCheckMs / 1000)}\n` : ''),
      ],
      ['ch2_cert_expiry_seconds', 'gauge', 'Seconds until the soonest certificate of the chain expires.', (s) => (s.certExpiresAt === undefined ? '' : `ch2_cert_expiry_seconds{${s.label}} ${Math.round((s.certExpiresAt - Date.now()) / 1000)}\n`)],
      [
        'ch2_alerts_total',
        'counter',
        'Alerts queued for the mailer, by status; reminders repeat a down alert.',
        (s) => {
          const a = s.alerts;
          return (
            `ch2_alerts_total{${s.label},status="down",reminder="false"} ${a[0]}\n` +
            `ch2_alerts_total{${s.label},status="down",reminder="true"} ${a[1]}\n` +
            `ch2_alerts_total{${s.label},status="up",reminder="false"} ${a[2]}\n` +
            (a[3]! > 0 ? `ch2_alerts_total{${s.label},status="up",reminder="true"} ${a[3]}\n` : '')
          );
        },
      ],
    ];
    for (const [name, type, help, line] of families) {
      let text = header(name, type, help);
      for (let i = 0; i < series.length; i++) {
        text += line(series[i]!);
        if ((i + 1) % step === 0 && i + 1 < series.length && text !== '') {
          yield text;
          text = '';
        }
      }
      if (text !== '') yield text;
    }

    let text = header('ch2_checks_skipped_total', 'counter', 'Checks made without a verdict (no file descriptor for them), neither failures nor successes.');
    for (const [reason, n] of Object.entries(this.#skipped)) text += `ch2_checks_skipped_total{reason="${reason}"} ${n}\n`;
    text += single('ch2_alerts_pending', 'gauge', 'Alerts waiting to be taken by the mailer.', this.#pendingNow());
    text += single('ch2_alerts_delivered_total', 'counter', 'Alerts the mailer took.', this.#delivered);
    text += single('ch2_alerts_failed_total', 'counter', 'Alerts the mailer refused for good.', this.#failed);
    text += single('ch2_alerts_dropped_total', 'counter', 'Alerts dropped to keep the queue for the mailer bounded.', this.#dropped);
    if (this.#options.processMetrics !== false) {
      const cpu = process.cpuUsage();
      text += single('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', process.memoryUsage.rss());
      text += single('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6);
      text += single('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', this.#startTimeSeconds);
    }
    yield text;
  }
}
