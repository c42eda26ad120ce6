/**
 * The live table for a terminal: one row per target, redrawn in place. It is a
 * View (agent/view.ts): main.ts feeds it the agent's events (agent/events.ts)
 * as it feeds the line view. Load it lazily (`await import('./table-view.ts')`)
 * only when the table is used; it imports nothing at run time.
 *
 *   const { createTableView } = await import('./table-view.ts');
 *   const view: View = createTableView({ out: process.stdout, log });   // ViewOptions fit as they are
 *   // or: createTableView(process.stdout, ['web', 'api'], { maxFps: 2 })
 *   ...
 *   view.stopped();   // on shutdown (close() is the same): restores the terminal, prints a plain summary
 *
 * Events used: started (the rows, in order; the mailer), check (latency,
 * uptime, last failure's reason), transition (state, incidents), alertQueued /
 * alertDelivered / alertFailed / alertDropped (the alert counts in the title),
 * stopped. Rows for targets not announced by started() are added on their first
 * event. The types here are structural, so this module needs nothing of the
 * agent's wiring; a TableView is assignable to View.
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
 * States: PENDING (yellow) before a target's first check, and while it fails
 * without an open incident (below the failure threshold); DOWN (red) from its
 * 'down' transition until its 'up' one; UP (green) otherwise. A 'reminder'
 * only updates the reason.
 *
 * Drawing: the first frame switches to the terminal's alternate screen and
 * hides the cursor; each frame moves the cursor home, rewrites every line
 * (clearing its rest) and clears below, so stray log lines are wiped by the
 * next frame. Events only mark the table dirty; a timer (unref'd, so it never
 * keeps the process alive) draws at most `maxFps` (default 4) frames a second.
 * Lines are cut to the terminal's width less one column; rows that do not fit
 * its height are summed up in a "+N more" line, DOWN and PENDING targets first
 * so trouble stays visible (`sort: 'given'` keeps the given order). A resize
 * redraws. Widths count code points, so wide characters (CJK, emoji) in names
 * can misalign a row; control characters in names and reasons show as '?'.
 *
 * `stopped()` / `close()` (idempotent): no more frames, leave the alternate
 * screen, show the cursor, then write a plain summary (no ANSI; `summary:
 * false` to skip it): a totals line, then one line per target when there are
 * at most 20, else one per target not UP (at most 50) and a count of the rest.
 * Nothing is written if no frame was drawn and `summary` is false. If the
 * process exits without stopped(), an 'exit' hook restores the cursor and the
 * screen.
 */
import type { Alert } from '../../shared/alert.ts';
import type { CheckResult } from '../checks/probe.ts';
import { formatElapsed } from '../../shared/duration.ts';
import { printable } from '../../shared/text.ts';

export type RowState = 'UP' | 'DOWN' | 'PENDING';

/** What the table needs of its stream; a tty.WriteStream (process.stdout) has it all. */
export interface TableOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Terminal width; 80 when unknown. */
  columns?: number;
  /** Terminal height; 24 when unknown. */
  rows?: number;
  hasColors?(): boolean;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

/** The incident transitions (agent/incident.ts), structurally. */
export type TableTransition =
  | { kind: 'down'; at: number; reason: string }
  | { kind: 'up'; at: number; downForMs: number }
  | { kind: 'reminder'; at: number; reason: string; downForMs: number; count: number };

export interface TableViewSettings {
  /** Most frames drawn per second; default 4. */
  maxFps?: number;
  /** ANSI colours; default `out.hasColors()` when the stream has it (honours NO_COLOR, FORCE_COLOR), else true. */
  color?: boolean;
  /** Draw on the alternate screen (like top) and leave it on close; default true. */
  alternateScreen?: boolean;
  /** 'state' (default): DOWN, then PENDING, then UP, each in the given order. 'given': the order targets were added. */
  sort?: 'state' | 'given';
  /** Title at the top left; default 'ch2-agent'. */
  title?: string;
  /** Alerts waiting for the mailer (e.g. `() => notifier.pending`); default: queued less delivered, failed and dropped. */
  pendingAlerts?: () => number;
  /** Print the plain summary on stopped()/close(); default true. */
  summary?: boolean;
  /** The clock, in ms since the epoch; default Date.now. */
  now?: () => number;
}

export interface TableViewOptions extends TableViewSettings {
  out: TableOutput;
  /** Rows to show before started() names the targets. */
  targets?: readonly string[];
  /** Accepted so that ViewOptions fit; the table logs nothing. */
  log?: unknown;
}

