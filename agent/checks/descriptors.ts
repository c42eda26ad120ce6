/**
 * How many checks the agent can have in flight at once, from its open-file
 * limit (shared/open-files.ts), and what its targets could use: an HTTP origin
 * as many kept-alive connections as it has targets (at most
 * MAX_CONNECTIONS_PER_ORIGIN), a tcp:// target one connection, a dns://
 * target one UDP socket.
 *
 * OWN_DESCRIPTORS stay for the agent itself: stdio, node's own (event loop,
 * threads, about 25 at idle), the mailer's and the reports' connections, the
 * metrics server and its scrapes, name lookups. The rest is for the checks.
 * When the targets could use more, the budget is `capped`: the monitor lets
 * `checksAtOnce` checks run at a time (check-slots.ts), the others wait their
 * turn, and the checks' sockets are kept within the budget (check-sockets.ts).
 */
import { openFileLimit } from '../../shared/open-files.ts';
import type { TargetSpec } from '../target.ts';
import { MAX_CONNECTIONS_PER_ORIGIN } from './http-connections.ts';

/** Descriptors kept for the agent's own use (see the header). */
export const OWN_DESCRIPTORS = 64;
/** The limit assumed where it cannot be read (not Linux): the usual default soft limit. */
export const ASSUMED_OPEN_FILES = 1024;
/** The fewest checks at a time, however low the limit. */
const MIN_CHECKS_AT_ONCE = 8;

export interface DescriptorBudget {
  /** The soft open-file limit (or ASSUMED_OPEN_FILES). */
  openFiles: number;
  /** `openFiles` was read, not assumed. */
  known: boolean;
  /** Checks (and so check connections) at a time. */
  checksAtOnce: number;
  /** The connections the targets could use at once. */
  wanted: number;
  /** wanted > checksAtOnce: checks wait their turn. */
  capped: boolean;
}

/** The budget for `targets`; `readLimit` reads the soft open-file limit (undefined: it cannot be read). */
export function descriptorBudget(targets: readonly Pick<TargetSpec, 'kind' | 'url'>[], readLimit: () => number | undefined = openFileLimit): DescriptorBudget {
  const perOrigin = new Map<string, number>();
  let wanted = 0;
  for (const t of targets) {
    if (t.kind !== 'http') wanted += 1;
    else perOrigin.set(t.url.origin, (perOrigin.get(t.url.origin) ?? 0) + 1);
  }
  for (const n of perOrigin.values()) wanted += Math.min(n, MAX_CONNECTIONS_PER_ORIGIN);
  const limit = readLimit();
  const openFiles = limit ?? ASSUMED_OPEN_FILES;
  const checksAtOnce = Math.max(MIN_CHECKS_AT_ONCE, openFiles - OWN_DESCRIPTORS);
  return { openFiles, known: limit !== undefined, checksAtOnce, wanted, capped: wanted > checksAtOnce };
}

/** The open-file limit to suggest: enough for every connection the targets could use, or twice the present one when that already was. */
export function suggestedOpenFiles(budget: DescriptorBudget): number {
  const needed = budget.wanted + OWN_DESCRIPTORS;
  return needed > budget.openFiles ? needed : budget.openFiles * 2;
}

/** "The open-file limit is 256: 192 checks at a time …": the start line of a capped budget. */
export function budgetLine(budget: DescriptorBudget, targets: number): string {
  const limit = budget.known ? `The open-file limit is ${budget.openFiles}` : `The open-file limit could not be read (taken as ${budget.openFiles})`;
  return (
    `${limit}: ${budget.checksAtOnce} checks at a time (${OWN_DESCRIPTORS} descriptors kept for the agent itself), ` +
    `where the ${targets} targets could use ${budget.wanted} connections at once; the other checks wait their turn and may start late. ` +
    `To check every target on time: docker run --ulimit nofile=${suggestedOpenFiles(budget)}.`
  );
}
