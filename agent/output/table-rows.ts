/**
 * The live table's rows: one per target, what the agent's events change in it,
 * and the state it is in. Pure: no I/O, no clock (times come with the events).
 * table-view.ts looks rows up and calls these on each event; table-frame.ts
 * draws them. Only table-view.ts imports it at run time (table-frame.ts, its
 * types), so it loads in the same lazy chunk.
 *
 * States (settle()): PENDING (yellow) before a target's first check, and while
 * it fails without an open incident (below the failure threshold); DOWN (red)
 * from its 'down' transition until its 'up' one; UP (green) otherwise. A
 * 'reminder' only updates the reason. `changedAt` is when the state last
 * changed (or the first check, for a target UP or PENDING from the start);
 * `note` is "back after 3.2s" once UP again.
 */
import type { CheckResult } from '../checks/probe.ts';
import { formatElapsed } from '../../shared/duration.ts';
import { printable } from '../../shared/text.ts';

export type RowState = 'UP' | 'DOWN' | 'PENDING';

/** The incident transitions (agent/incident.ts), structurally. */
export type TableTransition =
  | { kind: 'down'; at: number; reason: string }
  | { kind: 'up'; at: number; downForMs: number }
  | { kind: 'reminder'; at: number; reason: string; downForMs: number; count: number };

export interface Row {
  readonly name: string;
  /** The name with control characters shown as '?'. */
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

/** A row before any event: PENDING, no checks. */
export function newRow(name: string): Row {
  return {
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
}

/** A check's result: the counts for UPTIME, the latency, the reason of a failure. */
export function recordCheck(r: Row, result: Pick<CheckResult, 'ok' | 'latencyMs' | 'at' | 'reason'>): void {
  r.checks += 1;
  if (result.ok) r.ok += 1;
  else r.reason = result.reason ?? 'check failed';
  r.lastOk = result.ok;
  r.latencyMs = result.latencyMs;
  settle(r, result.at);
}

/** An incident transition: 'down' opens one (counted once), 'reminder' updates the reason, 'up' closes it. */
export function recordTransition(r: Row, t: TableTransition): void {
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
