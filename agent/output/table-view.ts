/**
 * The live table for a terminal: one row per target, redrawn in place. It is a
 * View (agent/view.ts): main.ts feeds it the agent's events (agent/events.ts)
 * as it feeds the line view. Load it lazily (`await import('./table-view.ts')`)
 * only when the table is used. At run time it needs only table-rows.ts and
 * table-frame.ts (imported by nothing else, so in the same lazy chunk) and two
 * small shared modules (text, duration). This file keeps the terminal and the
 * event wiring; table-rows.ts what an event changes in a row and its state,
 * table-frame.ts what a frame shows (columns, title line, order, cutting to
 * width) and the summary.
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
 * Drawing: the first frame switches to the terminal's alternate screen and
 * hides the cursor; each frame moves the cursor home, rewrites every line
 * (clearing its rest) and clears below, so stray log lines are wiped by the
 * next frame. Events only mark the table dirty; a timer (unref'd, so it never
 * keeps the process alive) draws at most `maxFps` (default 4) frames a second.
 * A resize redraws.
 *
 * `stopped()` / `close()` (idempotent): no more frames, leave the alternate
 * screen, show the cursor, then write the plain summary (`summary: false` to
 * skip it). Nothing is written if no frame was drawn and `summary` is false.
 * If the process exits without stopped(), an 'exit' hook restores the cursor
 * and the screen.
 */
import type { Alert } from '../../shared/alert.ts';
import type { CheckResult } from '../checks/probe.ts';
import { printable } from '../../shared/text.ts';
import { RESET, renderFrame, renderSummary, type AlertCounts } from './table-frame.ts';
import { newRow, recordCheck, recordTransition, type Row, type TableTransition } from './table-rows.ts';

export type { TableTransition } from './table-rows.ts';

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

const ESC = '\x1b[';
const ENTER_ALT = `${ESC}?1049h`;
const LEAVE_ALT = `${ESC}?1049l`;
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
const HOME = `${ESC}H`;
const CLEAR_SCREEN = `${ESC}2J`;
const CLEAR_EOL = `${ESC}K`;
const CLEAR_BELOW = `${ESC}J`;

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
  const alerts: AlertCounts = { queued: 0, delivered: 0, failed: 0, dropped: 0 };
  let lastProblem: { text: string; at: number } | undefined;
  let dirty = true;
  let drawn = false;
  let clearNext = false;
  let lastDrawAt = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  function row(name: string): Row {
    let r = rows.get(name);
    if (!r) {
      r = newRow(name);
      rows.set(name, r);
    }
    return r;
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

  function frame(): string[] {
    return renderFrame({
      rows,
      terminal: out,
      title,
      color,
      sortByState,
      mailer,
      protocol,
      alerts,
      lastProblem,
      pendingAlerts: options.pendingAlerts,
      now,
    });
  }

  function summary(): string {
    return renderSummary({ rows, title, alerts });
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
      recordCheck(row(target), result);
      changed();
    },
    transition(target, t) {
      if (closed) return;
      recordTransition(row(target), t);
      changed();
    },
    alertQueued() {
      if (closed) return;
      alerts.queued += 1;
      changed();
    },
    alertDelivered() {
      if (closed) return;
      alerts.delivered += 1;
      changed();
    },
    problem(text) {
      if (closed) return;
      lastProblem = { text: printable(text.replace(/\s*[\r\n]+\s*/g, ' ')), at: now() };
      changed();
    },
    alertFailed() {
      if (closed) return;
      alerts.failed += 1;
      changed();
    },
    alertDropped() {
      if (closed) return;
      alerts.dropped += 1;
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
