/**
 * The status page's words for numbers and times (the server's render and the
 * browser's live script both use these, so a row updated live reads the same
 * as one rendered):
 *
 *   formatUptime(u)      "100 %", "99.95 %", "0 %", "no data"; never rounds up to 100 % when
 *                        anything failed (truncates to two decimals)
 *   uptimeLevel(u)       the bar colour class: b4 (≥ 99.9 %) b3 (≥ 99 %) b2 (≥ 95 %) b1 (≥ 80 %)
 *                        b0 (below), bnodata (no check)
 *   formatAgo(ms)        a relative time, coarse on purpose (it must stay true between the live
 *                        script's ticks): "just now", "3 min ago", "2 h 5 min ago", "3 d 4 h ago"
 *   formatResponse(ms)   a response-time percentile, a latency bucket's upper bound: "≤ 250 ms",
 *                        "> 10000 ms" (the open bucket), "no data"
 *   utcDay / utcHour / utcTime    "2026-11-30", "2026-11-30 14:00 UTC", "2026-11-30 14:03:07 UTC"
 *   barLabel(bar, unit)  a bar's text alternative: "2026-11-30: 99.95 % up, 1 incident"
 *   stateClass(state)    a state word's class: "st-up", "st-stale" (letters, digits and - only)
 *
 * No Node API here: the browser bundle (live-client.ts) imports this file.
 */
import type { BarView } from '../status-view.ts';

export type UptimeLevel = 'b0' | 'b1' | 'b2' | 'b3' | 'b4' | 'bnodata';

/** Lowest uptime of each level, best first; below the last one is b0. */
const LEVELS: ReadonlyArray<readonly [number, UptimeLevel]> = [
  [0.999, 'b4'],
  [0.99, 'b3'],
  [0.95, 'b2'],
  [0.8, 'b1'],
];

function known(u: number | null | undefined): u is number {
  return typeof u === 'number' && Number.isFinite(u);
}

export function uptimeLevel(uptime: number | null): UptimeLevel {
  if (!known(uptime)) return 'bnodata';
  for (const [min, level] of LEVELS) if (uptime >= min) return level;
  return 'b0';
}

export function formatUptime(uptime: number | null): string {
  if (!known(uptime)) return 'no data';
  if (uptime >= 1) return '100 %';
  if (uptime <= 0) return '0 %';
  return `${(Math.floor(uptime * 10_000) / 100).toFixed(2)} %`;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** How long ago, `ms` being now minus then (a negative one, a clock ahead, is "just now"). */
export function formatAgo(ms: number): string {
  if (!Number.isFinite(ms) || ms < MIN) return 'just now';
  if (ms < HOUR) return `${Math.floor(ms / MIN)} min ago`;
  if (ms < DAY) {
    const h = Math.floor(ms / HOUR);
    const m = Math.floor((ms % HOUR) / MIN);
    return m > 0 ? `${h} h ${m} min ago` : `${h} h ago`;
  }
  const d = Math.floor(ms / DAY);
  const h = Math.floor((ms % DAY) / HOUR);
  return h > 0 ? `${d} d ${h} h ago` : `${d} d ago`;
}

/** formatAgo of an ISO time against `now` (ms); "" when the time cannot be read. */
export function agoOf(iso: string, now: number): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : formatAgo(now - t);
}

/** The last latency bucket's upper bound (shared/wire-report.ts LATENCY_BUCKETS_MS): a larger value is the open bucket. */
export const LAST_BUCKET_MS = 10_000;

export function formatResponse(ms: number | null): string {
  if (ms === null || typeof ms !== 'number' || Number.isNaN(ms)) return 'no data';
  if (!Number.isFinite(ms) || ms > LAST_BUCKET_MS) return `> ${LAST_BUCKET_MS} ms`;
  return `≤ ${Math.round(ms)} ms`;
}

function iso(text: string): string | undefined {
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** "2026-11-30"; the text itself when it is no time. */
export function utcDay(text: string): string {
  return iso(text)?.slice(0, 10) ?? text;
}

/** "2026-11-30 14:00 UTC". */
export function utcHour(text: string): string {
  const i = iso(text);
  return i ? `${i.slice(0, 10)} ${i.slice(11, 16)} UTC` : text;
}

/** "2026-11-30 14:03:07 UTC". */
export function utcTime(text: string): string {
  const i = iso(text);
  return i ? `${i.slice(0, 10)} ${i.slice(11, 19)} UTC` : text;
}

/** "1 incident", "2 incidents". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A bar's text alternative (aria-label and title): "2026-11-30: 99.95 % up, 1 incident", "2026-11-30 14:00 UTC: no data". */
export function barLabel(bar: BarView | Pick<BarView, 'start' | 'uptime' | 'incidents'>, unit: 'day' | 'hour'): string {
  const when = unit === 'day' ? utcDay(bar.start) : utcHour(bar.start);
  const up = known(bar.uptime) ? `${formatUptime(bar.uptime)} up` : 'no data';
  return bar.incidents > 0 ? `${when}: ${up}, ${plural(bar.incidents, 'incident')}` : `${when}: ${up}`;
}

/** The class of a target's or an agent's state word, for the CSS: "st-" and the word's letters, digits and dashes. */
export function stateClass(state: string): string {
  return `st-${state.toLowerCase().replace(/[^a-z0-9-]/g, '')}`;
}
