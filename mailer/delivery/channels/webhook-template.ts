/**
 * Templated generic webhooks (`--webhook-template <file>`, a config entry's
 * `template:`): the request a --webhook URL gets, as a Mustache template
 * (mustache.js 4.2: interpolation, sections, inverted sections, comments).
 * The file is YAML (JSON for .json files and text that starts with "{"):
 * `method` (POST, PUT or PATCH; POST), `contentType` (application/json),
 * `headers` (fixed names, value templates), `body` (a template); see
 * docs/examples/webhook-template.yaml. Placeholders: TEMPLATE_FIELDS
 * (webhook-template-render.ts says what each holds, for one alert and for a
 * group); an absent one renders as nothing; `{{#reason}}…{{/reason}}`
 * renders when the alert has a non-empty reason, `{{^reason}}…{{/reason}}`
 * when not. `{{#alerts}}…{{/alerts}}` renders once per alert of the request
 * (the one alert, or each member of a group), with `{{#first}}`/`{{^last}}`
 * inside it; a grouped webhook needs it (webhook.ts refuses one without).
 *
 * Alert data is untrusted: each value is escaped for the content type
 * (webhook-template-render.ts). JSON (application/json, any +json): where
 * each placeholder stands is fixed at load: inside a string any field,
 * outside one only downForMs, reminder and count (a number, or null when
 * absent); every combination of the sections used must render valid JSON,
 * for one alert and for a group, for a sample full of quotes, backslashes,
 * line breaks and braces. Form (x-www-form-urlencoded): encoded
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
import {
  ALERTS,
  alertView,
  type BodyDialect,
  ESCAPES,
  groupView,
  LITERAL,
  NUMBERS,
  POSITIONS,
  PRESENT,
  renderView,
  requestView,
  TEMPLATE_FIELDS,
  type TemplateField,
  type Values,
} from './webhook-template-render.ts';

export { TEMPLATE_FIELDS, type BodyDialect } from './webhook-template-render.ts';

export type TemplateMethod = 'POST' | 'PUT' | 'PATCH';

/** A loaded, checked template; its body and header values are already rewritten for rendering. */
export interface WebhookTemplate {
  readonly file: string;
  readonly method: TemplateMethod;
  readonly contentType: string;
  readonly dialect: BodyDialect;
  /** Lower-case name → value template. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The body has an {{#alerts}} section: it can say a group. */
  readonly listsAlerts: boolean;
}

