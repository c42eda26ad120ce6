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