export interface TableView {
  started(targets: readonly (string | { readonly name: string })[], mailer: string, protocol: string): void;
  check(target: string, result: Pick<CheckResult, 'ok' | 'latencyMs' | 'at' | 'reason'>): void;
  transition(target: string, transition: TableTransition): void;
  alertQueued(alert: Pick<Alert, 'target' | 'status'>): void;
  alertDelivered(alert?: unknown): void;
  alertFailed(alert?: unknown, error?: string): void;
  alertDropped(alert?: unknown): void;
  /** Same as close(). */
  stopped(): void;
  /** Adds a row (no-op if known). */
  addTarget(target: string): void;
  /** A warning or error to keep on screen (the frame would erase it on stderr): the last one shows under the title. */
  problem(text: string): void;
  /** Draws now if anything changed since the last frame. */
  flush(): void;
  /** The plain summary that close() prints. */
  summary(): string;
  close(): void;
  readonly closed: boolean;
}

interface Row {
  readonly name: string;
  readonly label: string;
  checks: number;
  ok: number;
  lastOk: boolean | undefined;
  latencyMs: number | undefined;
  reason: string | undefined;
  incidentOpen: boolean;
  incidents: number;
  state: RowState;
  changedAt: number | undefined;
  note: string | undefined;
}

interface Segment {
  text: string;
  sgr?: string;
}

const ESC = '\x1b[';
const ENTER_ALT = `${ESC}?1049h`;
const LEAVE_ALT = `${ESC}?1049l`;
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
const HOME = `${ESC}H`;
const CLEAR_SCREEN = `${ESC}2J`;
const CLEAR_EOL = `${ESC}K`;
const CLEAR_BELOW = `${ESC}J`;
const RESET = `${ESC}0m`;
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

