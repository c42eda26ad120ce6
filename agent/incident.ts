/**
 * The incident state machine: check results in, alert decisions out. It does
 * no I/O and keeps no clock of its own: every result carries its time.
 * UP → DOWN after `failureThreshold` failures in a row; DOWN → UP after
 * `successThreshold` successes in a row. One "down" per incident, one "up"
 * that says how long it lasted.
 */
export type IncidentState = 'up' | 'down';

export interface Observation {
  ok: boolean;
  at: number;
  reason?: string;
}

export type Transition =
  | { kind: 'down'; at: number; reason: string }
  | { kind: 'up'; at: number; downForMs: number };

export interface Thresholds {
  failureThreshold: number;
  successThreshold: number;
}

export class Incident {
  #state: IncidentState = 'up';
  #failures = 0;
  #successes = 0;
  #downSince = 0;
  readonly #thresholds: Thresholds;

  constructor(thresholds: Thresholds = { failureThreshold: 1, successThreshold: 1 }) {
    if (thresholds.failureThreshold < 1 || thresholds.successThreshold < 1) {
      throw new RangeError('thresholds must be at least 1');
    }
    this.#thresholds = thresholds;
  }

  get state(): IncidentState {
    return this.#state;
  }

  /** Feed one check result; returns the transition it caused, if any. */
  observe(obs: Observation): Transition | undefined {
    if (obs.ok) {
      this.#failures = 0;
      if (this.#state === 'up') return undefined;
      this.#successes += 1;
      if (this.#successes < this.#thresholds.successThreshold) return undefined;
      this.#state = 'up';
      this.#successes = 0;
      return { kind: 'up', at: obs.at, downForMs: Math.max(0, obs.at - this.#downSince) };
    }
    this.#successes = 0;
    if (this.#state === 'down') return undefined;
    this.#failures += 1;
    if (this.#failures === 1) this.#downSince = obs.at;
    if (this.#failures < this.#thresholds.failureThreshold) return undefined;
    this.#state = 'down';
    this.#failures = 0;
    return { kind: 'down', at: obs.at, reason: obs.reason ?? 'check failed' };
  }
}
