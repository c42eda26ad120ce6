/**
 * The outcome of one attempt to hand an alert on (agent → mailer, mailer →
 * channel), after Alertmanager's notifiers: success, or a failure that says
 * whether trying again can help. Retry loops decide with `retry`, never by
 * parsing messages.
 */
export type SendResult =
  | { ok: true; detail?: string }
  | { ok: false; retry: boolean; error: string; retryAfterMs?: number };

export const sent = (detail?: string): SendResult => (detail === undefined ? { ok: true } : { ok: true, detail });
export const transient = (error: string, retryAfterMs?: number): SendResult =>
  retryAfterMs === undefined ? { ok: false, retry: true, error } : { ok: false, retry: true, error, retryAfterMs };
export const permanent = (error: string): SendResult => ({ ok: false, retry: false, error });