export function createTableView(options: TableViewOptions): TableView;
export function createTableView(out: TableOutput, targets?: readonly string[], settings?: TableViewSettings): TableView;
export function createTableView(
  first: TableViewOptions | TableOutput,
  targetList: readonly string[] = [],
  settings: TableViewSettings = {},
): TableView {
  const options: TableViewOptions = isOutput(first) ? { ...settings, out: first, targets: targetList } : first;
  const out = options.out;
  const targets = options.targets ?? [];
  const now = options.now ?? Date.now;
  const minGapMs = 1000 / Math.max(0.1, options.maxFps ?? 4);
  const color = options.color ?? (typeof out.hasColors === 'function' ? out.hasColors() : true);
  const alternate = options.alternateScreen ?? true;
  const sortByState = (options.sort ?? 'state') === 'state';
  const title = options.title ?? 'ch2-agent';

  const rows = new Map<string, Row>();
  let mailer: string | undefined;
  let protocol: string | undefined;
  let queued = 0;
  let delivered = 0;
  let failed = 0;
  let lastProblem: { text: string; at: number } | undefined;
  let dropped = 0;
  let dirty = true;
  let drawn = false;
  let clearNext = false;
  let lastDrawAt = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  function row(name: string): Row {
    let r = rows.get(name);
    if (!r) {
      r = {
        name,
        label: printable(name),
        checks: 0,
        ok: 0,
        lastOk: undefined,
        latencyMs: undefined,
        reason: undefined,
        incidentOpen: false,
        incidents: 0,
        state: 'PENDING',
        changedAt: undefined,
        note: undefined,
      };
      rows.set(name, r);
    }
    return r;
  }

  function settle(r: Row, at: number): void {
    const next: RowState = r.incidentOpen ? 'DOWN' : r.checks === 0 || r.lastOk !== true ? 'PENDING' : 'UP';
    if (next !== r.state) {
      r.state = next;
      r.changedAt = at;
    } else if (r.changedAt === undefined && r.checks > 0) {
      r.changedAt = at;
    }
  }

  function changed(): void {
    dirty = true;
    schedule();
  }

  function schedule(): void {
    if (closed || timer !== undefined) return;
    const wait = Math.max(0, lastDrawAt + minGapMs - now());
    timer = setTimeout(() => {
      timer = undefined;
      draw();
    }, wait);
    timer.unref?.();
  }

  function draw(): void {
    if (closed || !dirty) return;
    dirty = false;
    lastDrawAt = now();
    let prefix = HOME;
    if (!drawn) {
      drawn = true;
      prefix = `${alternate ? ENTER_ALT : ''}${HIDE_CURSOR}${CLEAR_SCREEN}${HOME}`;
      process.on('exit', restoreOnExit);
    } else if (clearNext) {
      prefix = `${CLEAR_SCREEN}${HOME}`;
    }
    clearNext = false;
    out.write(`${prefix}${frame().map((line) => `${line}${CLEAR_EOL}`).join('\n')}${CLEAR_BELOW}`);
  }

  function restoreOnExit(): void {
    out.write(`${alternate ? LEAVE_ALT : ''}${SHOW_CURSOR}`);
  }

  function onResize(): void {
    clearNext = true;
    changed();
  }
  out.on?.('resize', onResize);

  function counts(list: Iterable<Row>): Record<RowState, number> {
    const c: Record<RowState, number> = { UP: 0, DOWN: 0, PENDING: 0 };
    for (const r of list) c[r.state] += 1;
    return c;
  }

  function ordered(): Row[] {
    const all = [...rows.values()];
    if (!sortByState) return all;
    // Stable partition by state: linear, however many targets.
    const buckets: Row[][] = [[], [], []];
    for (const r of all) buckets[RANK[r.state]]!.push(r);
    return buckets.flat();
  }

  function paint(text: string, sgr: string | undefined): Segment {
    return color && sgr ? { text, sgr } : { text };
  }

  function frame(): string[] {
    const width = Math.max(1, Math.floor(out.columns || 80) - 1);
    const height = Math.max(1, Math.floor(out.rows || 24));
    const list = ordered();
    const c = counts(list);
    const waiting = options.pendingAlerts ? options.pendingAlerts() : Math.max(0, queued - delivered - failed - dropped);
    const trouble = `${failed > 0 ? `, ${failed} failed` : ''}${dropped > 0 ? `, ${dropped} dropped` : ''}`;

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
    const at = now();
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

  function summary(): string {
    const list = [...rows.values()];
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

  for (const t of targets) row(t);

  function close(): void {
    if (closed) return;
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    out.off?.('resize', onResize);
    let text = '';
    if (drawn) {
      process.off('exit', restoreOnExit);
      text = alternate ? `${LEAVE_ALT}${SHOW_CURSOR}` : `${RESET}${SHOW_CURSOR}\n`;
    }
    if (options.summary !== false) text += `${summary()}\n`;
    if (text) out.write(text);
  }

  return {
    get closed() {
      return closed;
    },
    started(list, mailerAddress, mailerProtocol) {
      if (closed) return;
      for (const t of list) row(typeof t === 'string' ? t : t.name);
      mailer = mailerAddress;
      protocol = mailerProtocol;
      changed();
    },
    addTarget(target) {
      if (closed || rows.has(target)) return;
      row(target);
      changed();
    },
    check(target, result) {
      if (closed) return;
      const r = row(target);
      r.checks += 1;
      if (result.ok) r.ok += 1;
      else r.reason = result.reason ?? 'check failed';
      r.lastOk = result.ok;
      r.latencyMs = result.latencyMs;
      settle(r, result.at);
      changed();
    },
    transition(target, t) {
      if (closed) return;
      const r = row(target);
      if (t.kind === 'up') {
        r.incidentOpen = false;
        r.note = `back after ${formatElapsed(t.downForMs)}`;
      } else {
        if (!r.incidentOpen) {
          r.incidentOpen = true;
          r.incidents += 1;
          r.note = undefined;
        }
        r.reason = t.reason;
      }
      settle(r, t.at);
      changed();
    },
    alertQueued() {
      if (closed) return;
      queued += 1;
      changed();
    },
    alertDelivered() {
      if (closed) return;
      delivered += 1;
      changed();
    },
    problem(text) {
      if (closed) return;
      lastProblem = { text: printable(text.replace(/\s*[\r\n]+\s*/g, ' ')), at: now() };
      changed();
    },
    alertFailed() {
      if (closed) return;
      failed += 1;
      changed();
    },
    alertDropped() {
      if (closed) return;
      dropped += 1;
      changed();
    },
    flush() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      draw();
    },
    summary,
    stopped: close,
    close,
  };
}

function isOutput(value: TableViewOptions | TableOutput): value is TableOutput {
  return typeof (value as TableOutput).write === 'function';
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

/** Control characters (ESC, newlines, ...) would break the frame: show them as '?'. */
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
