/** An alert the mailer has accepted, as its channels see it. */
import type { Alert } from '../shared/alert.ts';

export type Intake = 'raw' | 'json';

export interface QueuedAlert {
  alert: Alert;
  /** The text after "Sending email: ": the raw message as sent, or "To: x Message: y". */
  line: string;
  /** How it arrived. Channels must not care; logs and the store may. */
  via: Intake;
  /** When the mailer accepted it (ms since epoch). */
  receivedAt: number;
  /**
   * The hub's incident for an alert that names none (the book's raw text, a
   * JSON alert by hand): the one open on its sender, which it joins. Set at
   * admission; not kept in the store.
   */
  hubIncident?: string;
}

/**
 * The hub's incident for an alert: the agent's incident id, or for an alert
 * without one the one the hub gave it (hubIncident), else one of its own.
 * The store keeps each delivery under it, the hub's incidents go by it.
 */
export function incidentKey(item: QueuedAlert): string {
  return item.alert.incident ?? item.hubIncident ?? `${item.via}-${item.alert.id}`;
}
