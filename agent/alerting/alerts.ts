/**
 * Turns a target's transition into its alerts, one per recipient, each with
 * its own id. The texts: the "down" message as configured; the "up" message
 * followed by how long the outage lasted; a reminder is the "down" message
 * followed by how long it has lasted and which reminder it is.
 *
 *   The service is down!
 *   The service is back up. Down for 3.2s.
 *   The service is down! Still down after 1m 05s (reminder 1 of 10).
 */
import { randomUUID } from 'node:crypto';
import type { Alert } from '../../shared/alert.ts';
import { formatElapsed } from '../output/format-elapsed.ts';
import type { Transition } from '../incidents/incident.ts';
import type { TargetSpec } from '../target.ts';

export function alertsFor(
  spec: Pick<TargetSpec, 'name' | 'to' | 'message' | 'upMessage' | 'maxReminders'>,
  transition: Transition,
  newId: () => string = randomUUID,
): Alert[] {
  const time = new Date(transition.at).toISOString();
  return spec.to.map((to): Alert => {
    const base = { id: newId(), to, target: spec.name, time };
    switch (transition.kind) {
      case 'down':
        return { ...base, status: 'down', message: spec.message, reason: transition.reason };
      case 'up':
        return { ...base, status: 'up', message: `${spec.upMessage} Down for ${formatElapsed(transition.downForMs)}.`, downForMs: transition.downForMs };
      case 'reminder':
        return {
          ...base,
          status: 'down',
          message: `${spec.message} Still down after ${formatElapsed(transition.downForMs)} (reminder ${transition.count} of ${spec.maxReminders}).`,
          reason: transition.reason,
          downForMs: transition.downForMs,
          reminder: transition.count,
        };
    }
  });
}
