/**
 * The outcome of one attempt to hand an alert on (agent → mailer, mailer →
 * channel), after Alertmanager's notifiers: success, or a failure that says
 * whether trying again can help. Retry loops decide with `retry`, never by
 * parsing messages.
 */
export type SendResult =
  | { ok: true; detail?: string; holdMs?: number }
  | { ok: false; retry: boolean; error: string; retryAfterMs?: number };

/** holdMs: the receiver asks for no further send this long (Discord's rate-limit bucket at 0). */
export const sent = (detail?: string, holdMs?: number): SendResult =>
  ({ ok: true, ...(detail === undefined ? {} : { detail }), ...(holdMs === undefined ? {} : { holdMs }) }) as SendResult;
export const transient = (error: string, retryAfterMs?: number): SendResult =>
  retryAfterMs === undefined ? { ok: false, retry: true, error } : { ok: false, retry: true, error, retryAfterMs };
export const permanent = (error: string): SendResult => ({ ok: false, retry: false, error });
