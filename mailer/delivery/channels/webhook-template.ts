/**
 * Templated generic webhooks (`--webhook-template <file>`, a config entry's
 * `template:`): the request a --webhook URL gets, as a Mustache template
 * (mustache.js 4.2: interpolation, sections, inverted sections, comments).
 * The file is YAML (JSON for .json files and text that starts with "{"):
 * `method` (POST, PUT or PATCH; POST), `contentType` (application/json),
 * `headers` (fixed names, value templates), `body` (a template); see
 * docs/examples/webhook-template.yaml. Placeholders: TEMPLATE_FIELDS
 * (templateValues says what each holds); an absent one renders as nothing;
 * `{{#reason}}…{{/reason}}` renders when the alert has a non-empty reason,
 * `{{^reason}}…{{/reason}}` when not.
 *
 * Alert data is untrusted: each value is escaped for the content type by a
 * per-render escape function (Mustache.render's 4th argument, never the
 * global Mustache.escape). JSON (application/json, any +json): as the inside
 * of a JSON string (U+2028/2029 too); where each placeholder stands is fixed
 * at load: inside a string any field, outside one only downForMs and
 * reminder (a number, or null when absent); every combination of the
 * sections used must render valid JSON for a sample full of quotes,
 * backslashes, line breaks and braces. Form (x-www-form-urlencoded): encoded
 * as URLSearchParams does; the body is trimmed and holds no white space of its
 * own. text/*: flattened to one printable line. Other content types are
 * refused. Header lines are flattened, non-ASCII %-encoded (UTF-8).
 * Refused at load, with a ConfigError of one line naming the file: unknown
 * keys or placeholders, {{{x}}} and {{& x}} (unescaped), partials, delimiter
 * changes, header names the transport owns.
 */
import { readFileSync } from 'node:fs';
import Mustache from 'mustache';
import type { QueuedAlert } from '../../queued-alert.ts';
import { ConfigError } from '../../../shared/config.ts';
import { flatten, oneLine } from '../../../shared/text.ts';
import { parseYaml } from '../../../shared/yaml-document.ts';
import { formatDurationCoarse } from '../../../shared/duration.ts';
import { alertTime, emailContent } from '../email-content.ts';

export type TemplateMethod = 'POST' | 'PUT' | 'PATCH';
export type BodyDialect = 'json' | 'form' | 'text';

