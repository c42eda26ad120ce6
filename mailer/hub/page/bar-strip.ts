/**
 * A bar strip in compact form, for the server's render (render-target.ts) and
 * the browser's live script (live-client.ts) alike: one inline SVG a strip
 * with at most one <path> per colour level, not one element per bar, and the
 * bars' figures in one attribute so the script can label, move through and
 * update them.
 *
 *   barToken(bar)                 a bar's figures: "" all checks passed, "-" no data,
 *                                 "F/C" F of C checks failed; "!N" after it: N incidents
 *   readToken(token)              back to { uptime, incidents } (uptime 1 - F/C, as rollup.ts has it)
 *   encodeBars(bars)              the strip's data-bars: the tokens, space-separated, oldest first, a
 *                                 run of N equal ones "token*N" (compressTokens; expandTokens back)
 *   decodeBars(text)              the cells again
 *   barPaths(levels)              the paths (format.ts uptimeLevel levels): the commonest level over
 *                                 the whole strip, then the others' runs over it; bar i spans x
 *                                 10i..10i+10 of a viewBox 10n wide and 1 high, drawn as a stroke 1
 *                                 high whose dashes (CSS: 9 on, 1 off) leave the gaps
 *   stripLabel(cells, unit)       the strip's text alternative: how many bars at each level, incidents
 *   shiftCells(tokens, from, unitMs, at, token)   the strip after a live figure for the bar `at` is in
 *
 * No Node API here: the browser bundle imports this file.
 */
import { plural, uptimeLevel, type UptimeLevel } from './format.ts';

/** What a bar shows: its uptime (null: no check) and the incidents opened in it. */
export interface BarCell {
  uptime: number | null;
  incidents: number;
}

/** The figures a bar's token carries (a BarView has them). */
export interface BarFigures {
  checks: number;
  failures: number;
  incidents: number;
}

/** Width of one bar's slot in the strip's viewBox; the CSS dash is 9 of it. */
export const SLOT = 10;

/** Levels in drawing order. */
export const LEVELS: readonly UptimeLevel[] = ['bnodata', 'b0', 'b1', 'b2', 'b3', 'b4'];

const whole = (n: number): string => String(Math.max(0, Math.round(n)));

export function barToken(bar: BarFigures): string {
  const checks = Number.isFinite(bar.checks) ? bar.checks : 0;
  const failures = Number.isFinite(bar.failures) ? Math.min(Math.max(0, bar.failures), checks) : 0;
  const base = checks <= 0 ? '-' : failures === 0 ? '' : `${whole(failures)}/${whole(checks)}`;
  return bar.incidents > 0 ? `${base}!${whole(bar.incidents)}` : base;
}

export function readToken(token: string): BarCell {
  const [figures = '', count = '0'] = token.split('!');
  const incidents = Number.parseInt(count, 10);
  const cell = (uptime: number | null): BarCell => ({ uptime, incidents: Number.isSafeInteger(incidents) && incidents > 0 ? incidents : 0 });
  if (figures === '') return cell(1);
  const m = /^(\d+)\/(\d+)$/.exec(figures);
  if (!m) return cell(null);
  const failures = Number(m[1]);
  const checks = Number(m[2]);
  return cell(checks > 0 ? 1 - Math.min(failures, checks) / checks : null);
}

/** Tokens to data-bars: space-separated, a run of N equal ones as "token*N". */
export function compressTokens(tokens: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    let j = i + 1;
    while (j < tokens.length && tokens[j] === tokens[i]) j++;
    out.push(j - i > 1 ? `${tokens[i]}*${j - i}` : tokens[i]!);
    i = j;
  }
  return out.join(' ');
}

