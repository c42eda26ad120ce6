/**
 * The hub's time buckets in memory, per target: the last 168 hours (24 hourly
 * bars, uptime over 24 h and 7 d), the last 90 days (daily bars, uptime over
 * 30 d and 90 d) and the latency histograms of the last 24 hours (p50, p95).
 * Fixed rings of typed arrays indexed by the hour or day number (UTC), each
 * slot stamped with its number, so a slot from an earlier lap reads as empty
 * and nothing is ever shifted or swept. What the store keeps (hub_buckets) is
 * the same sums; this is loaded from it at start and added to as reports
 * come. A bucket is the report's arrival time at the hub: an outage across
 * midnight counts into both days; a gap in reports is no data, not downtime.
 *
 * Uptime is check-weighted: 1 - failures / checks, summed over every agent
 * that watches the target.
 */
import { LATENCY_BUCKETS_MS } from '../../shared/wire-report.ts';
import { DAY_MS, HOUR_MS, PACKED_WIDTH } from './model.ts';
import { type BarView, DAILY_BARS, HOURLY_BARS, type UptimeWindow } from './status-view.ts';

const HOURS = 7 * 24;
const DAYS = DAILY_BARS;
const LAT = LATENCY_BUCKETS_MS.length + 1;
const WINDOWS: Record<UptimeWindow, { hours?: number; days?: number }> = { '24h': { hours: 24 }, '7d': { hours: HOURS }, '30d': { days: 30 }, '90d': { days: 90 } };

class Ring {
  readonly stamp: Int32Array;
  readonly checks: Float64Array;
  readonly failures: Float64Array;
  readonly incidents: Uint32Array;
  readonly size: number;

  constructor(size: number) {
    this.size = size;
    this.stamp = new Int32Array(size).fill(-1);
    this.checks = new Float64Array(size);
    this.failures = new Float64Array(size);
    this.incidents = new Uint32Array(size);
  }

  /** The slot of bucket number n, emptied when it held an older one; -1 when it holds a newer one (n is past keeping). */
  slot(n: number): number {
    const i = n % this.size;
    if (this.stamp[i]! > n) return -1;
    if (this.stamp[i] !== n) {
      this.stamp[i] = n;
      this.checks[i] = 0;
      this.failures[i] = 0;
      this.incidents[i] = 0;
    }
    return i;
  }

  /** Sums over bucket numbers from..to (inclusive). */
  sum(from: number, to: number): { checks: number; failures: number } {
    let checks = 0;
    let failures = 0;
    for (let n = Math.max(from, to - this.size + 1); n <= to; n++) {
      const i = n % this.size;
      if (this.stamp[i] !== n) continue;
      checks += this.checks[i]!;
      failures += this.failures[i]!;
    }
    return { checks, failures };
  }

  bars(to: number, count: number, unitMs: number): BarView[] {
    const out: BarView[] = [];
    for (let n = to - count + 1; n <= to; n++) {
      const i = n % this.size;
      const here = this.stamp[i] === n;
      const checks = here ? this.checks[i]! : 0;
      const failures = here ? this.failures[i]! : 0;
      out.push({ start: new Date(n * unitMs).toISOString(), checks, failures, uptime: checks > 0 ? 1 - failures / checks : null, incidents: here ? this.incidents[i]! : 0 });
    }
    return out;
  }
}

export class TargetRollup {
  readonly #hours = new Ring(HOURS);
  readonly #days = new Ring(DAYS);
  readonly #latStamp = new Int32Array(HOURLY_BARS).fill(-1);
  readonly #lat = new Float64Array(HOURLY_BARS * LAT);

