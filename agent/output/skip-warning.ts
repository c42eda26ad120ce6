/**
 * The warning line while checks are skipped for want of a file descriptor (no
 * verdict: agent/checks/probe.ts): at once for the first, then at most one line
 * every SKIP_WARNING_EVERY_MS, saying how many were skipped since the last one,
 * that they count neither way, and which open-file limit to give the agent.
 * An AgentEvents listener; ch2_checks_skipped_total counts them too.
 */
import type { Logger } from '../../shared/logger.ts';
import { formatElapsed } from '../../shared/duration.ts';
import { type DescriptorBudget, suggestedOpenFiles } from '../checks/descriptors.ts';
import type { AgentEvents } from '../events.ts';

export const SKIP_WARNING_EVERY_MS = 60_000;

export function createSkipWarning(log: Pick<Logger, 'warn'>, budget: DescriptorBudget, everyMs = SKIP_WARNING_EVERY_MS): Pick<AgentEvents, 'skipped' | 'stopped'> {
  let count = 0;
  let lines = 0;
  let timer: NodeJS.Timeout | undefined;

  const print = (): void => {
    const n = count;
    count = 0;
    const since = lines++ === 0 ? ' so far' : ` in the last ${formatElapsed(everyMs)}`;
    log.warn(
      `No file descriptor free (EMFILE/ENFILE): ${n} check${n === 1 ? '' : 's'} skipped${since}. A skipped check is neither a failure nor a success; ` +
        `its target is checked again at its next interval. Raise the open-file limit (${budget.openFiles}${budget.known ? '' : ', assumed'}): docker run --ulimit nofile=${suggestedOpenFiles(budget)}.`,
      { event: 'checks-skipped', reason: 'no_descriptor', skipped: n },
    );
  };
  const arm = (): void => {
    timer = setTimeout(() => {
      timer = undefined;
      if (count === 0) return;
      print();
      arm();
    }, everyMs);
    timer.unref();
  };

  return {
    skipped() {
      count += 1;
      if (timer) return;
      print();
      arm();
    },
    stopped() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
