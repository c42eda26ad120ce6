/**
 * The agent's `--config FILE` (CONFIG_FILE): many targets, each with its own
 * settings, in JSON or YAML (YAML for .yaml/.yml files, or any file that does
 * not start with "{"; the yaml package is loaded only then).
 *
 *   {"defaults": {"interval": "1s", "to": ["admin@work"]},
 *    "targets": [{"name": "web", "url": "http://insideweb:80/", "bodyContains": "Welcome",
 *                 "maxResponseTime": "500ms", "failureThreshold": 2}]}
 *
 * Keys of a target (all but `url` optional; `defaults` takes the same keys
 * except `name` and `url`): name, url, interval, timeout, connectTimeout,
 * expectStatus, bodyContains, bodyNotContains, maxResponseTime,
 * failureThreshold, successThreshold, remindEvery, maxReminders, to, message,
 * upMessage, caFile, insecure, certExpiry, method, headers, body, basicAuth, follow,
 * json (json-assertions.ts)
 * (request-values.ts: secrets as {env: NAME}). Values are what the flags take (setting-values.ts parses
 * both): durations "500ms", "1s", "2m" or a number of seconds (`interval: 2`);
 * remindEvery also takes "off"; expectStatus "2xx,301", 200 or a list of
 * them. Settings come from, last wins: the built-in defaults, the flags, the
 * file's `defaults`, the target's own keys. A tcp:// target has no status or
 * body: it ignores expectStatus, bodyContains and bodyNotContains from the
 * flags or `defaults`, and refuses them as its own keys; only an https://
 * target takes caFile, insecure and certExpiry as its own keys. Targets on one https
 * origin share its connections, so they must trust alike (caFile, insecure).
 *
 * Any problem (unknown key, bad value, duplicate name, unreadable file) is a
 * ConfigError whose one-line message names the file, the target and the key.
 */
import { ConfigError } from '../shared/config.ts';
import { readConfigDocument } from '../shared/config-document.ts';
import { FIELD_MAX } from '../shared/wire-json.ts';
import { messageProblem } from './incidents/incident-alerts.ts';
import { booleanValue, caFileValue, describe, durationValue, expectStatusValue, recipientsValue, remindEveryValue, textValue, wholeValue } from './setting-values.ts';
import { sameTrust } from './checks/tls-trust.ts';
import { jsonAssertionsValue } from './json-assertions.ts';
import { basicAuthValue, bodyValue, headersValue, methodValue, requestProblem } from './request-values.ts';
import { forTarget, HTTP_ONLY_SETTINGS, HTTPS_ONLY_SETTINGS, REQUEST_KEYS, LIMITS, nameFromUrlText, normalise, type TargetSettings, type TargetSpec, targetKind, targetUrlProblem } from './target.ts';

/** Most targets one file may list. */
export const MAX_TARGETS = 100_000;
/** Largest config file read. */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

type Env = Readonly<Record<string, string | undefined>>;
type Setter = (value: unknown, env: Env) => Partial<TargetSettings>;

