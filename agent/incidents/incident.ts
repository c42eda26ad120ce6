/**
 * The incident state machine of one target: check results in, alert decisions
 * out. It does no I/O and keeps no clock of its own: every observation carries
 * its time, and reminders fall due on the times of later observations.
 *
 *   UP → DOWN   after `failureThreshold` failed checks in a row: one "down".
 *   DOWN        every `remindEveryMs` (0: never) a failed check yields a
 *               "reminder", at most `maxReminders` per incident. A reminder
 *               is due when `remindEveryMs` has passed since the last alert,
 *               less a slack of 5% (at most 250 ms), so that a reminder
 *               period equal to the check interval is not missed by a
 *               millisecond of timer jitter.
 *   DOWN → UP   after `successThreshold` good checks in a row: one "up" that
 *               says how long the outage lasted, counted from the first failed
 *               check of the run that opened it.
 *
 * A run that falls short of its threshold is forgotten: a flapping site that
 * never fails (or recovers) enough checks in a row changes nothing.
 *
 * Each outage has one id, drawn at its first failed check (the first of the
 * run that opens it) and carried by its down, every reminder and its up,
 * whatever the thresholds: the channels resolve and thread by it, the hub
 * opens and closes its incident by it. The next outage draws a new one.
 */
import { randomBytes } from 'node:crypto';

export type IncidentState = 'up' | 'down';

export interface Observation {
  ok: boolean;
  /** When the check was made (ms since the epoch, or any monotonic clock). */
  at: number;
  reason?: string;
}

export type Transition =
  | { kind: 'down'; at: number; reason: string }
  | { kind: 'reminder'; at: number; reason: string; downForMs: number; count: number }
  | { kind: 'up'; at: number; downForMs: number };

/** A transition with the id of the outage it belongs to. */
export type IncidentTransition = Transition & { incident: string };

/** A fresh outage id: "inc-" and 24 hex digits (96 random bits). */
export function newIncidentId(): string {
  return `inc-${randomBytes(12).toString('hex')}`;
}

export interface IncidentPolicy {
  failureThreshold: number;
  successThreshold: number;
  /** Time between reminders while down; 0 or absent: no reminders. */
  remindEveryMs?: number;
  /** Most reminders per incident; absent: no limit. */
  maxReminders?: number;
}

export class Incident {
  #state: IncidentState = 'up';
  /** Failed checks in a row while up, or good checks in a row while down. */
  #run = 0;
  #runStartedAt = 0;
  #downSince = 0;
  #lastAlertAt = 0;
  #reminders = 0;
  #lastReason = 'check failed';
  /** The id drawn at the first failed check of the current run while up: the outage's, if the run opens one. */
  #runId = '';
  /** The current (or last) outage's id. */
  #id = '';
  readonly #policy: Required<IncidentPolicy>;
  readonly #newId: () => string;

  /** `newId`: draws an outage's id (tests give a counter). */
  constructor(policy: IncidentPolicy = { failureThreshold: 1, successThreshold: 1 }, newId: () => string = newIncidentId) {
    const { failureThreshold, successThreshold } = policy;
    if (!Number.isInteger(failureThreshold) || !Number.isInteger(successThreshold) || failureThreshold < 1 || successThreshold < 1) {
      throw new RangeError('thresholds must be whole numbers of at least 1');
    }
    const remindEveryMs = policy.remindEveryMs ?? 0;
    const maxReminders = policy.maxReminders ?? Number.POSITIVE_INFINITY;
    if (!(remindEveryMs >= 0) || !(maxReminders >= 0)) throw new RangeError('reminder settings must not be negative');
    this.#policy = { failureThreshold, successThreshold, remindEveryMs, maxReminders };
    this.#newId = newId;
  }

  get state(): IncidentState {
    return this.#state;
  }

  /**
   * 'failure' while up with a run of failures under the threshold, 'success'
   * while down with a run of successes under it; undefined when settled. The
   * monitor confirms an unsettled state with quick extra checks.
   */
  get unconfirmed(): 'failure' | 'success' | undefined {
    if (this.#run === 0) return undefined;
    return this.#state === 'up' ? 'failure' : 'success';
  }

  /** When the current incident began (its first failed check); undefined while up. */
  get downSince(): number | undefined {
    return this.#state === 'down' ? this.#downSince : undefined;
  }

  /** Feed one check result; returns the transition it caused, if any. */
  observe(obs: Observation): IncidentTransition | undefined {
    return this.#state === 'up' ? this.#whileUp(obs) : this.#whileDown(obs);
  }

  #whileUp(obs: Observation): IncidentTransition | undefined {
    if (obs.ok) {
      this.#run = 0;
      return undefined;
    }
    if (this.#run === 0) {
      this.#runStartedAt = obs.at;
      this.#runId = this.#newId();
    }
    this.#run += 1;
    if (this.#run < this.#policy.failureThreshold) return undefined;
    const reason = obs.reason ?? 'check failed';
    this.#state = 'down';
    this.#run = 0;
    this.#downSince = this.#runStartedAt;
    this.#id = this.#runId;
    this.#lastAlertAt = obs.at;
    this.#reminders = 0;
    this.#lastReason = reason;
    return { kind: 'down', at: obs.at, reason, incident: this.#id };
  }

  #whileDown(obs: Observation): IncidentTransition | undefined {
    if (obs.ok) {
      this.#run += 1;
      if (this.#run < this.#policy.successThreshold) return undefined;
      this.#state = 'up';
      this.#run = 0;
      return { kind: 'up', at: obs.at, downForMs: Math.max(0, obs.at - this.#downSince), incident: this.#id };
    }
    this.#run = 0;
    this.#lastReason = obs.reason ?? this.#lastReason;
    const { remindEveryMs, maxReminders } = this.#policy;
    if (remindEveryMs <= 0 || this.#reminders >= maxReminders) return undefined;
    const slack = Math.min(remindEveryMs * 0.05, 250);
    if (obs.at - this.#lastAlertAt < remindEveryMs - slack) return undefined;
    this.#reminders += 1;
    this.#lastAlertAt = obs.at;
    return {
      kind: 'reminder',
      at: obs.at,
      reason: this.#lastReason,
      downForMs: Math.max(0, obs.at - this.#downSince),
      count: this.#reminders,
      incident: this.#id,
    };
  }
}
