/**
 * A destination's published rate limit (Slack about one message a second per
 * webhook, Telegram one a second per chat, …) as a token bucket that starts
 * full, plus pauses the destination asks for (a 429's Retry-After, Discord's
 * empty bucket): the dispatcher passes each send through it, so no channel
 * sends faster than its provider allows, however many alerts arrive.
 *
 * Hand-written: a token bucket is a few lines, and it must take the pauses
 * the answers ask for, which the rate-limit packages do not.
 */
import type { RateLimit } from './channels/channel.ts';

const HEADROOM = 1.05;

export class RateGate {
  readonly #limit: RateLimit | undefined;
  readonly #now: () => number;
  #tokens: number;
  #stamp: number;
  #heldUntil = 0;
  #waiting = 0;
  /** Waiters in order: a send that came first goes first. */
  #queue: Promise<void> = Promise.resolve();

  constructor(limit: RateLimit | undefined, now: () => number = () => performance.now()) {
    // 5 % under the published limit: requests arrive with the network's jitter, and a receiver counts arrivals.
    this.#limit = limit && limit.count > 0 && limit.perMs > 0 ? { count: limit.count, perMs: limit.perMs * HEADROOM } : undefined;
    this.#now = now;
    this.#tokens = this.#limit?.count ?? 0;
    this.#stamp = now();
  }

  /** No send before now + ms (the destination asked for a pause). */
  hold(ms: number): void {
    if (ms > 0) this.#heldUntil = Math.max(this.#heldUntil, this.#now() + ms);
  }

  /** Takes a send's turn at once if it may start now (nobody waiting, no pause, a token left). */
  tryTake(): boolean {
    if (this.#waiting > 0 || this.#delay() > 0) return false;
    if (this.#limit) this.#tokens -= 1;
    return true;
  }

  /** Resolves when one send may start (at once when there is no limit and no pause); false if `signal` aborted first. */
  take(signal: AbortSignal): Promise<boolean> {
    this.#waiting += 1;
    const turn = this.#queue.then(() => this.#wait(signal)).finally(() => {
      this.#waiting -= 1;
    });
    this.#queue = turn.then(() => undefined);
    return turn;
  }

  async #wait(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      const delay = this.#delay();
      if (delay <= 0) {
        if (this.#limit) this.#tokens -= 1;
        return true;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** ms until a send may start. */
  #delay(): number {
    const now = this.#now();
    const held = this.#heldUntil - now;
    if (!this.#limit) return held;
    const { count, perMs } = this.#limit;
    this.#tokens = Math.min(count, this.#tokens + ((now - this.#stamp) * count) / perMs);
    this.#stamp = now;
    const refill = this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * perMs) / count);
    return Math.max(held, refill);
  }
}
