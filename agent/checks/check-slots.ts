/**
 * At most `limit` checks in flight at once, over all targets: the others wait
 * their turn, first come first served. The monitor uses it when the open-file
 * limit is below what the targets could use (descriptors.ts), so that a check
 * waits for a descriptor before it starts (and before its timeout runs)
 * instead of failing for want of one.
 */
export class CheckSlots {
  readonly limit: number;
  #inFlight = 0;
  readonly #waiting: Array<(() => void) | undefined> = [];
  #head = 0;
  /** Slots freed while a release was handing one on (no recursion through a long queue). */
  #freed = 0;
  #handing = false;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('the slots must be a whole number of at least 1');
    this.limit = limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** Calls `start` now if a slot is free, else when one is; the caller calls release() once its check is over. */
  take(start: () => void): void {
    if (this.#inFlight < this.limit) {
      this.#inFlight += 1;
      start();
    } else {
      this.#waiting.push(start);
    }
  }

  /** A check is over: its slot goes to the longest waiting one. */
  release(): void {
    this.#freed += 1;
    if (this.#handing) return;
    this.#handing = true;
    try {
      while (this.#freed > 0) {
        this.#freed -= 1;
        const next = this.#next();
        if (next) next();
        else this.#inFlight -= 1;
      }
    } finally {
      this.#handing = false;
    }
  }

  #next(): (() => void) | undefined {
    if (this.#head >= this.#waiting.length) return undefined;
    const next = this.#waiting[this.#head];
    this.#waiting[this.#head] = undefined;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting.splice(0, this.#head);
      this.#head = 0;
    }
    return next;
  }
}
