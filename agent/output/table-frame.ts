/**
 * What the live table shows of its rows (table-rows.ts): the frame's lines and
 * the plain summary. table-view.ts writes them to the terminal, with the
 * cursor moves and clears. Pure: no I/O, no timers; the clock comes in as
 * `now`. Only table-view.ts imports it, so it loads in the same lazy chunk.
 *
 * Columns: TARGET, STATE, LATENCY (last check), UPTIME (good checks / all
 * checks since start, rounded down, so 100% means no check failed), INC
 * (incidents opened), LAST CHANGE (local time the state last changed, then the
 * reason while not UP, "(for 1m 05s)" while DOWN, or "back after 3.2s" once UP
 * again). Above them, a title line: the counts per state, where alerts go and
 * how many wait for the mailer (the `pendingAlerts` option, else queued less
 * delivered, failed and dropped), failed and dropped alerts if any; under
 * it, the last warning or error given to `problem()` (main.ts passes every
 * warn and error line), which the redraws would otherwise wipe off stderr.
 *
 * Lines are cut to the terminal's width less one column; rows that do not fit
 * its height are summed up in a "+N more" line, DOWN and PENDING targets first
 * so trouble stays visible (`sort: 'given'` keeps the given order). Widths
 * count code points, so wide characters (CJK, emoji) in names can misalign a
 * row; control characters in names and reasons show as '?'.
 *
 * The summary (no ANSI): a totals line, then one line per target when there
 * are at most 20, else one per target not UP (at most 50) and a count of the
 * rest.
 */
import { formatElapsed } from '../../shared/duration.ts';
import { printable } from '../../shared/text.ts';
import type { Row, RowState } from './table-rows.ts';

/** The alert counts the title and the summary show. */
export interface AlertCounts {
  queued: number;
  delivered: number;
  failed: number;
  dropped: number;
}

/** What a frame is drawn from. */
export interface FrameInput {
  readonly rows: ReadonlyMap<string, Row>;
  /** Its columns and rows; 80 and 24 when unknown. */
  readonly terminal: { readonly columns?: number; readonly rows?: number };
  readonly title: string;
  readonly color: boolean;
  readonly sortByState: boolean;
  readonly mailer: string | undefined;
  readonly protocol: string | undefined;
  readonly alerts: Readonly<AlertCounts>;
  readonly lastProblem: { readonly text: string; readonly at: number } | undefined;
  readonly pendingAlerts: (() => number) | undefined;
  readonly now: () => number;
}

interface Segment {
  text: string;
  sgr?: string;
}

const ESC = '\x1b[';
/** Ends a styled segment; table-view.ts also writes it when it leaves a frame on the main screen. */
export const RESET = `${ESC}0m`;
const SGR: Record<RowState, string> = { UP: `${ESC}32m`, DOWN: `${ESC}1;31m`, PENDING: `${ESC}33m` };
const HEADER_SGR = `${ESC}7m`;
const TITLE_SGR = `${ESC}1m`;

const STATE_W = 7;
const LATENCY_W = 7;
const UPTIME_W = 7;
const INC_W = 5;
/** Width of everything but the name and LAST CHANGE, separators included. */
const FIXED_W = 2 + STATE_W + 2 + LATENCY_W + 2 + UPTIME_W + 2 + INC_W + 2;
const SUMMARY_ALL_UP_TO = 20;
const SUMMARY_MAX_LINES = 50;
const RANK: Record<RowState, number> = { DOWN: 0, PENDING: 1, UP: 2 };

function counts(list: Iterable<Row>): Record<RowState, number> {
  const c: Record<RowState, number> = { UP: 0, DOWN: 0, PENDING: 0 };
  for (const r of list) c[r.state] += 1;
  return c;
}

