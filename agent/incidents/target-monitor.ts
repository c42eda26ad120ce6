/**
 * The checks of one target: when to check, in which mode, and what the result
 * means (through its incident state machine). One small object per target,
 * one timer at a time, at most one check in flight; a slow or hanging target
 * delays nobody else.
 *
 * When checks run:
 *   - every `intervalMs`, counted from the start of the previous check;
 *   - after a failure while up (an unconfirmed failure), again after
 *     CONFIRM_GAP_MS, on a fresh connection with a short connect timeout
 *     (`confirmConnectTimeoutMs`), until the failure threshold confirms the
 *     outage or a good check clears it;
 *   - at once (no sooner than MIN_GAP_MS after the previous check's start) when
 *     `wake()` is called because the server closed the kept-alive connection;
 *     at most one such early check per interval, so a server that closes every
 *     connection cannot make the agent spin.
 *
 * After a server's close, the next check (early, or the regular one when the
 * interval's early check is used) is made as a confirming check is: a fresh
 * connection, the short connect timeout. A server going away often closes
 * its connections first, and its address may then answer nothing at all (a
 * stopped container's): a full connect timeout there came on top of the
 * interval (about 2.2 s from `docker stop` to the alert, where the fast path
 * takes 0.25 s).
 *
 * A check with no verdict (`skipped`: no file descriptor for it) is not fed to
 * the incident: it is neither a failure nor a success. It goes to
 * `events.skipped` instead of `events.check`, and the target is checked again
 * at its next interval (no quick retry, which would only find no descriptor
 * again).
 *
 * With `slots` (a low open-file limit: descriptors.ts) a check that is due
 * waits for a slot before it starts; its timeout and latency count from then.
 */
import type { CheckSlots } from '../checks/check-slots.ts';
import type { MonitorEvents } from './monitor-events.ts';
import { Incident, type IncidentState, type IncidentTransition } from './incident.ts';
import { type CheckResult, oneLineReason, type Probe } from '../checks/probe.ts';
import type { TargetSpec } from '../target.ts';

/** Delay between the end of a failed check and its confirming check. */
export const CONFIRM_GAP_MS = 50;
/** The shortest connect timeout of a confirming check. */
export const CONFIRM_CONNECT_MIN_MS = 250;
/** A confirming check's connect timeout is this many times the target's usual latency (at least the minimum above). */
export const CONFIRM_CONNECT_LATENCY_FACTOR = 4;
/** The smallest gap between the starts of two checks of one target. */
export const MIN_GAP_MS = 20;

export interface TargetMonitorDeps {
  spec: TargetSpec;
  probe: Probe;
  events: MonitorEvents;
  /** Turn a transition into alerts (called after events.transition). */
  raise: (spec: TargetSpec, transition: IncidentTransition) => void;
  /** Checks in flight at once over all targets (see the header); absent: no limit. */
  slots?: CheckSlots;
  /** Monotonic clock, ms (performance.now). */
  now?: () => number;
}

export class TargetMonitor {
  readonly spec: TargetSpec;
  readonly #deps: TargetMonitorDeps;
  readonly #incident: Incident;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = false;
  #stopped = false;
  /** When the current or last check started (monotonic ms). */
  #lastStart = Number.NEGATIVE_INFINITY;
  /** When the scheduled check was meant to start; NaN for early checks. */
  #due = Number.NaN;
  #wokenInFlight = false;
  #earlyUsed = false;
  /** The server closed our connection since the last check began: the next one is quick (see the header). */
  #closedSince = false;
  /** Smoothed latency of good checks, ms; 0 until the first one. */
  #latencyMs = 0;