/** A loaded, checked template; its body and header values are already rewritten for rendering. */
export interface WebhookTemplate {
  readonly file: string;
  readonly method: TemplateMethod;
  readonly contentType: string;
  readonly dialect: BodyDialect;
  /** Lower-case name → value template. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RenderedRequest {
  method: TemplateMethod;
  contentType: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

export const TEMPLATE_FIELDS = ['id', 'status', 'Status', 'to', 'message', 'title', 'target', 'reason', 'time', 'downForMs', 'downFor', 'reminder', 'receivedAt', 'incident'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];
type Values = Partial<Record<TemplateField, string | number>>;

const NUMBERS: ReadonlySet<string> = new Set<TemplateField>(['downForMs', 'reminder']);
const FIELDS: ReadonlySet<string> = new Set(TEMPLATE_FIELDS);
const KEYS = new Set(['method', 'contentType', 'headers', 'body']);
const METHODS: readonly TemplateMethod[] = ['POST', 'PUT', 'PATCH'];
/** Headers the transport owns (or the content type, which has its own key). */
const RESERVED = new Set(['host', 'content-length', 'transfer-encoding', 'content-type', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer', 'proxy-connection']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MEDIA_TYPE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\/([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:;(.*))?$/;
const MAX_BYTES = 64 * 1024;
const HEADER_MAX = 1000;
/** Names the rewritten templates use (no placeholder a file may write looks like them). */
const PRESENT = 'present:';
const LITERAL = 'json-literal:';

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
  return { id, status, Status: status.toUpperCase(), to, message, title: emailContent(item).subject, target, reason, time: alertTime(item), downForMs, downFor, reminder, receivedAt, incident };
}

function viewOf(values: Values): Record<string, unknown> {
  const view: Record<string, unknown> = Object.create(null);
  for (const f of TEMPLATE_FIELDS) {
    const v = values[f];
    view[f] = v;
    view[PRESENT + f] = v !== undefined && v !== '';
    if (NUMBERS.has(f)) view[LITERAL + f] = new JsonLiteral(JSON.stringify(typeof v === 'number' ? v : null));
  }
  return view;
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

/** One printable ASCII line: flattened, non-ASCII %-encoded (UTF-8), bounded. */
function headerLine(text: string): string {
  return flatten(text.toWellFormed(), HEADER_MAX).replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
}

const ESCAPES: Record<BodyDialect | 'header', (v: unknown) => string> = {
  json: (v) => (v instanceof JsonLiteral ? v.text : jsonInner(String(v))),
  form: (v) => formEncode(String(v)),
  text: (v) => flatten(String(v).toWellFormed()),
  header: (v) => flatten(String(v).toWellFormed()),
};

const render = (template: string, values: Values, escape: (v: unknown) => string): string =>
  Mustache.render(template, viewOf(values), undefined, { escape });

export function renderWebhookTemplate(t: WebhookTemplate, item: QueuedAlert): RenderedRequest {
  const values = templateValues(item);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(t.headers)) headers[name] = headerLine(render(value, values, ESCAPES.header));
  return { method: t.method, contentType: t.contentType, headers, body: render(t.body, values, ESCAPES[t.dialect]) };
}

// ---- loading and checking -------------------------------------------------

type Token = [string, string, number, number, Token[]?, number?];
/** Where a JSON body's text leaves off: inside a string, after a backslash. */
type JsonState = { inString: boolean; escaped: boolean };
type Edit = { start: number; end: number; text: string };

function scanJson(text: string, state: JsonState): JsonState {
  let { inString, escaped } = state;
  for (const c of text) {
    if (!inString) inString = c === '"';
    else if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === '"') inString = false;
  }
  return { inString, escaped };
}

/**
 * Checks a template and rewrites it for rendering: sections test
 * `present:<field>`, bare numbers in JSON read `json-literal:<field>`.
 * Returns the rewritten template and the fields its sections test.
 */
function compile(source: string, dialect: BodyDialect | 'header', fail: (what: string) => never): { template: string; sections: Set<TemplateField> } {
  let tokens: Token[];
  try {
    tokens = Mustache.parse(source) as unknown as Token[];
  } catch (err) {
    fail(`not a valid template (${flatten((err as Error).message)})`);
  }
  const edits: Edit[] = [];
  const sections = new Set<TemplateField>();
  const known = (name: string, tag: string): TemplateField => {
    if (!FIELDS.has(name)) fail(`unknown placeholder ${tag} (known: ${TEMPLATE_FIELDS.join(', ')})`);
    return name as TemplateField;
  };
  const walk = (list: Token[], state: JsonState): JsonState => {
    for (const [type, value, start, end, children, closeAt] of list) {
      const tag = source.slice(start, end);
      if (type === 'text') {
        if (dialect === 'json') state = scanJson(value, state);
        else if (dialect === 'form' && /[\s\u0000-\u001f\u007f-\u009f]/.test(value)) fail('a form body may hold no spaces or line breaks outside placeholders');
        else if (dialect === 'header' && /[^\x20-\x7e\t]/.test(value)) fail('the value must be printable ASCII on one line');
      } else if (type === 'name') {
        const field = known(value, tag);
        if (dialect !== 'json') continue;
        if (state.escaped) fail(`${tag} follows a backslash`);
        if (state.inString) continue;
        if (!NUMBERS.has(field)) fail(`${tag} stands outside a JSON string: write "${tag}" (only downForMs and reminder may stand bare: a number, or null when absent)`);
        edits.push({ start, end, text: `{{${LITERAL}${field}}}` });
      } else if (type === '#' || type === '^') {
        const field = known(value, tag);
        sections.add(field);
        const closeEnd = source.indexOf('}}', closeAt!) + 2;
        edits.push({ start, end, text: `{{${type}${PRESENT}${field}}}` }, { start: closeAt!, end: closeEnd, text: `{{/${PRESENT}${field}}}` });
        const after = walk(children ?? [], state);
        if (dialect === 'json' && (after.inString !== state.inString || after.escaped !== state.escaped)) fail(`the section ${tag}…{{/${value}}} must end inside or outside a JSON string as it began`);
      } else if (type === '&') {
        fail(`${tag} would put alert data in unescaped; write {{${value}}}`);
      } else if (type === '>') {
        fail(`partials (${tag}) are not supported`);
      } else if (type === '=') {
        fail(`changing delimiters (${tag}) is not supported`);
      }
    }
    return state;
  };
  const end = walk(tokens, { inString: false, escaped: false });
  if (dialect === 'json' && end.inString) fail('a JSON string is left open');
  let template = source;
  for (const e of edits.sort((a, b) => b.start - a.start)) template = template.slice(0, e.start) + e.text + template.slice(e.end);
  return { template, sections };
}

/** Alert data meant to break a JSON body: quotes, backslashes, line breaks, braces, tags. */
const HOSTILE = '"\\\n\r\t}}{{x}}{"a":[1,]}\'<>&\u2028\u2029\u0000\u001b\ud800 é 🙂 \\u0022 "';

/** The body must be valid JSON for every combination of its sections' fields present and absent. */
function checkJson(template: string, sections: ReadonlySet<TemplateField>, fail: (what: string) => never): void {
  const full: Values = {};
  for (const f of TEMPLATE_FIELDS) full[f] = NUMBERS.has(f) ? 12345 : `${f}${HOSTILE}`;
  const tested = [...sections];
  for (let mask = 0; mask < 2 ** tested.length; mask++) {
    const values: Values = { ...full };
    tested.forEach((f, i) => {
      if (mask & (1 << i)) delete values[f];
    });
    try {
      JSON.parse(render(template, values, ESCAPES.json));
    } catch (err) {
      const absent = tested.filter((_, i) => mask & (1 << i));
      fail(`renders invalid JSON${absent.length > 0 ? ` when ${absent.join(', ')} ${absent.length === 1 ? 'is' : 'are'} absent` : ''} (${flatten((err as Error).message, 160)})`);
    }
  }
}

function dialectOf(contentType: string, fail: (what: string) => never): BodyDialect {
  const m = MEDIA_TYPE.exec(contentType.trim());
  if (!m) fail(`contentType: expected a media type such as application/json`);
  const type = m[1]!.toLowerCase();
  const sub = m[2]!.toLowerCase();
  const charset = /(?:^|;)\s*charset\s*=\s*"?([^";\s]+)/i.exec(m[3] ?? '')?.[1];
  if (charset && !/^utf-?8$/i.test(charset)) fail(`contentType: the body is sent as UTF-8, not ${charset}`);
  if ((type === 'application' && sub === 'json') || sub.endsWith('+json')) return 'json';
  if (type === 'application' && sub === 'x-www-form-urlencoded') return 'form';
  if (type === 'text') return 'text';
  fail(`contentType: ${type}/${sub} cannot be escaped; use application/json (or any +json), application/x-www-form-urlencoded or text/*`);
}