const SETTINGS: Record<string, Setter> = {
  interval: (v) => ({ intervalMs: durationValue(v, LIMITS.intervalMs) }),
  timeout: (v) => ({ timeoutMs: durationValue(v, LIMITS.timeoutMs) }),
  connectTimeout: (v) => ({ connectTimeoutMs: durationValue(v, LIMITS.connectTimeoutMs) }),
  expectStatus: (v) => expectStatusValue(v),
  bodyContains: (v) => ({ bodyContains: textValue(v) }),
  bodyNotContains: (v) => ({ bodyNotContains: textValue(v) }),
  maxResponseTime: (v) => ({ maxResponseTimeMs: durationValue(v, LIMITS.maxResponseTimeMs) }),
  failureThreshold: (v) => ({ failureThreshold: wholeValue(v, LIMITS.threshold) }),
  successThreshold: (v) => ({ successThreshold: wholeValue(v, LIMITS.threshold) }),
  remindEvery: (v) => ({ remindEveryMs: remindEveryValue(v, LIMITS.remindEveryMs) }),
  maxReminders: (v) => ({ maxReminders: wholeValue(v, LIMITS.maxReminders) }),
  to: (v) => ({ to: recipientsValue(v) }),
  message: (v) => ({ message: textValue(v).trim() }),
  upMessage: (v) => ({ upMessage: textValue(v).trim() }),
  caFile: (v) => caFileValue(v),
  insecure: (v) => ({ insecure: booleanValue(v) }),
  certExpiry: (v) => optional('certExpiryMs', remindEveryValue(v, LIMITS.certExpiryMs)),
  method: (v) => ({ method: methodValue(v) }),
  headers: (v, env) => {
    const { requestHeaders, secrets } = headersValue(v, env);
    return { requestHeaders, headerSecrets: secrets };
  },
  body: (v) => ({ requestBody: bodyValue(v) }),
  basicAuth: (v, env) => ({ basicAuth: basicAuthValue(v, env) }),
  follow: (v) => ({ follow: booleanValue(v) }),
  json: (v) => ({ jsonAssertions: jsonAssertionsValue(v) }),
};

/** A setting whose "off" (0) removes it. */
function optional<K extends 'certExpiryMs'>(key: K, ms: number): Partial<TargetSettings> {
  return { [key]: ms === 0 ? undefined : ms };
}

const TARGET_ONLY = new Set(['name', 'url']);
const TOP_KEYS = new Set(['defaults', 'targets']);

/** Read and check a config file; `base` holds the settings the flags gave. */
export async function loadConfigFile(path: string, base: TargetSettings, env: Env = process.env): Promise<TargetSpec[]> {
  return targetsFromDocument(path, await readConfigDocument(path, MAX_FILE_BYTES), base, env);
}

/** The targets a parsed document describes. */
export function targetsFromDocument(path: string, data: unknown, base: TargetSettings, env: Env = process.env): TargetSpec[] {
  const fail = (where: string, message: string): never => {
    throw new ConfigError(`config file ${path}: ${where}${message}`);
  };
  if (!isRecord(data)) return fail('', `expected an object with "targets" (and optionally "defaults"), not ${describe(data)}.`);
  for (const key of Object.keys(data)) {
    if (!TOP_KEYS.has(key)) fail('', `unknown key ${JSON.stringify(key)} at the top (expected "defaults" and "targets").`);
  }
  let defaults = base;
  if (data.defaults !== undefined) {
    if (!isRecord(data.defaults)) fail('"defaults": ', `expected an object, not ${describe(data.defaults)}.`);
    defaults = applySettings(base, data.defaults as Record<string, unknown>, (key, message) => fail(`defaults: "${key}": `, message), false, env);
  }
  const list = data.targets;
  if (!Array.isArray(list)) return fail('"targets": ', list === undefined ? 'missing: list the targets to watch.' : `expected a list, not ${describe(list)}.`);
  if (list.length === 0) fail('"targets": ', 'the list is empty.');
  if (list.length > MAX_TARGETS) fail('"targets": ', `more than ${MAX_TARGETS} targets.`);
  const seen = new Map<string, number>();
  const origins = new Map<string, { index: number; settings: TargetSettings }>();
  return list.map((item, index) => {
    const at = `targets[${index}]`;
    if (!isRecord(item)) return fail(`${at}: `, `expected an object with "url", not ${describe(item)}.`);
    const label = typeof item.name === 'string' ? `${at} (${JSON.stringify(item.name)})` : at;
    const where = (key: string) => `${label}: "${key}": `;
    const url = parseUrl(item.url, (message) => fail(where('url'), message));
    // Unnamed targets are named by their URL as written.
    let name = typeof item.url === 'string' ? nameFromUrlText(item.url, url) : url.href;
    if (item.name !== undefined) {
      try {
        name = targetName(item.name);
      } catch (err) {
        fail(where('name'), `${(err as Error).message}.`);
      }
    }
    const kind = targetKind(url);
    if (kind !== 'http') {
      const own = [...HTTP_ONLY_SETTINGS, ...REQUEST_KEYS].find((key) => item[key] !== undefined);
      if (own) fail(where(own), `cannot apply to a ${kind}:// target: a ${kind === 'tcp' ? 'TCP' : 'DNS'} check has no HTTP status or body.`);
    }
    if (url.protocol !== 'https:') {
      const own = HTTPS_ONLY_SETTINGS.find((key) => item[key] !== undefined);
      if (own) fail(where(own), 'applies to https:// targets only.');
    }
    const settings = applySettings(forTarget(defaults, url), item, (key, message) => fail(where(key), message), true, env);
    const request = kind === 'http' ? requestProblem(settings) : undefined;
    if (request) fail(where(request.key), `${request.message}.`);
    const first = seen.get(name);
    if (first !== undefined) fail(`${label}: `, `the name ${JSON.stringify(name)} is already used by targets[${first}]; give each target its own "name".`);
    seen.set(name, index);
    if (url.protocol === 'https:') {
      const other = origins.get(url.origin);
      if (other && !sameTrust(other.settings, settings)) {
        fail(`${label}: `, `targets on ${url.origin} share its connections, so they must have the same caFile and insecure; targets[${other.index}] has others.`);
      }
      if (!other) origins.set(url.origin, { index, settings });
    }
    return { ...normalise(settings), name, url, kind };
  });
}


