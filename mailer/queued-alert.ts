/** An alert the mailer has accepted, as its channels see it. */
import type { Alert } from '../shared/alert.ts';

export type Intake = 'raw' | 'json';

export interface QueuedAlert {
  alert: Alert;
  /** The text after "Sending email: ": the raw message as sent, or "To: x Message: y". */
  line: string;
  /** How it arrived. Channels must not care; logs and the spool may. */
  via: Intake;
  /** When the mailer accepted it (ms since epoch). */
  receivedAt: number;
}

/**
 * The hub's incident for an alert: the agent's incident id, or for an alert
 * without one (the book's raw text, a JSON alert that names none) one of its
 * own. The store keeps each delivery under it, the hub's incidents go by it.
 */
export function incidentKey(item: QueuedAlert): string {
  return item.alert.incident ?? `${item.via}-${item.alert.id}`;
}
