/**
 * Warn lines that a flood cannot turn into a flood of the log: per key (a
 * peer's address, say) at most `perKey` lines in each interval, and at most
 * `total` in all; the next line that goes out after some were held back
 * says how many. At most `maxKeys` keys are tracked (an expired one makes
 * room; past that, new keys share one budget), so many peers cannot grow
 * its memory either.
 */
import type { Logger } from './logger.ts';

const INTERVAL_MS = 10_000;
const OVERFLOW = '\u0000overflow';

export interface ThrottleLimits {
  /** Lines per key per interval (default 1). */
  perKey?: number;
  /** Lines per interval over every key (default: no bound beyond the keys'). */
  total?: number;
  maxKeys?: number;
  intervalMs?: number;
}

/** Refusal lines (a bad request, a wrong token): at most 50 per peer and 100 in all each 10 s (5 and 10 a second). */
export const REFUSAL_LIMITS: ThrottleLimits = { perKey: 50, total: 100 };

interface Window {
  start: number;
  count: number;
  held: number;
}

export class ThrottledLog {
  readonly #log: Logger;
  readonly #perKey: number;
  readonly #total: number;
  readonly #maxKeys: number;
  readonly #intervalMs: number;
  readonly #windows = new Map<string, Window>();
  #all = { start: -Infinity, count: 0 };

  constructor(log: Logger, limits: ThrottleLimits = {}) {
    this.#log = log;
    this.#perKey = limits.perKey ?? 1;
    this.#total = limits.total ?? Infinity;
    this.#maxKeys = limits.maxKeys ?? 1024;
    this.#intervalMs = limits.intervalMs ?? INTERVAL_MS;
  }

  warn(line: string, fields: Record<string, unknown>, key = ''): void {
    const now = Date.now();
    if (now - this.#all.start >= this.#intervalMs) this.#all = { start: now, count: 0 };
    const w = this.#window(key, now);
    if (w.count >= this.#perKey || this.#all.count >= this.#total) {
      w.held += 1;
      return;
    }
    const more = w.held > 0 ? ` (${w.held} more like it since the last such line)` : '';
    w.held = 0;
    w.count += 1;
    this.#all.count += 1;
    this.#log.warn(`${line}${more}`, fields);
  }

  #window(key: string, now: number): Window {
    let k = key;
    let w = this.#windows.get(k);
    if (w === undefined && this.#windows.size >= this.#maxKeys) {
      // The oldest windows first (a renewed window is re-inserted): drop those whose interval is over.
      for (const [old, ow] of this.#windows) {
        if (this.#windows.size < this.#maxKeys || now - ow.start < this.#intervalMs) break;
        this.#windows.delete(old);
      }
      if (this.#windows.size >= this.#maxKeys) k = OVERFLOW;
      w = this.#windows.get(k);
    }
    if (w === undefined || now - w.start >= this.#intervalMs) {
      const held = w?.held ?? 0;
      this.#windows.delete(k);
      w = { start: now, count: 0, held };
      this.#windows.set(k, w);
    }
    return w;
  }
}