function applySettings(
  base: TargetSettings,
  record: Record<string, unknown>,
  fail: (key: string, message: string) => never,
  isTarget: boolean,
  env: Env,
): TargetSettings {
  let out: TargetSettings = { ...base };
  for (const [key, value] of Object.entries(record)) {
    if (TARGET_ONLY.has(key)) {
      if (isTarget) continue;
      fail(key, `belongs to a target, not to "defaults".`);
    }
    const setter = SETTINGS[key];
    if (!setter) fail(key, `unknown key${suggest(key)}; known keys: ${[...(isTarget ? TARGET_ONLY : []), ...Object.keys(SETTINGS)].join(', ')}.`);
    if (value === null || value === undefined) fail(key, 'has no value.');
    try {
      out = { ...out, ...setter!(value, env) };
    } catch (err) {
      fail(key, `${(err as Error).message.replace(/\.$/, '')}.`);
    }
  }
  if (out.message.length === 0 || out.upMessage.length === 0) fail(out.message.length === 0 ? 'message' : 'upMessage', 'must not be empty.');
  const tooLong = messageProblem(out);
  if (tooLong) fail(tooLong.key, `longer than ${tooLong.max} characters: with what the agent adds to it, the mailer would refuse the alert (fields of at most ${FIELD_MAX}).`);
  return out;
}

/** A target's name: one line of printable text, at most 200 characters. */
export function targetName(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`expected a string, not ${describe(value)}`);
  const name = value.trim();
  if (name.length === 0) throw new Error('must not be empty');
  if (name.length > 200) throw new Error('longer than 200 characters');
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new Error('must not contain line breaks or control characters');
  return name;
}

function parseUrl(value: unknown, fail: (message: string) => never): URL {
  if (value === undefined) return fail('missing: every target needs a "url" (http://, https://, tcp://host:port or dns://name).');
  if (typeof value !== 'string') return fail(`expected a URL string, not ${describe(value)}.`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return fail(`${JSON.stringify(value.slice(0, 200))} is not a URL.`);
  }
  const problem = targetUrlProblem(url);
  if (problem) fail(`${problem}, not ${JSON.stringify(url.protocol === 'tcp:' ? value : value.slice(0, 200))}.`);
  return url;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function suggest(key: string): string {
  const lower = key.toLowerCase().replace(/[-_]/g, '');
  const match = [...TARGET_ONLY, ...Object.keys(SETTINGS)].find((k) => k.toLowerCase() === lower);
  return match ? ` (did you mean ${JSON.stringify(match)}?)` : '';
}

