/**
 * What an HTTP check sends, from a config file's target keys (config-file.ts):
 * `method`, `headers`, `body` and `basicAuth`. A secret comes from the
 * environment, never from the file: a header value or a password is a
 * string, or `{env: NAME}`, read at start (an unset or empty NAME is an
 * error). The values read from the environment are the target's `secrets`,
 * which the logger scrubs from every line; none is ever printed.
 *
 *   headers: {Authorization: {env: API_TOKEN}, Accept: application/json}
 *   basicAuth: {user: monitor, password: {env: SHOP_PASSWORD}}
 *   method: POST
 *   body: '{"ping": true}'
 *
 * Each throws an Error with a one-line reason, without a trailing period.
 */
import { describe, textValue } from './setting-values.ts';

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type Method = (typeof METHODS)[number];
/** The methods that may carry a body. */
const BODY_METHODS: readonly Method[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
/** Headers the agent sets itself (framing, the connection, the host). */
const OWN_HEADERS = ['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer'];
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
/** Longest header value, and most headers. */
const HEADER_VALUE_MAX = 8192;
const HEADERS_MAX = 64;

export interface RequestSettings {
  method?: Method;
  /** Lower-case names; values as sent. */
  requestHeaders?: Readonly<Record<string, string>>;
  requestBody?: string;
  /** The values read from the environment: scrubbed from every log line. */
  secrets?: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

export function methodValue(value: unknown): Method {
  const text = typeof value === 'string' ? value.trim().toUpperCase() : undefined;
  if (!text || !(METHODS as readonly string[]).includes(text)) throw new Error(`expected one of ${METHODS.join(', ')}, not ${describe(value)}`);
  return text as Method;
}

/** A string, or {env: NAME}: the value and whether it came from the environment. */
export function secretValue(value: unknown, env: Env): { value: string; secret: boolean } {
  if (typeof value === 'string') return { value, secret: false };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const name = (value as { env?: unknown }).env;
    if (keys.length !== 1 || typeof name !== 'string' || !ENV_NAME.test(name)) throw new Error('expected a string or {env: NAME} (NAME: letters, digits, _)');
    const found = env[name];
    if (found === undefined || found === '') throw new Error(`the environment variable ${name} is not set`);
    return { value: found, secret: true };
  }
  throw new Error(`expected a string or {env: NAME}, not ${describe(value)}`);
}

/** `headers`: an object of name → string or {env: NAME}. */
export function headersValue(value: unknown, env: Env): { requestHeaders: Record<string, string>; secrets: string[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`expected an object of header names and values, not ${describe(value)}`);
  const entries = Object.entries(value);
  if (entries.length > HEADERS_MAX) throw new Error(`more than ${HEADERS_MAX} headers`);
  // A Map, then fromEntries: a header named "constructor" or "__proto__" is just a name.
  const requestHeaders = new Map<string, string>();
  const secrets: string[] = [];
  for (const [name, raw] of entries) {
    if (!TOKEN.test(name)) throw new Error(`${describe(name)} is not a header name`);
    const lower = name.toLowerCase();
    if (OWN_HEADERS.includes(lower)) throw new Error(`${name} is set by the agent itself`);
    if (requestHeaders.has(lower)) throw new Error(`${name} is given twice`);
    let parsed: { value: string; secret: boolean };
    try {
      parsed = secretValue(raw, env);
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`);
    }
    // Shown by name only: the value may be a secret.
    if (parsed.value.length > HEADER_VALUE_MAX) throw new Error(`${name}: the value is longer than ${HEADER_VALUE_MAX} characters`);
    if (/[^\t\x20-\x7e\x80-\xff]/.test(parsed.value)) throw new Error(`${name}: the value holds a line break or a control character`);
    requestHeaders.set(lower, parsed.value);
    if (parsed.secret) secrets.push(parsed.value);
  }
  return { requestHeaders: Object.fromEntries(requestHeaders), secrets };
}

/** `basicAuth`: {user, password}, the password a string or {env: NAME}. */
export function basicAuthValue(value: unknown, env: Env): { authorization: string; secrets: string[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`expected {user, password}, not ${describe(value)}`);
  const { user, password, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new Error(`unknown key ${JSON.stringify(extra)} (expected user and password)`);
  if (typeof user !== 'string' || user.length === 0 || user.length > 256 || user.includes(':') || /[\u0000-\u001f\u007f]/.test(user)) {
    throw new Error('user must be 1 to 256 characters without ":" or control characters');
  }
  let pw: { value: string; secret: boolean };
  try {
    pw = secretValue(password ?? '', env);
  } catch (err) {
    throw new Error(`password: ${(err as Error).message}`);
  }
  const authorization = `Basic ${Buffer.from(`${user}:${pw.value}`, 'utf8').toString('base64')}`;
  return { authorization, secrets: pw.secret ? [pw.value, authorization] : [] };
}

/** `body`: text sent as is. */
export function bodyValue(value: unknown): string {
  return textValue(value, 64 * 1024);
}

/** The request of a target, checked as a whole: a body needs a method that carries one. */
export function requestProblem(settings: RequestSettings & { bodyContains?: string; bodyNotContains?: string; jsonAssertions?: readonly unknown[] }): { key: string; message: string } | undefined {
  if (settings.requestBody !== undefined && !BODY_METHODS.includes(settings.method ?? 'GET')) {
    return { key: 'body', message: `needs a method that carries one (${BODY_METHODS.join(', ')}), not ${settings.method ?? 'GET'}` };
  }
  if (settings.method === 'HEAD' && (settings.bodyContains !== undefined || settings.bodyNotContains !== undefined || settings.jsonAssertions !== undefined)) {
    return { key: 'method', message: 'HEAD answers have no body: drop bodyContains, bodyNotContains and json' };
  }
  return undefined;
}