  /** Checks reported at `at`, with their latency counts (LAT numbers) and incidents opened. */
  add(at: number, checks: number, failures: number, latency: readonly number[] | undefined, incidents = 0): void {
    const h = Math.floor(at / HOUR_MS);
    const d = Math.floor(at / DAY_MS);
    for (const [ring, n] of [[this.#hours, h], [this.#days, d]] as const) {
      const i = ring.slot(n);
      if (i < 0) continue;
      ring.checks[i]! += checks;
      ring.failures[i]! += failures;
      ring.incidents[i]! += incidents;
    }
    if (latency) this.#addLatency(h, latency, 0, latency.length);
  }

  /** A stored bucket at start: the packed row at offset `o` of `rows` (model.ts PackedBuckets). */
  load(rows: Float64Array, o: number): void {
    const hourly = rows[o + 1] === HOUR_MS;
    const ring = hourly ? this.#hours : this.#days;
    const n = Math.floor(rows[o + 2]! / (hourly ? HOUR_MS : DAY_MS));
    const i = ring.slot(n);
    if (i < 0) return;
    ring.checks[i]! += rows[o + 3]!;
    ring.failures[i]! += rows[o + 4]!;
    ring.incidents[i]! += rows[o + 5]!;
    if (hourly) this.#addLatency(n, rows, o + 6, o + PACKED_WIDTH);
  }

  /** A stored bucket as the store has it now (another mailer's checks in it too): it replaces this one's (latency: the hour's). */
  replace(rows: Float64Array, o: number): void {
    const hourly = rows[o + 1] === HOUR_MS;
    const ring = hourly ? this.#hours : this.#days;
    const n = Math.floor(rows[o + 2]! / (hourly ? HOUR_MS : DAY_MS));
    const i = ring.slot(n);
    if (i < 0) return;
    ring.checks[i] = 0;
    ring.failures[i] = 0;
    ring.incidents[i] = 0;
    if (hourly && this.#latStamp[n % HOURLY_BARS] === n) this.#lat.fill(0, (n % HOURLY_BARS) * LAT, (n % HOURLY_BARS + 1) * LAT);
    this.load(rows, o);
  }

  uptime(window: UptimeWindow, now: number): number | null {
    const w = WINDOWS[window];
    const s = w.hours !== undefined ? this.#hours.sum(Math.floor(now / HOUR_MS) - w.hours + 1, Math.floor(now / HOUR_MS)) : this.#days.sum(Math.floor(now / DAY_MS) - w.days! + 1, Math.floor(now / DAY_MS));
    return s.checks > 0 ? 1 - s.failures / s.checks : null;
  }

  daily(now: number, count = DAILY_BARS): BarView[] {
    return this.#days.bars(Math.floor(now / DAY_MS), Math.min(count, DAYS), DAY_MS);
  }

  hourly(now: number, count = HOURLY_BARS): BarView[] {
    return this.#hours.bars(Math.floor(now / HOUR_MS), Math.min(count, HOURS), HOUR_MS);
  }

  /** The latency histogram of the last 24 hours. */
  latency24h(now: number): number[] {
    const h = Math.floor(now / HOUR_MS);
    const sum = new Array<number>(LAT).fill(0);
    for (let n = h - HOURLY_BARS + 1; n <= h; n++) {
      const i = n % HOURLY_BARS;
      if (this.#latStamp[i] !== n) continue;
      for (let k = 0; k < LAT; k++) sum[k]! += this.#lat[i * LAT + k]!;
    }
    return sum;
  }

  /** Latency counts latency[from..to) into hour h. */
  #addLatency(h: number, latency: ArrayLike<number>, from: number, to: number): void {
    const i = h % HOURLY_BARS;
    if (this.#latStamp[i]! > h) return;
    if (this.#latStamp[i] !== h) {
      this.#latStamp[i] = h;
      this.#lat.fill(0, i * LAT, (i + 1) * LAT);
    }
    for (let k = 0; k < LAT && from + k < to; k++) this.#lat[i * LAT + k]! += latency[from + k] ?? 0;
  }
}

/**
 * The response time at quantile q (0..1) of a latency histogram: the upper
 * bound (ms) of the bucket it falls in; the open bucket reads as its lower
 * bound; null when the histogram is empty.
 */
export function quantileMs(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let k = 0; k < histogram.length; k++) {
    seen += histogram[k]!;
    if (seen >= rank) return LATENCY_BUCKETS_MS[k] ?? LATENCY_BUCKETS_MS.at(-1)!;
  }
  return LATENCY_BUCKETS_MS.at(-1)!;
}
