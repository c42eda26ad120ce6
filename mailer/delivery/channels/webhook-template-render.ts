/**
 * Rendering a checked webhook template (webhook-template.ts loads and checks
 * it) for one alert or for a group of them: the value of every placeholder,
 * the Mustache view, and the per-render escape of each dialect.
 *
 * The view of one alert holds its fields (TEMPLATE_FIELDS; `count` is 1).
 * The view of a group holds what its members share: `status` (down when any
 * member is down, else up), `Status`, `to` (the recipient the group is for),
 * `title` (the group's subject, as a chat message's) and `count`; the other
 * fields are absent. Both have an `alerts` list, one entry per alert (the one
 * alert, or every member in order), each with that alert's fields and the
 * sections `first` and `last`; `count` inside it is the request's.
 *
 * Alert data is untrusted: each value is escaped for the content type by a
 * per-render escape function (Mustache.render's 4th argument, never the
 * global Mustache.escape): JSON as the inside of a JSON string (U+2028/2029
 * too), bare numbers (downForMs, reminder, count) as a number or null; form
 * as URLSearchParams encodes; text and headers flattened to one line.
 */
import Mustache from 'mustache';
import type { QueuedAlert } from '../../queued-alert.ts';
import { flatten } from '../../../shared/text.ts';
import { formatDurationCoarse } from '../../../shared/duration.ts';
import { alertTime, emailContent, messageLines } from '../email-content.ts';

export type BodyDialect = 'json' | 'form' | 'text';

export const TEMPLATE_FIELDS = ['id', 'status', 'Status', 'to', 'message', 'title', 'target', 'reason', 'time', 'downForMs', 'downFor', 'reminder', 'receivedAt', 'incident', 'count'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];
export type Values = Partial<Record<TemplateField, string | number>>;

/** The list section: once per alert of the request. */
export const ALERTS = 'alerts';
/** Sections inside `alerts` only: the request's first and last alert. */
export const POSITIONS: ReadonlySet<string> = new Set(['first', 'last']);
/** Fields that may stand bare in a JSON body: a number, or null when absent. */
export const NUMBERS: ReadonlySet<string> = new Set<TemplateField>(['downForMs', 'reminder', 'count']);
/** Names the rewritten templates use (no placeholder a file may write looks like them). */
export const PRESENT = 'present:';
export const LITERAL = 'json-literal:';

/** A JSON value written as is (a number or null), told apart from alert text by the JSON escape. */
class JsonLiteral {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** The value of every placeholder for an alert (absent ones undefined). */
export function templateValues(item: QueuedAlert): Values {
  const { alert } = item;
  const { id, status, to, message, target, reason, downForMs, reminder } = alert;
  const downFor = downForMs !== undefined ? formatDurationCoarse(downForMs) : undefined;
  const receivedAt = new Date(item.receivedAt).toISOString();
  const incident = alert.incident ?? target ?? id;
  return { id, status, Status: status.toUpperCase(), to, message, title: emailContent(item).subject, target, reason, time: alertTime(item), downForMs, downFor, reminder, receivedAt, incident, count: 1 };
}

/** A group's status: down when any member is down, else up (Alertmanager's firing and resolved). */
export function groupStatus(items: readonly QueuedAlert[]): 'down' | 'up' {
  return items.some((i) => i.alert.status === 'down') ? 'down' : 'up';
}

/** What a group's members share: its status, its recipient, its subject and its size. */
export function groupValues(items: readonly QueuedAlert[]): Values {
  const status = groupStatus(items);
  return { status, Status: status.toUpperCase(), to: items[0]!.alert.to, title: messageLines(items).title, count: items.length };
}

/** A view: the fields, whether each is present (sections), and the bare JSON value of each number. */
function fieldsView(values: Values, skip: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const view: Record<string, unknown> = Object.create(null);
  for (const f of TEMPLATE_FIELDS) {
    if (skip.has(f)) continue;
    const v = values[f];
    view[f] = v;
    view[PRESENT + f] = v !== undefined && v !== '';
    if (NUMBERS.has(f)) view[LITERAL + f] = new JsonLiteral(JSON.stringify(typeof v === 'number' ? v : null));
  }
  return view;
}

/** `count` is left out of an entry, so that inside `alerts` it is the request's. */
const ENTRY_SKIP: ReadonlySet<string> = new Set(['count']);

/** The view of a request: `top` (one alert's values, or a group's) and an `alerts` entry per alert. */
export function requestView(top: Values, alerts: readonly Values[]): Record<string, unknown> {
  const view = fieldsView(top);
  view[ALERTS] = alerts.map((values, i) => {
    const entry = fieldsView(values, ENTRY_SKIP);
    entry[ALERTS] = undefined;
    entry[`${PRESENT}first`] = i === 0;
    entry[`${PRESENT}last`] = i === alerts.length - 1;
    return entry;
  });
  return view;
}

/** The view of one alert's request. */
export function alertView(item: QueuedAlert): Record<string, unknown> {
  const values = templateValues(item);
  return requestView(values, [values]);
}

/** The view of a group's request. */
export function groupView(items: readonly QueuedAlert[]): Record<string, unknown> {
  return requestView(groupValues(items), items.map(templateValues));
}

/** The inside of a JSON string holding `text` (also safe in JavaScript: U+2028/2029 escaped). */
export function jsonInner(text: string): string {
  return JSON.stringify(text).slice(1, -1).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** application/x-www-form-urlencoded, as URLSearchParams writes it. */
export function formEncode(text: string): string {
  return encodeURIComponent(text.toWellFormed())
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

export const ESCAPES: Record<BodyDialect | 'header', (v: unknown) => string> = {
  json: (v) => (v instanceof JsonLiteral ? v.text : jsonInner(String(v))),
  form: (v) => formEncode(String(v)),
  text: (v) => flatten(String(v).toWellFormed()),
  header: (v) => flatten(String(v).toWellFormed()),
};

export const renderView = (template: string, view: Record<string, unknown>, escape: (v: unknown) => string): string => Mustache.render(template, view, undefined, { escape });
