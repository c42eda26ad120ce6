/**
 * Durations, in one place: the parser of flag and config values, and the
 * three ways the programs print a length of time. Each printed form is what
 * users already see; they differ on purpose:
 *
 *   formatDurationFlag(ms)    "500ms", "1s", "2m", "24h", "7d": the form a flag takes (limits in errors)
 *   formatElapsed(ms)         "850ms", "3.2s", "4m 05s", "2h 03m", "3d 4h": an outage's length in the
 *                             agent's lines and alert texts ("Down for 3.2s.")
 *   formatDurationCoarse(ms)  "5s", "1m 5s", "2h 3m": whole seconds, in e-mails and chat messages
 */

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "1s", "1.5s", "2m", "24h", "7d"; a bare number means seconds. Returns ms; throws a RangeError with a one-line reason. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new RangeError('Expected a duration such as 500ms, 1s, 2m or 24h.');
  const ms = Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1000);
  if (!Number.isFinite(ms)) throw new RangeError('Duration is too large.');
  return Math.round(ms);
}

/** The largest whole unit that divides `ms`: "500ms", "1s", "2m", "24h", "7d". */
export function formatDurationFlag(ms: number): string {
  if (ms % 86_400_000 === 0 && ms >= 86_400_000) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** How long an outage lasted, for people: "850ms", "3.2s", "4m 05s", "2h 03m", "3d 4h". */
export function formatElapsed(ms: number): string {
  const value = Number.isFinite(ms) ? Math.max(0, Math.round(ms)) : 0;
  if (value < 1000) return `${value}ms`;
  if (value < 60_000) return `${(Math.floor(value / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(value / 1000);
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Whole seconds, minutes and hours: "5s", "1m 5s", "2h 3m". */
export function formatDurationCoarse(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}

/** The longest an outage text can get from formatElapsed: "NNNNd 23h" for any time a process lives. */
export const ELAPSED_MAX_CHARS = 16;
