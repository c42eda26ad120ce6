/**
 * A rate per peer address: a token bucket of `burst` requests, refilled at
 * `perSecond`. take() answers 0 when the request may go, or the seconds to
 * wait (for Retry-After). At most `maxPeers` buckets are kept: full ones
 * are forgotten first (they hold nothing a new bucket would not), and
 * past that the oldest, so many peers cannot grow the mailer's memory.
 */
export interface PeerRateOptions {
  burst: number;
  perSecond: number;
  maxPeers?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class PeerRate {
  readonly #o: Required<PeerRateOptions>;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: PeerRateOptions) {
    this.#o = { maxPeers: 4096, now: Date.now, ...options };
  }

  take(peer: string): number {
    const now = this.#o.now();
    const { burst, perSecond } = this.#o;
    const b = this.#buckets.get(peer);
    const tokens = b === undefined ? burst : Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    if (tokens < 1) {
      b!.tokens = tokens;
      b!.at = now;
      return Math.max(1, Math.ceil((1 - tokens) / perSecond));
    }
    this.#buckets.delete(peer);
    this.#buckets.set(peer, { tokens: tokens - 1, at: now });
    if (this.#buckets.size > this.#o.maxPeers) this.#trim(now);
    return 0;
  }

  #trim(now: number): void {
    const { burst, perSecond, maxPeers } = this.#o;
    for (const [peer, b] of this.#buckets) if (b.tokens + ((now - b.at) / 1000) * perSecond >= burst) this.#buckets.delete(peer);
    for (const peer of this.#buckets.keys()) {
      if (this.#buckets.size <= maxPeers) break;
      this.#buckets.delete(peer);
    }
  }
}