  constructor(deps: TargetMonitorDeps) {
    this.spec = deps.spec;
    this.#deps = deps;
    this.#now = deps.now ?? (() => performance.now());
    this.#incident = new Incident({
      failureThreshold: deps.spec.failureThreshold,
      successThreshold: deps.spec.successThreshold,
      remindEveryMs: deps.spec.remindEveryMs,
      maxReminders: deps.spec.maxReminders,
    });
  }

  get state(): IncidentState {
    return this.#incident.state;
  }

  /** The first check after `delayMs`. */
  start(delayMs = 0): void {
    if (this.#stopped || this.#timer || this.#inFlight) return;
    this.#schedule(delayMs, false);
  }

  /** The server closed our connection: check again now (once per interval). */
  wake(): void {
    if (this.#stopped) return;
    this.#closedSince = true;
    if (this.#earlyUsed) return;
    if (this.#inFlight) {
      this.#wokenInFlight = true;
      return;
    }
    if (!this.#timer) return;
    this.#earlyUsed = true;
    clearTimeout(this.#timer);
    this.#schedule(Math.max(0, this.#lastStart + MIN_GAP_MS - this.#now()), true);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The connect timeout of a confirming check: a few times the usual latency, within [CONFIRM_CONNECT_MIN_MS, connect timeout]. */
  confirmConnectTimeoutMs(): number {
    const adaptive = Math.max(CONFIRM_CONNECT_MIN_MS, Math.ceil(CONFIRM_CONNECT_LATENCY_FACTOR * this.#latencyMs));
    return Math.min(this.spec.connectTimeoutMs, adaptive);
  }

  #schedule(delayMs: number, early: boolean): void {
    this.#due = early ? Number.NaN : this.#now() + delayMs;
    this.#timer = setTimeout(this.#run, delayMs);
  }

  readonly #run = (): void => {
    this.#timer = undefined;
    if (this.#stopped) return;
    const slots = this.#deps.slots;
    if (!slots) {
      void this.#check();
      return;
    }
    // Waiting for a slot counts as in flight: a wake() meanwhile asks for no other check.
    this.#inFlight = true;
    slots.take(this.#begin);
  };

  /** A slot is ours. */
  readonly #begin = (): void => {
    if (!this.#stopped) {
      void this.#check();
      return;
    }
    this.#inFlight = false;
    this.#deps.slots?.release();
  };

  async #check(): Promise<void> {
    const start = this.#now();
    const scheduled = !Number.isNaN(this.#due);
    const lateMs = scheduled ? Math.max(0, start - this.#due) : 0;
    // A regular check opens a new interval, and with it the right to one early check.
    if (scheduled) this.#earlyUsed = false;
    this.#lastStart = start;
    this.#inFlight = true;
    this.#wokenInFlight = false;
    const confirming = this.#incident.unconfirmed === 'failure' || this.#closedSince;
    this.#closedSince = false;
    let result: CheckResult;
    try {
      result = await this.#deps.probe.check(confirming ? 'confirm' : 'normal', this.confirmConnectTimeoutMs());
    } catch (err) {
      result = { ok: false, reason: oneLineReason((err as Error).message ?? String(err)), latencyMs: this.#now() - start, at: Date.now() };
    }
    this.#inFlight = false;
    this.#deps.slots?.release();
    if (this.#stopped) return;
    if (result.skipped !== undefined) {
      this.#deps.events.skipped?.(this.spec.name, result.skipped);
      this.#schedule(Math.max(0, start + this.spec.intervalMs - this.#now()), false);
      return;
    }
    result.lateMs = lateMs;
    if (result.ok) this.#latencyMs = this.#latencyMs === 0 ? result.latencyMs : 0.8 * this.#latencyMs + 0.2 * result.latencyMs;
    this.#record(result);
    this.#next(start);
  }

  #record(result: CheckResult): void {
    const { events, raise, spec } = this.#deps;
    // Every reason is one short line, whichever probe made it (a body keyword may be 4,096 characters).
    if (result.reason !== undefined) result.reason = oneLineReason(result.reason);
    events.check?.(spec.name, result);
    const obs = result.reason === undefined ? { ok: result.ok, at: result.at } : { ok: result.ok, at: result.at, reason: result.reason };
    const transition = this.#incident.observe(obs);
    if (transition) {
      events.transition?.(spec.name, transition);
      raise(spec, transition);
    }
  }

  #next(start: number): void {
    const now = this.#now();
    if (this.#wokenInFlight && !this.#earlyUsed) {
      this.#earlyUsed = true;
      this.#schedule(Math.max(0, start + MIN_GAP_MS - now), true);
    } else if (this.#incident.unconfirmed === 'failure') {
      this.#schedule(CONFIRM_GAP_MS, true);
    } else {
      this.#schedule(Math.max(0, start + this.spec.intervalMs - now), false);
    }
  }
}