/** data-bars to one token a bar (a run "token*N" is N of them; N at most 1,000). */
export function expandTokens(text: string): string[] {
  if (text === '') return [];
  const out: string[] = [];
  for (const part of text.split(' ')) {
    const star = part.lastIndexOf('*');
    const n = star < 0 ? 1 : Number.parseInt(part.slice(star + 1), 10);
    const token = star < 0 ? part : part.slice(0, star);
    for (let k = 0; k < (Number.isSafeInteger(n) && n > 0 ? Math.min(n, 1000) : 1); k++) out.push(token);
  }
  return out;
}

export function encodeBars(bars: readonly BarFigures[]): string {
  return compressTokens(bars.map(barToken));
}

export function decodeBars(text: string): BarCell[] {
  return expandTokens(text).map(readToken);
}

/**
 * The paths to draw: first the commonest level across the whole strip (one run), then, over it,
 * each other level's runs of consecutive bars.
 */
export function barPaths(levels: readonly UptimeLevel[]): Array<[UptimeLevel, string]> {
  if (levels.length === 0) return [];
  const counts = new Map<UptimeLevel, number>();
  for (const l of levels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const base = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const runs = new Map<UptimeLevel, string>();
  for (let i = 0; i < levels.length; ) {
    const level = levels[i]!;
    let j = i + 1;
    while (j < levels.length && levels[j] === level) j++;
    if (level !== base) runs.set(level, `${runs.get(level) ?? ''}M${i * SLOT} .5h${(j - i) * SLOT}`);
    i = j;
  }
  return [[base, `M0 .5h${levels.length * SLOT}`], ...LEVELS.filter((l) => runs.has(l)).map((l): [UptimeLevel, string] => [l, runs.get(l)!])];
}

export function levelsOf(cells: readonly BarCell[]): UptimeLevel[] {
  return cells.map((c) => uptimeLevel(c.uptime));
}

const LEVEL_WORDS: Record<UptimeLevel, string> = {
  b4: 'at 99.9 % or more',
  b3: 'at 99 to 99.9 %',
  b2: 'at 95 to 99 %',
  b1: 'at 80 to 95 %',
  b0: 'under 80 %',
  bnodata: 'no data',
};

/** "Uptime per day, last 90 days, oldest first: 80 at 99.9 % or more, 10 no data; 1 incident." */
export function stripLabel(cells: readonly BarCell[], unit: 'day' | 'hour'): string {
  const counts = new Map<UptimeLevel, number>();
  let incidents = 0;
  for (const c of cells) {
    const l = uptimeLevel(c.uptime);
    counts.set(l, (counts.get(l) ?? 0) + 1);
    incidents += c.incidents;
  }
  const parts = [...LEVELS].reverse().flatMap((l) => (counts.has(l) ? [`${counts.get(l)} ${LEVEL_WORDS[l]}`] : []));
  const span = unit === 'day' ? `Uptime per day, last ${plural(cells.length, 'day')}` : `Uptime per hour, last ${plural(cells.length, 'hour')}`;
  return `${span}, oldest first: ${parts.join(', ') || 'none'}; ${plural(incidents, 'incident')}.`;
}

/**
 * The strip's tokens and first bar's start (ms) once the bar that `at` is in has the figures `token`:
 * the last bar replaced, or the strip moved on (older bars dropped, bars nobody reported "-").
 * Undefined when `at` is before the strip's last bar (an old figure).
 */
export function shiftCells(tokens: readonly string[], from: number, unitMs: number, at: number, token: string): { tokens: string[]; from: number } | undefined {
  const n = tokens.length;
  if (n === 0 || !Number.isFinite(from) || !Number.isFinite(at)) return undefined;
  const index = Math.floor((Math.floor(at / unitMs) * unitMs - from) / unitMs);
  if (index < n - 1) return undefined;
  const shift = index - (n - 1);
  if (shift >= n) return { tokens: [...new Array<string>(n - 1).fill('-'), token], from: from + shift * unitMs };
  if (shift === 0) return { tokens: [...tokens.slice(0, n - 1), token], from };
  return { tokens: [...tokens.slice(shift), ...new Array<string>(shift - 1).fill('-'), token], from: from + shift * unitMs };
}
