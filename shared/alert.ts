/** The one alert type both programs speak about. */
export type AlertStatus = 'down' | 'up';

export const ALERT_STATUSES: readonly AlertStatus[] = ['down', 'up'];

export const DEFAULT_RECIPIENT = 'admin@work';
export const DEFAULT_DOWN_MESSAGE = 'The service is down!';
export const DEFAULT_UP_MESSAGE = 'The service is back up.';

export interface Alert {
  /** Unique id; a retried alert keeps its id so the mailer can drop duplicates. */
  id: string;
  /** Recipient address. */
  to: string;
  /** Human message, e.g. "The service is down!". */
  message: string;
  status: AlertStatus;
  /** What is watched, e.g. "http://insideweb:80/". */
  target?: string;
  /** Why the check failed: "connection refused", "timeout", "HTTP 503". */
  reason?: string;
  /** When the agent saw the change (ISO 8601). */
  time?: string;
  /** On an "up" alert: how long the outage lasted, in milliseconds; on a reminder: how long it has lasted so far. */
  downForMs?: number;
  /** On a reminder (status "down" for an incident already announced): which one, from 1. */
  reminder?: number;
  /** The agent's incident id: the same on its down, its reminders and its up (for channels that resolve or thread). */
  incident?: string;
  /** The agent that raised it (its --agent-name) and the run of it (random per start, as in its reports). */
  agent?: string;
  instance?: string;
}

/**
 * The text after "Sending email: " in the mailer's log: the book's own words.
 * A raw message from the book's agent keeps its spacing as sent; everything else
 * is written "To: <to> Message: <message>".
 */
export function bookLine(alert: Pick<Alert, 'to' | 'message'>): string {
  return `To: ${alert.to} Message: ${alert.message}`;
}