export interface RenderedRequest {
  method: TemplateMethod;
  contentType: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

const FIELDS: ReadonlySet<string> = new Set(TEMPLATE_FIELDS);
const KEYS = new Set(['method', 'contentType', 'headers', 'body']);
const METHODS: readonly TemplateMethod[] = ['POST', 'PUT', 'PATCH'];
/** Headers the transport owns (or the content type, which has its own key). */
const RESERVED = new Set(['host', 'content-length', 'transfer-encoding', 'content-type', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer', 'proxy-connection']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MEDIA_TYPE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\/([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:;(.*))?$/;
const MAX_BYTES = 64 * 1024;
const HEADER_MAX = 1000;

/** One printable ASCII line: flattened, non-ASCII %-encoded (UTF-8), bounded. */
function headerLine(text: string): string {
  return flatten(text.toWellFormed(), HEADER_MAX).replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
}

function renderRequest(t: WebhookTemplate, view: Record<string, unknown>): RenderedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(t.headers)) headers[name] = headerLine(renderView(value, view, ESCAPES.header));
  return { method: t.method, contentType: t.contentType, headers, body: renderView(t.body, view, ESCAPES[t.dialect]) };
}

/** The request for one alert. */
export function renderWebhookTemplate(t: WebhookTemplate, item: QueuedAlert): RenderedRequest {
  return renderRequest(t, alertView(item));
}

/** The request for a group (a grouped channel's every request, one alert or more). */
export function renderWebhookGroup(t: WebhookTemplate, items: readonly QueuedAlert[]): RenderedRequest {
  return renderRequest(t, groupView(items));
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
 * `present:<field>`, bare numbers in JSON read `json-literal:<field>`;
 * `{{#alerts}}` stays a list section. Returns the rewritten template, the
 * fields its sections test and whether it has an alerts section.
 */
function compile(source: string, dialect: BodyDialect | 'header', fail: (what: string) => never): { template: string; sections: Set<TemplateField>; listsAlerts: boolean } {
  let tokens: Token[];
  try {
    tokens = Mustache.parse(source) as unknown as Token[];
  } catch (err) {
    fail(`not a valid template (${flatten((err as Error).message)})`);
  }
  const edits: Edit[] = [];
  const sections = new Set<TemplateField>();
  let listsAlerts = false;
  const known = (name: string, tag: string): TemplateField => {
    if (name === ALERTS || POSITIONS.has(name)) fail(`${tag}: ${name} is a section only (${name === ALERTS ? '{{#alerts}}…{{/alerts}}' : `{{#${name}}}…{{/${name}}} inside {{#alerts}}`})`);
    if (!FIELDS.has(name)) fail(`unknown placeholder ${tag} (known: ${TEMPLATE_FIELDS.join(', ')}; sections also alerts, and first and last inside it)`);
    return name as TemplateField;
  };
  const walk = (list: Token[], state: JsonState, inAlerts: boolean): JsonState => {
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
        if (!NUMBERS.has(field)) fail(`${tag} stands outside a JSON string: write "${tag}" (only downForMs, reminder and count may stand bare: a number, or null when absent)`);
        edits.push({ start, end, text: `{{${LITERAL}${field}}}` });
      } else if (type === '#' || type === '^') {
        const closeEnd = source.indexOf('}}', closeAt!) + 2;
        if (value === ALERTS) {
          if (type === '^') fail(`${tag} never renders: a request has at least one alert`);
          if (inAlerts) fail(`${tag} inside {{#alerts}}`);
          listsAlerts = true;
        } else if (POSITIONS.has(value)) {
          if (!inAlerts) fail(`${tag} outside {{#alerts}}…{{/alerts}}`);
          edits.push({ start, end, text: `{{${type}${PRESENT}${value}}}` }, { start: closeAt!, end: closeEnd, text: `{{/${PRESENT}${value}}}` });
        } else {
          const field = known(value, tag);
          sections.add(field);
          edits.push({ start, end, text: `{{${type}${PRESENT}${field}}}` }, { start: closeAt!, end: closeEnd, text: `{{/${PRESENT}${field}}}` });
        }
        const after = walk(children ?? [], state, inAlerts || value === ALERTS);
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
  const end = walk(tokens, { inString: false, escaped: false }, false);
  if (dialect === 'json' && end.inString) fail('a JSON string is left open');
  let template = source;
  for (const e of edits.sort((a, b) => b.start - a.start)) template = template.slice(0, e.start) + e.text + template.slice(e.end);
  return { template, sections, listsAlerts };
}

/** Alert data meant to break a JSON body: quotes, backslashes, line breaks, braces, tags. */
const HOSTILE = '"\\\n\r\t}}{{x}}{"a":[1,]}\'<>&\u2028\u2029\u0000\u001b\ud800 é 🙂 \\u0022 "';
/** The members of the sample group a JSON body is checked with. */
const SAMPLE_GROUP = 3;

/**
 * The body must be valid JSON for every combination of its sections' fields
 * present and absent, for one alert and for a group of SAMPLE_GROUP (whose
 * top level has only what a group shares).
 */
function checkJson(template: string, sections: ReadonlySet<TemplateField>, fail: (what: string) => never): void {
  const full: Values = {};
  for (const f of TEMPLATE_FIELDS) full[f] = NUMBERS.has(f) ? 12345 : `${f}${HOSTILE}`;
  const shared: Values = { status: full.status!, Status: full.Status!, to: full.to!, title: full.title!, count: SAMPLE_GROUP };
  const tested = [...sections];
  for (let mask = 0; mask < 2 ** tested.length; mask++) {
    const values: Values = { ...full };
    const top: Values = { ...shared };
    tested.forEach((f, i) => {
      if (mask & (1 << i)) {
        delete values[f];
        delete top[f];
      }
    });
    const absent = tested.filter((_, i) => mask & (1 << i));
    const when = absent.length > 0 ? ` when ${absent.join(', ')} ${absent.length === 1 ? 'is' : 'are'} absent` : '';
    for (const [view, what] of [
      [requestView(values, [values]), ''],
      [requestView(top, Array.from({ length: SAMPLE_GROUP }, () => values)), ` for a group of ${SAMPLE_GROUP} alerts (write {{^last}},{{/last}} between them)`],
    ] as const) {
      try {
        JSON.parse(renderView(template, view, ESCAPES.json));
      } catch (err) {
        fail(`renders invalid JSON${what}${when} (${flatten((err as Error).message, 160)})`);
      }
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
  const { template: body, sections, listsAlerts } = compile(dialect === 'form' ? entry.body.trim() : entry.body, dialect, failBody);
  if (dialect === 'json') checkJson(body, sections, failBody);
  return { file, method: (method as string).toUpperCase() as TemplateMethod, contentType: (contentType as string).trim(), dialect, headers, body, listsAlerts };
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
