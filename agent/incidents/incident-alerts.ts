/**
 * Turns a target's transition into its alerts, one per recipient, each with
 * its own id, all with the outage's incident id (the state machine's: the
 * same on a down, its reminders and its up) and the agent that raised them. The texts: the "down" message as configured; the "up" message
 * followed by how long the outage lasted; a reminder is the "down" message
 * followed by how long it has lasted and which reminder it is.
 *
 *   The service is down!
 *   The service is back up. Down for 3.2s.
 *   The service is down! Still down after 1m 05s (reminder 1 of 10).
 */
import { randomUUID } from 'node:crypto';
import type { Alert } from '../../shared/alert.ts';
import { ELAPSED_MAX_CHARS, formatElapsed } from '../../shared/duration.ts';
import { FIELD_MAX } from '../../shared/wire-json.ts';
import type { IncidentTransition } from './incident.ts';
import type { TargetSpec } from '../target.ts';

/** Who raises the alerts: the agent's --agent-name and this run of it (random per start, as in its reports). */
export interface AlertOrigin {
  agent: string;
  instance: string;
}

export function alertsFor(
  spec: Pick<TargetSpec, 'name' | 'to' | 'message' | 'upMessage' | 'maxReminders'>,
  transition: IncidentTransition,
  origin: AlertOrigin,
  newId: () => string = randomUUID,
): Alert[] {
  const time = new Date(transition.at).toISOString();
  const { incident } = transition;
  return spec.to.map((to): Alert => {
    const base = { id: newId(), to, target: spec.name, time, incident, agent: origin.agent, instance: origin.instance };
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
