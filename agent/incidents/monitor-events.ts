/**
 * What the monitors tell of each check: its result (or that it got no
 * verdict) and the incident's transitions. agent/events.ts's AgentEvents
 * extends it with the notifier's events; incidents/ needs only these.
 */
import type { CheckResult, SkipReason } from '../checks/probe.ts';
import type { Transition } from './incident.ts';

export interface MonitorEvents {
  /** After every check of every target, confirming checks included. */
  check?(target: string, result: CheckResult): void;
  /** Instead of `check`: the check got no verdict (no file descriptor for it); the target is checked again at its next interval. */
  skipped?(target: string, reason: SkipReason): void;
  /** The target went down, came back up, or is still down (a reminder). */
  transition?(target: string, transition: Transition): void;
}