/** A template from its text (`file` names it in errors; .json, or text starting with "{", is read as JSON). */
export function parseWebhookTemplate(file: string, text: string): WebhookTemplate {
  const fail: (what: string) => never = (what) => {
    throw new ConfigError(`webhook template ${oneLine(file)}: ${what.replace(/\.$/, '')}.`);
  };
  const source = text.replace(/^\uFEFF/, '');
  let doc: unknown;
  if (/\.json$/i.test(file) || (!/\.ya?ml$/i.test(file) && source.trimStart().startsWith('{'))) {
    try {
      doc = JSON.parse(source);
    } catch (err) {
      fail(`not valid JSON (${flatten((err as Error).message, 160)})`);
    }
  } else {
    try {
      doc = parseYaml(source);
    } catch (err) {
      fail(`not valid YAML (${flatten(((err as Error).message.split('\n')[0] ?? '').replace(/[:.]\s*$/, ''), 160)})`);
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) fail('expected a mapping with method, contentType, headers and body');
  const entry = doc as Record<string, unknown>;
  const unknown = Object.keys(entry).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) fail(`unknown key ${flatten(unknown[0]!, 60)} (known: ${[...KEYS].join(', ')})`);

  const method = entry.method ?? 'POST';
  if (typeof method !== 'string' || !METHODS.includes(method.toUpperCase() as TemplateMethod)) fail(`method: expected ${METHODS.join(', ')}`);
  const contentType = entry.contentType ?? 'application/json';
  if (typeof contentType !== 'string' || !/^[\x20-\x7e]+$/.test(contentType)) fail('contentType: expected a media type such as application/json');
  const dialect = dialectOf(contentType as string, fail);

  const headers: Record<string, string> = {};
  const given = entry.headers ?? {};
  if (given === null || typeof given !== 'object' || Array.isArray(given)) fail('headers: expected a mapping of header names to values');
  for (const [name, value] of Object.entries(given as Record<string, unknown>)) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(name)) fail(`headers: ${flatten(name, 60)} is not a header name (letters, digits and !#$%&'*+.^_\`|~-, no placeholders)`);
    if (RESERVED.has(lower)) fail(`headers: ${name} is set by the mailer${lower === 'content-type' ? ' (use contentType)' : ''}`);
    if (lower in headers) fail(`headers: ${name} is given twice`);
    if (typeof value !== 'string' && typeof value !== 'number') fail(`headers.${name}: expected a text value`);
    headers[lower] = compile(String(value), 'header', (what) => fail(`headers.${name}: ${what}`)).template;
  }

  if (typeof entry.body !== 'string' || entry.body.trim() === '') fail('body: expected a template (text)');
  const failBody: (what: string) => never = (what) => fail(`body: ${what}`);
  const { template: body, sections } = compile(dialect === 'form' ? entry.body.trim() : entry.body, dialect, failBody);
  if (dialect === 'json') checkJson(body, sections, failBody);
  return { file, method: (method as string).toUpperCase() as TemplateMethod, contentType: (contentType as string).trim(), dialect, headers, body };
}

/** Reads and checks a template file, at start (synchronously). */
export function loadWebhookTemplate(file: string): WebhookTemplate {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : flatten((err as Error).message, 120);
    throw new ConfigError(`webhook template ${oneLine(file)}: cannot read it (${why}).`);
  }
  if (bytes.length > MAX_BYTES) throw new ConfigError(`webhook template ${oneLine(file)}: larger than ${MAX_BYTES} bytes.`);
  return parseWebhookTemplate(file, bytes.toString('utf8'));
}
