/**
 * What the agent shows while it runs: the View seam. main.ts picks one view
 * (`--view auto|lines|table`) and feeds it the agent's events (agent/events.ts);
 * the same events also go to the metrics, so a view only shows things.
 *
 * A View implements every method of AgentEvents listed below. All calls are
 * synchronous, must not throw, and must be cheap: `check` comes once per check
 * of every target (5,000 a second at 5,000 targets), so a view that draws on a
 * terminal keeps state per target and redraws on its own timer (unref'd), not
 * per call. `stopped` is called once at shutdown: stop timers, restore the
 * terminal (cursor, alternate screen), print nothing more.
 *
 *   started(targets, mailer, protocol)  once, before the first check; every target, in order
 *   check(target, result)               after every check; result.ok, .latencyMs, .reason, .status
 *   transition(target, transition)      'down' | 'up' (with downForMs) | 'reminder' (with count)
 *   alertQueued(alert)                  one per recipient of each transition
 *   alertDelivered(alert)               the mailer took it
 *   stopped()                           shutdown
 *
 * Implementations:
 *   createLineView  (this file)     plain lines through the logger: the book's "System up."
 *                                   with one target; named lines with several (see below).
 *   createTableView (table-view.ts) live table on a TTY, one row per target; exported as
 *                                   `createTableView(options: ViewOptions): View`.
 */
import type { Alert } from '../../shared/alert.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AgentEvents, TargetInfo } from '../events.ts';
import { formatElapsed } from '../../shared/duration.ts';
import type { Transition } from '../incidents/incident.ts';
import type { CheckResult } from '../checks/probe.ts';

export type { TargetInfo } from '../events.ts';

export interface View extends AgentEvents {
  started(targets: readonly TargetInfo[], mailer: string, protocol: string): void;
  check(target: string, result: CheckResult): void;
  transition(target: string, transition: Transition): void;
  alertQueued(alert: Alert): void;
  alertDelivered(alert: Alert): void;
  stopped(): void;
}

/** What a view factory gets. */
export interface ViewOptions {
  /** Log lines (warnings, errors) go through here. */
  log: Logger;
  /** The terminal, for a view that draws (process.stdout). */
  out: NodeJS.WriteStream;
}

export interface LineViewOptions {
  /** Several targets: named lines, per-check lines at debug level, a summary every `summaryEveryMs`. */
  several?: boolean;
  /** Time between summary lines with several targets; 0: none. Default 60 s. */
  summaryEveryMs?: number;
}

/**
 * Plain lines. With one target, the book's: "System up." for each good check,
 * "System down: <reason>." for each failed one. With several targets a line
 * per check would be thousands a second, so only what matters is printed at
 * info level: each state change and reminder ("Alert: <name> is down (...)"),
 * each failed check of a target that is still up ("<name>: check failed: ...;
 * confirming"), and a summary a minute ("Status: 4998 of 5000 up; down: a, b.").
 * Every check is printed at debug level ("<name>: up (HTTP 200, 3 ms)").
 */
export function createLineView(log: Logger, options: LineViewOptions = {}): View {
  const several = options.several ?? false;
  const down = new Set<string>();
  let names: readonly string[] = [];
  let checks = 0;
  let failed = 0;
  let summary: NodeJS.Timeout | undefined;

  function printSummary(): void {
    const up = names.length - down.size;
    const list = [...down].slice(0, 10).join(', ');
    const more = down.size > 10 ? ` and ${down.size - 10} more` : '';
    log.info(`Status: ${up} of ${names.length} up${down.size ? `; down: ${list}${more}` : ''}; ${checks} checks (${failed} failed) since the last status.`, {
      event: 'summary',
      up,
      down: down.size,
      checks,
      failed,
    });
    checks = 0;
    failed = 0;
  }

  return {
    started(targets, mailer, protocol) {
      names = targets.map((t) => t.name);
      const what = targets.length === 1 ? targets[0]!.url : `${targets.length} targets`;
      const level = several ? 'info' : 'debug';
      log[level](`Watching ${what}; alerts go to ${mailer} (${protocol}).`, { event: 'start', targets: targets.length, mailer, protocol });
      const every = options.summaryEveryMs ?? 60_000;
      if (several && every > 0) {
        summary = setInterval(printSummary, every);
        summary.unref();
      }
    },
    check(target, result) {
      const latencyMs = Math.round(result.latencyMs);
      if (!several) {
        if (result.ok) log.info('System up.', { event: 'check', target, ok: true, status: result.status, latencyMs });
        else log.info(`System down: ${result.reason}.`, { event: 'check', target, ok: false, reason: result.reason, latencyMs });
        return;
      }
      checks += 1;
      if (result.ok) {
        log.debug(`${target}: up (${result.status !== undefined ? `HTTP ${result.status}, ` : ''}${latencyMs} ms)`, {
          event: 'check',
          target,
          ok: true,
          status: result.status,
          latencyMs,
        });
        return;
      }
      failed += 1;
      const fields = { event: 'check', target, ok: false, reason: result.reason, latencyMs };
      if (down.has(target)) log.debug(`${target}: down (${result.reason}, ${latencyMs} ms)`, fields);
      else if (result.confirm) log.debug(`${target}: confirming check failed: ${result.reason}.`, fields);
      else log.info(`${target}: check failed: ${result.reason}; confirming.`, fields);
    },
    transition(target, t) {
      if (t.kind === 'down') down.add(target);
      else if (t.kind === 'up') down.delete(target);
      // The agent's output, not a diagnostic: printed at every --log-level.
      log.output(`Alert: ${describeTransition(target, t)}; telling the mailer.`, {
        event: 'alert',
        target,
        kind: t.kind,
        ...(t.kind === 'up' ? { downForMs: t.downForMs } : { reason: t.reason }),
        ...(t.kind === 'reminder' ? { downForMs: t.downForMs, reminder: t.count } : {}),
      });
    },
    alertQueued(alert) {
      log.debug(`Alert ${alert.id} for ${alert.to} queued.`, { event: 'queued', id: alert.id, to: alert.to, status: alert.status, target: alert.target });
    },
    alertDelivered(alert) {
      log.debug(`Alert ${alert.id} delivered.`, { event: 'delivered', id: alert.id });
    },
    stopped() {
      if (summary) clearInterval(summary);
      summary = undefined;
    },
  };
}

/** "web is down (connection refused)", "web is up (down for 3.2s)", "web is still down after 1m 05s (HTTP 503); reminder 2". */
export function describeTransition(target: string, t: Transition): string {
  switch (t.kind) {
    case 'down':
      return `${target} is down (${t.reason})`;
    case 'up':
      return `${target} is up (down for ${formatElapsed(t.downForMs)})`;
    case 'reminder':
      return `${target} is still down after ${formatElapsed(t.downForMs)} (${t.reason}); reminder ${t.count}`;
  }
}
