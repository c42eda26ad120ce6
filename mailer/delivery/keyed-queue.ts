/**
 * A work queue for one channel: at most `limit` jobs run at once, and jobs
 * that share a key run one at a time in the order they were added. A job
 * whose run asks for a retry keeps its place at the head of its key: the
 * next job of that key waits until it is done (delivered or given up), while
 * jobs of other keys go on. A retry waiting for its delay holds no slot.
 *
 * The dispatcher keys an alert by its target, so on each channel an "up"
 * alert is never sent before the "down" it closes, however often the down is
 * retried.
 *
 * Hand-written: p-queue and its kin bound concurrency but know neither keys
 * nor a job that keeps its place while it waits for a retry.
 */

/** What a run says: undefined when the job is done, else the delay (ms) before it runs again. */
export type RunOutcome = number | undefined;

export interface KeyedQueueOptions<T> {
  /** Jobs running at once, at most (at least 1). */
  limit: number;
  key: (job: T) => string;
  /** Runs one job; must not throw (a throw counts as done). */
  run: (job: T) => Promise<RunOutcome>;
}

export class KeyedQueue<T> {
  readonly #options: KeyedQueueOptions<T>;
  readonly #limit: number;
  /** Per key, its jobs in order; the first is live (ready, running or waiting for its retry). */
  readonly #byKey = new Map<string, T[]>();
  /** Heads that may start now, in the order they became ready. */
  readonly #ready: T[] = [];
  /** Jobs waiting for their retry, with its timer. */
  readonly #timers = new Map<T, NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();
  #jobs = 0;
  #closed = false;

  constructor(options: KeyedQueueOptions<T>) {
    this.#options = options;
    this.#limit = Math.max(1, Math.floor(options.limit));
  }

  /** Jobs not done: running, ready, waiting for a retry or behind another job of their key. */
  get size(): number {
    return this.#jobs;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#running.size;
  }

  add(job: T): void {
    if (this.#closed) return;
    this.#jobs += 1;
    const key = this.#options.key(job);
    const line = this.#byKey.get(key);
    if (line) {
      line.push(job);
      return;
    }
    this.#byKey.set(key, [job]);
    this.#ready.push(job);
    this.#pump();
  }

  /** Start nothing more, drop waiting retries, and resolve once the running jobs have settled. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#ready.length = 0;
    await Promise.allSettled([...this.#running]);
  }

  /** Jobs waiting for their retry that `now` picks run again now, without waiting out their delay (a silence added: the mute stage takes them). */
  wake(now: (job: T) => boolean): void {
    for (const [job, timer] of [...this.#timers]) {
      if (!now(job)) continue;
      clearTimeout(timer);
      this.#timers.delete(job);
      this.#ready.push(job);
    }
    this.#pump();
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.#limit && this.#ready.length > 0) {
      const job = this.#ready.shift() as T;
      const running: Promise<void> = this.#run(job).finally(() => {
        this.#running.delete(running);
        this.#pump();
      });
      this.#running.add(running);
    }
  }

  async #run(job: T): Promise<void> {
    let outcome: RunOutcome;
    try {
      outcome = await this.#options.run(job);
    } catch {
      outcome = undefined;
    }
    if (this.#closed) return;
    if (outcome === undefined) {
      this.#done(job);
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(job);
      this.#ready.push(job);
      this.#pump();
    }, Math.max(0, outcome));
    this.#timers.set(job, timer);
  }

  #done(job: T): void {
    this.#jobs -= 1;
    const key = this.#options.key(job);
    const line = this.#byKey.get(key);
    line?.shift();
    const next = line?.[0];
    if (next === undefined) this.#byKey.delete(key);
    else this.#ready.push(next);
  }
}
