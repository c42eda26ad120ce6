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
import { createHash, randomUUID } from 'node:crypto';
import type { Alert } from '../../shared/alert.ts';
import { ELAPSED_MAX_CHARS, formatElapsed } from '../../shared/duration.ts';
import { FIELD_MAX } from '../../shared/wire-json.ts';
import type { Transition } from '../incidents/incident.ts';
import type { TargetSpec } from '../target.ts';

export function alertsFor(
  spec: Pick<TargetSpec, 'name' | 'to' | 'message' | 'upMessage' | 'maxReminders'>,
  transition: Transition,
  newId: () => string = randomUUID,
): Alert[] {
  const time = new Date(transition.at).toISOString();
  const since = transition.kind === 'down' ? transition.at : transition.at - transition.downForMs;
  const incident = incidentId(spec.name, since);
  return spec.to.map((to): Alert => {
    const base = { id: newId(), to, target: spec.name, time, incident };
    switch (transition.kind) {
      case 'down':
        return { ...base, status: 'down', message: spec.message, reason: transition.reason };
      case 'up':
        return { ...base, status: 'up', message: spec.upMessage + upSuffix(formatElapsed(transition.downForMs)), downForMs: transition.downForMs };
      case 'reminder':
        return {
          ...base,
          status: 'down',
          message: spec.message + reminderSuffix(formatElapsed(transition.downForMs), transition.count, spec.maxReminders),
          reason: transition.reason,
          downForMs: transition.downForMs,
          reminder: transition.count,
        };
    }
  });
}

/**
 * An incident's id, the same on its down, its reminders and its up: from the
 * target and when it went down (a reminder's and an up's time less the
 * outage so far), so it needs no state of its own.
 */
export function incidentId(target: string, downSince: number): string {
  return `inc-${createHash('sha256').update(`${target}\n${downSince}`).digest('hex').slice(0, 24)}`;
}

function upSuffix(elapsed: string): string {
  return ` Down for ${elapsed}.`;
}

function reminderSuffix(elapsed: string, count: number, max: number): string {
  return ` Still down after ${elapsed} (reminder ${count} of ${max}).`;
}

/**
 * Why a target's messages would make alerts the mailer refuses (a field over
 * FIELD_MAX characters once the suffix is added), or undefined when they fit.
 */
export function messageProblem(spec: Pick<TargetSpec, 'message' | 'upMessage' | 'remindEveryMs' | 'maxReminders'>): { key: 'message' | 'upMessage'; max: number } | undefined {
  const longest = 'x'.repeat(ELAPSED_MAX_CHARS);
  const reminds = spec.remindEveryMs > 0 && spec.maxReminders > 0;
  const downMax = FIELD_MAX - (reminds ? reminderSuffix(longest, spec.maxReminders, spec.maxReminders).length : 0);
  if (spec.message.length > downMax) return { key: 'message', max: downMax };
  const upMax = FIELD_MAX - upSuffix(longest).length;
  if (spec.upMessage.length > upMax) return { key: 'upMessage', max: upMax };
  return undefined;
}