function ordered(rows: ReadonlyMap<string, Row>, sortByState: boolean): Row[] {
  const all = [...rows.values()];
  if (!sortByState) return all;
  // Stable partition by state: linear, however many targets.
  const buckets: Row[][] = [[], [], []];
  for (const r of all) buckets[RANK[r.state]]!.push(r);
  return buckets.flat();
}

/** The frame's lines, each cut to the width, no more than the height; no cursor moves or line clears. */
export function renderFrame(input: FrameInput): string[] {
  const { title, alerts, lastProblem } = input;
  const { queued, delivered, failed, dropped } = alerts;
  const paint = (text: string, sgr: string | undefined): Segment => (input.color && sgr ? { text, sgr } : { text });
  const width = Math.max(1, Math.floor(input.terminal.columns || 80) - 1);
  const height = Math.max(1, Math.floor(input.terminal.rows || 24));
  const list = ordered(input.rows, input.sortByState);
  const c = counts(list);
  const waiting = input.pendingAlerts ? input.pendingAlerts() : Math.max(0, queued - delivered - failed - dropped);
  const trouble = `${failed > 0 ? `, ${failed} failed` : ''}${dropped > 0 ? `, ${dropped} dropped` : ''}`;
  const { mailer, protocol } = input;

  const titleSegs: Segment[] = [
    paint(title, TITLE_SGR),
    { text: ` | ${list.length} target${list.length === 1 ? '' : 's'}: ` },
    paint(`${c.UP} up`, c.UP > 0 ? SGR.UP : undefined),
    { text: ', ' },
    paint(`${c.DOWN} down`, c.DOWN > 0 ? SGR.DOWN : undefined),
    { text: ', ' },
    paint(`${c.PENDING} pending`, c.PENDING > 0 ? SGR.PENDING : undefined),
    { text: ` | alerts${mailer ? ` to ${printable(mailer)}${protocol ? ` (${printable(protocol)})` : ''}` : ''}: ${waiting} waiting${trouble}` },
  ];

  let longest = 6;
  for (const r of list) if (r.label.length > longest) longest = r.label.length;
  const nameW = Math.max(6, Math.min(longest, 48, width - FIXED_W - 20));

  const lines: string[] = [fit(titleSegs, width)];
  if (lastProblem) lines.push(fit([paint(`${clock(lastProblem.at)} ${lastProblem.text}`, SGR.DOWN)], width));
  const head =
    `${pad('TARGET', nameW)}  ${pad('STATE', STATE_W)}  ${lpad('LATENCY', LATENCY_W)}  ` +
    `${lpad('UPTIME', UPTIME_W)}  ${lpad('INC', INC_W)}  LAST CHANGE`;
  lines.push(fit([paint(pad(head, width), HEADER_SGR)], width));

  const room = height - lines.length;
  const shown = list.length > room ? Math.max(0, room - 1) : list.length;
  const at = input.now();
  for (let i = 0; i < shown; i++) {
    const r = list[i]!;
    lines.push(
      fit(
        [
          { text: `${pad(cut(r.label, nameW), nameW)}  ` },
          paint(pad(r.state, STATE_W), SGR[r.state]),
          {
            text:
              `  ${lpad(r.latencyMs === undefined ? '-' : formatLatency(r.latencyMs), LATENCY_W)}` +
              `  ${lpad(formatUptime(r), UPTIME_W)}  ${lpad(String(r.incidents), INC_W)}  ${lastChange(r, at)}`,
          },
        ],
        width,
      ),
    );
  }
  if (shown < list.length) {
    const hidden = counts(list.slice(shown));
    const parts = (['DOWN', 'PENDING', 'UP'] as const).filter((s) => hidden[s] > 0).map((s) => `${hidden[s]} ${s.toLowerCase()}`);
    lines.push(fit([{ text: `+${list.length - shown} more (${parts.join(', ')}); enlarge the terminal to see them` }], width));
  }
  return lines.slice(0, height);
}

