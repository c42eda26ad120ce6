/**
 * ch2's JSON protocol: `POST /alerts` with an alert object, answered
 * `202 {"id": "..."}`. The same port also speaks the book's raw text.
 */
import { parseRecipient } from './address.ts';
import { ALERT_STATUSES, type Alert, type AlertStatus } from './alert.ts';
import { preview } from './text.ts';

export const ALERTS_PATH = '/alerts';
export const HEALTH_PATH = '/healthz';

/** What a sender may post. Only `message` is required. */
export interface AlertRequest {
  message: string;
  to?: string;
  status?: AlertStatus;
  target?: string;
  id?: string;
  reason?: string;
  time?: string;
  downForMs?: number;
  /** A reminder's number (1, 2, …): a repeated "down" for an incident already announced. */
  reminder?: number;
  /** The agent's incident id: the same on a down, its reminders and its up. */
  incident?: string;
  /** The agent that sent it (its --agent-name) and the run of it (random per start), as in its reports. */
  agent?: string;
  instance?: string;
}

export type JsonParse = { ok: true; value: AlertRequest } | { ok: false; error: string };

const STRING_FIELDS = ['message', 'to', 'status', 'target', 'id', 'reason', 'time', 'incident', 'agent', 'instance'] as const;
const KNOWN_FIELDS = new Set<string>([...STRING_FIELDS, 'downForMs', 'reminder']);
export const FIELD_MAX = 4096;
const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;
/** An agent's name (alerts' `agent`, reports' agent.name): 1 to 128 printable ASCII characters, not starting with a space. */
export const AGENT_NAME_PATTERN = /^[\x21-\x7e][\x20-\x7e]{0,127}$/;
/** An agent's run (alerts' `instance`, reports' agent.instance). */
export const AGENT_INSTANCE_PATTERN = /^[A-Za-z0-9-]{8,64}$/;

/** Parse and validate the body of `POST /alerts`. */
export function parseAlertJson(body: Buffer | string): JsonParse {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `body is not valid JSON: ${(err as Error).message}` };
  }
  return validateAlertRequest(data);
}

export function validateAlertRequest(data: unknown): JsonParse {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, error: 'body must be a JSON object' };
  }
  const record = data as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KNOWN_FIELDS.has(key)) return { ok: false, error: `unknown field "${key}"` };
  }
  for (const key of STRING_FIELDS) {
    const value = record[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') return { ok: false, error: `field "${key}" must be a string` };
    if (value.length > FIELD_MAX) return { ok: false, error: `field "${key}" is longer than ${FIELD_MAX} characters` };
  }
  const message = record.message;
  if (typeof message !== 'string' || message.trim().length === 0) {
    return { ok: false, error: 'field "message" is required and must be a non-empty string' };
  }
  const status = record.status;
  if (status !== undefined && !ALERT_STATUSES.includes(status as AlertStatus)) {
    return { ok: false, error: `field "status" must be "down" or "up", not ${JSON.stringify(status)}` };
  }
  const to = record.to as string | undefined;
  if (to !== undefined) {
    const recipient = parseRecipient(to);
    if (!recipient.ok) return { ok: false, error: `field "to" must be one e-mail address, not ${preview(JSON.stringify(to))}: ${recipient.error}` };
  }
  const id = record.id as string | undefined;
  if (id !== undefined && !ID_PATTERN.test(id)) {
    return { ok: false, error: 'field "id" must be 1-128 characters of A-Z a-z 0-9 . _ : @ -' };
  }
  const time = record.time as string | undefined;
  if (time !== undefined && Number.isNaN(Date.parse(time))) {
    return { ok: false, error: 'field "time" must be an ISO 8601 date' };
  }
  const downForMs = record.downForMs;
  if (downForMs !== undefined && (typeof downForMs !== 'number' || !Number.isFinite(downForMs) || downForMs < 0)) {
    return { ok: false, error: 'field "downForMs" must be a non-negative number' };
  }
  const reminder = record.reminder;
  if (reminder !== undefined && (typeof reminder !== 'number' || !Number.isSafeInteger(reminder) || reminder < 1)) {
    return { ok: false, error: 'field "reminder" must be a whole number of at least 1' };
  }
  const agent = record.agent as string | undefined;
  if (agent !== undefined && !AGENT_NAME_PATTERN.test(agent)) return { ok: false, error: 'field "agent" must be 1 to 128 printable ASCII characters' };
  const instance = record.instance as string | undefined;
  if (instance !== undefined && !AGENT_INSTANCE_PATTERN.test(instance)) return { ok: false, error: 'field "instance" must be 8 to 64 of A-Z a-z 0-9 -' };
  if (reminder !== undefined && status !== undefined && status !== 'down') {
    return { ok: false, error: 'field "reminder" goes only with status "down"' };
  }
  return { ok: true, value: record as unknown as AlertRequest };
}

/** The JSON body the agent posts for an alert. */
export function encodeAlertJson(alert: Alert): string {
  const body: AlertRequest = {
    id: alert.id,
    to: alert.to,
    message: alert.message,
    status: alert.status,
  };
  if (alert.target !== undefined) body.target = alert.target;
  if (alert.reason !== undefined) body.reason = alert.reason;
  if (alert.time !== undefined) body.time = alert.time;
  if (alert.downForMs !== undefined) body.downForMs = alert.downForMs;
  if (alert.reminder !== undefined) body.reminder = alert.reminder;
  if (alert.incident !== undefined) body.incident = alert.incident;
  if (alert.agent !== undefined) body.agent = alert.agent;
  if (alert.instance !== undefined) body.instance = alert.instance;
  return JSON.stringify(body);
}
