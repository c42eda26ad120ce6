/**
 * The dispatcher's port to whoever decides what is muted at send time (the
 * hub implements it, mailer/main.ts wires it; delivery/ never imports hub/):
 * the silence in force on an alert for one channel now, whether an incident
 * is still open, and a signal when either may have changed (a silence added
 * or removed, an incident closed). Without one nothing is muted and every
 * incident counts as open.
 */
import type { QueuedAlert } from './queued-alert.ts';

/** The silence that mutes a delivery: which, and until when (ms since epoch). */
export interface Mute {
  id: string;
  until: number;
}

export interface NotifyPolicy {
  /** The silence in force now on this alert for this channel. */
  muted(item: QueuedAlert, channel: string, now: number): Mute | undefined;
  /** Whether the incident (queued-alert.ts incidentKey) is still open. */
  incidentOpen(id: string): boolean;
  /** `listener` runs after each change of silences or incidents. */
  onChange(listener: () => void): void;
}

export const NO_POLICY: NotifyPolicy = { muted: () => undefined, incidentOpen: () => true, onChange: () => {} };