/** The plain summary, without a final newline. */
export function renderSummary(input: Pick<FrameInput, 'rows' | 'title' | 'alerts'>): string {
  const { title } = input;
  const { queued, delivered, failed, dropped } = input.alerts;
  const list = [...input.rows.values()];
  const c = counts(list);
  const incidents = list.reduce((n, r) => n + r.incidents, 0);
  const lines = [
    `${title}: ${list.length} target${list.length === 1 ? '' : 's'}: ${c.UP} up, ${c.DOWN} down, ${c.PENDING} pending; ` +
      `${incidents} incident${incidents === 1 ? '' : 's'}; alerts: ${queued} queued, ${delivered} delivered` +
      `${failed > 0 ? `, ${failed} failed` : ''}${dropped > 0 ? `, ${dropped} dropped` : ''}.`,
  ];
  const listed = (list.length <= SUMMARY_ALL_UP_TO ? list : list.filter((r) => r.state !== 'UP')).slice(0, SUMMARY_MAX_LINES);
  for (const r of listed) {
    let head = `${r.label}: ${r.state}`;
    if (r.state !== 'UP' && r.changedAt !== undefined) head += ` since ${clock(r.changedAt)}${r.reason ? ` (${printable(r.reason)})` : ''}`;
    const parts = [head, `uptime ${formatUptime(r)}`, `${r.incidents} incident${r.incidents === 1 ? '' : 's'}`];
    if (r.latencyMs !== undefined) parts.push(`last check ${formatLatency(r.latencyMs)}`);
    lines.push(`  ${parts.join(', ')}`);
  }
  if (listed.length < list.length) {
    const shownCounts = counts(listed);
    const parts = (['DOWN', 'PENDING', 'UP'] as const)
      .filter((s) => c[s] - shownCounts[s] > 0)
      .map((s) => `${c[s] - shownCounts[s]} ${s.toLowerCase()}`);
    lines.push(`  ...and ${list.length - listed.length} more (${parts.join(', ')}).`);
  }
  return lines.join('\n');
}

function lastChange(r: Row, at: number): string {
  if (r.checks === 0 && !r.incidentOpen) return 'waiting for the first check';
  const when = r.changedAt === undefined ? '' : clock(r.changedAt);
  if (r.state === 'UP') return r.note ? `${when} ${r.note}` : when;
  const reason = r.reason ? printable(r.reason) : '';
  if (r.state === 'DOWN' && r.changedAt !== undefined) return `${when} ${reason} (for ${formatElapsed(Math.max(0, at - r.changedAt))})`;
  return `${when} ${reason}`;
}

/** Cuts styled segments to `width` visible characters; styles close at each segment's end. */
function fit(segments: readonly Segment[], width: number): string {
  let left = width;
  let out = '';
  for (const seg of segments) {
    if (left <= 0) break;
    const chars = [...seg.text];
    const text = chars.length > left ? chars.slice(0, left).join('') : seg.text;
    left -= Math.min(chars.length, left);
    out += seg.sgr ? `${seg.sgr}${text}${RESET}` : text;
  }
  return out;
}

/** Cuts to `width` code points, the last one '…' when something was cut. (Control characters are made '?' before, by printable().) */
function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

function pad(text: string, width: number): string {
  const n = [...text].length;
  return n >= width ? text : text + ' '.repeat(width - n);
}

function lpad(text: string, width: number): string {
  const n = [...text].length;
  return n >= width ? text : ' '.repeat(width - n) + text;
}

/** "12ms", "1.25s", "12.3s". */
export function formatLatency(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** Good checks over all checks, rounded down so 100% means every check was good: "100%", "99.9%", "-" before any check. */
function formatUptime(r: Pick<Row, 'checks' | 'ok'>): string {
  if (r.checks === 0) return '-';
  if (r.ok === r.checks) return '100%';
  return `${(Math.floor((r.ok / r.checks) * 1000) / 10).toFixed(1)}%`;
}

/** Local wall-clock time, HH:MM:SS. */
function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
