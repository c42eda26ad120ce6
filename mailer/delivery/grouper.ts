/**
 * Grouping, against alert storms: on one channel, the alerts for one
 * recipient that arrive within `waitMs` go as one message, and after that
 * at most one flush per `intervalMs` while alerts keep coming (Alertmanager's
 * group_wait and group_interval). A flush sends what waited in messages of
 * at most MAX_GROUP alerts. Each alert keeps its own outcome: the group's
 * send is reported to every member, which the dispatcher settles, retries or
 * dead-letters on its own (a retried alert comes back here and may join
 * another group).
 *
 * It holds jobs, not slots: the keyed queue in front of it keeps per-target
 * order (a target's up reaches the grouper only after its down is done), and
 * `send` runs at most `concurrency` group sends at once.
 */
import type { GroupPolicy } from './channel-setup.ts';
import type { RunOutcome } from './keyed-queue.ts';

/** Alerts in one message at the most: a chat message stays readable and within its provider's size. */
export const MAX_GROUP = 50;

interface Waiting<T> {
  job: T;
  resolve: (outcome: RunOutcome) => void;
}

interface Bucket<T> {
  waiting: Waiting<T>[];
  timer?: NodeJS.Timeout;
  lastFlush: number;
}

export interface GrouperOptions<T> {
  policy: GroupPolicy;
  key: (job: T) => string;
  /** Sends one group; resolves with each member's outcome, in order. */
  send: (jobs: T[]) => Promise<RunOutcome[]>;
  concurrency: number;
  now?: () => number;
}

export class Grouper<T> {
  readonly #options: GrouperOptions<T>;
  readonly #buckets = new Map<string, Bucket<T>>();
  /** Groups ready to send, in order. */
  readonly #ready: Waiting<T>[][] = [];
  #sending = 0;
  #closed = false;

  constructor(options: GrouperOptions<T>) {
    this.#options = options;
  }

  /** Resolves with the job's outcome once its group has been sent. */
  run(job: T): Promise<RunOutcome> {
    if (this.#closed) return Promise.resolve(0);
    return new Promise((resolve) => {
      const key = this.#options.key(job);
      let bucket = this.#buckets.get(key);
      if (!bucket) {
        bucket = { waiting: [], lastFlush: -Infinity };
        this.#buckets.set(key, bucket);
      }
      bucket.waiting.push({ job, resolve });
      if (bucket.timer === undefined) this.#schedule(key, bucket);
    });
  }

  /** Start nothing more: every waiting job ends now, still owed (0: "try again"; the closed queue starts nothing). */
  close(): void {
    this.#closed = true;
    for (const bucket of this.#buckets.values()) {
      clearTimeout(bucket.timer);
      for (const w of bucket.waiting) w.resolve(0);
    }
    this.#buckets.clear();
    for (const group of this.#ready.splice(0)) for (const w of group) w.resolve(0);
  }

  /**
   * Take the jobs that `picked` picks out of their groups before they are
   * sent (still waiting, or flushed and waiting for a send slot): each ends
   * with what `picked` returned for it (a silence added: the mute stage holds them).
   */
  take(picked: (job: T) => RunOutcome | false): void {
    const pick = (waiting: Waiting<T>[]): Waiting<T>[] =>
      waiting.filter((w) => {
        const outcome = picked(w.job);
        if (outcome === false) return true;
        w.resolve(outcome);
        return false;
      });
    for (const bucket of this.#buckets.values()) bucket.waiting = pick(bucket.waiting);
    for (let i = this.#ready.length - 1; i >= 0; i--) {
      const rest = pick(this.#ready[i]!);
      if (rest.length > 0) this.#ready[i] = rest;
      else this.#ready.splice(i, 1);
    }
  }

  #schedule(key: string, bucket: Bucket<T>): void {
    const now = this.#options.now?.() ?? Date.now();
    const { waitMs, intervalMs } = this.#options.policy;
    const at = Math.max(now + waitMs, bucket.lastFlush + intervalMs);
    bucket.timer = setTimeout(() => this.#flush(key, bucket), Math.max(0, at - now));
  }

  #flush(key: string, bucket: Bucket<T>): void {
    bucket.timer = undefined;
    bucket.lastFlush = this.#options.now?.() ?? Date.now();
    const waiting = bucket.waiting.splice(0);
    for (let i = 0; i < waiting.length; i += MAX_GROUP) this.#ready.push(waiting.slice(i, i + MAX_GROUP));
    // A quiet bucket is forgotten after its interval, so a new alert then waits only waitMs.
    bucket.timer = setTimeout(() => {
      bucket.timer = undefined;
      if (bucket.waiting.length > 0) this.#flush(key, bucket);
      else this.#buckets.delete(key);
    }, this.#options.policy.intervalMs);
    this.#pump();
  }

  #pump(): void {
    while (!this.#closed && this.#sending < this.#options.concurrency && this.#ready.length > 0) {
      const group = this.#ready.shift()!;
      this.#sending += 1;
      this.#options
        .send(group.map((w) => w.job))
        .then(
          (outcomes) => group.forEach((w, i) => w.resolve(outcomes[i])),
          () => group.forEach((w) => w.resolve(0)),
        )
        .finally(() => {
          this.#sending -= 1;
          this.#pump();
        });
    }
  }
}
