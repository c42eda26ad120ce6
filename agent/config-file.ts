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
 * upMessage. Durations are strings with a unit ("500ms", "1s", "2m");
 * remindEvery also takes "off". Settings come from, last wins: the built-in
 * defaults, the flags, the file's `defaults`, the target's own keys.
 *
 * Any problem (unknown key, bad value, duplicate name, unreadable file) is a
 * ConfigError whose one-line message names the file, the target and the key.
 */
import { readFile } from 'node:fs/promises';
import { parseRecipient } from '../shared/address.ts';
import { ConfigError, formatDuration, parseDuration } from '../shared/config.ts';
import { parseExpectStatus } from './checks/expect-status.ts';
import { LIMITS, nameFromUrlText, normalise, type TargetSettings, type TargetSpec, targetKind, targetUrlProblem } from './target.ts';

/** Most targets one file may list. */
export const MAX_TARGETS = 100_000;
/** Largest config file read. */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

type Setter = (value: unknown) => Partial<TargetSettings>;

const SETTINGS: Record<string, Setter> = {
  interval: (v) => ({ intervalMs: duration(v, LIMITS.intervalMs) }),
  timeout: (v) => ({ timeoutMs: duration(v, LIMITS.timeoutMs) }),
  connectTimeout: (v) => ({ connectTimeoutMs: duration(v, LIMITS.connectTimeoutMs) }),
  expectStatus: (v) => {
    const spec = typeof v === 'number' && Number.isInteger(v) ? String(v) : text(v);
    try {
      return { expectStatus: parseExpectStatus(spec), expectStatusSpec: spec.trim() };
    } catch (err) {
      throw new Error((err as Error).message);
    }
  },
  bodyContains: (v) => ({ bodyContains: text(v) }),
  bodyNotContains: (v) => ({ bodyNotContains: text(v) }),
  maxResponseTime: (v) => ({ maxResponseTimeMs: duration(v, LIMITS.maxResponseTimeMs) }),
  failureThreshold: (v) => ({ failureThreshold: whole(v, LIMITS.threshold) }),
  successThreshold: (v) => ({ successThreshold: whole(v, LIMITS.threshold) }),
  remindEvery: (v) => ({ remindEveryMs: typeof v === 'string' && isOff(v) ? 0 : duration(v, LIMITS.remindEveryMs) }),
  maxReminders: (v) => ({ maxReminders: whole(v, LIMITS.maxReminders) }),
  to: (v) => ({ to: recipients(v) }),
  message: (v) => ({ message: text(v).trim() }),
  upMessage: (v) => ({ upMessage: text(v).trim() }),
};

const TARGET_ONLY = new Set(['name', 'url']);
const TOP_KEYS = new Set(['defaults', 'targets']);

/** Read and check a config file; `base` holds the settings the flags gave. */
export async function loadConfigFile(path: string, base: TargetSettings): Promise<TargetSpec[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new ConfigError(`config file ${path}: cannot read it (${why}).`);
  }
  if (bytes.length > MAX_FILE_BYTES) throw new ConfigError(`config file ${path}: larger than ${MAX_FILE_BYTES} bytes.`);
  const data = await parseDocument(path, bytes.toString('utf8'));
  return targetsFromDocument(path, data, base);
}

/** JSON for .json files and text that starts with "{"; YAML otherwise. */
export async function parseDocument(path: string, text: string): Promise<unknown> {
  const body = text.replace(/^\uFEFF/, '');
  const asJson = /\.json$/i.test(path) || (!/\.ya?ml$/i.test(path) && body.trimStart().startsWith('{'));
  if (asJson) {
    try {
      return JSON.parse(body);
    } catch (err) {
      throw new ConfigError(`config file ${path}: not valid JSON: ${oneLine((err as Error).message)}.`);
    }
  }
  const { parse } = await import('yaml');
  try {
    return parse(body, { uniqueKeys: true, prettyErrors: true, maxAliasCount: 1000 });
  } catch (err) {
    // yaml's pretty message: "<what> at line 3, column 5:" and then the lines around it.
    const first = ((err as Error).message.split('\n')[0] ?? '').replace(/[:.]\s*$/, '');
    throw new ConfigError(`config file ${path}: not valid YAML: ${oneLine(first)}.`);
  }
}

/** The targets a parsed document describes. */
export function targetsFromDocument(path: string, data: unknown, base: TargetSettings): TargetSpec[] {
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
    defaults = applySettings(base, data.defaults as Record<string, unknown>, (key, message) => fail(`defaults: "${key}": `, message), false);
  }
  const list = data.targets;
  if (!Array.isArray(list)) return fail('"targets": ', list === undefined ? 'missing: list the targets to watch.' : `expected a list, not ${describe(list)}.`);
  if (list.length === 0) fail('"targets": ', 'the list is empty.');
  if (list.length > MAX_TARGETS) fail('"targets": ', `more than ${MAX_TARGETS} targets.`);
  const seen = new Map<string, number>();
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
    const settings = applySettings(defaults, item, (key, message) => fail(where(key), message), true);
    const first = seen.get(name);
    if (first !== undefined) fail(`${label}: `, `the name ${JSON.stringify(name)} is already used by targets[${first}]; give each target its own "name".`);
    seen.set(name, index);
    return { ...normalise(settings), name, url, kind: targetKind(url) };
  });
}

function applySettings(
  base: TargetSettings,
  record: Record<string, unknown>,
  fail: (key: string, message: string) => never,
  isTarget: boolean,
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
      out = { ...out, ...setter!(value) };
    } catch (err) {
      fail(key, `${(err as Error).message.replace(/\.$/, '')}.`);
    }
  }
  if (out.message.length === 0 || out.upMessage.length === 0) fail(out.message.length === 0 ? 'message' : 'upMessage', 'must not be empty.');
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
  if (value === undefined) return fail('missing: every target needs a "url" (http://, https:// or tcp://host:port).');
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

function duration(value: unknown, [min, max]: readonly [number, number]): number {
  if (typeof value !== 'string' || /^\s*\d+(\.\d+)?\s*$/.test(value)) {
    throw new Error(`expected a duration with its unit, such as "500ms", "1s" or "2m", not ${describe(value)}`);
  }
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new Error(`expected a duration such as "500ms", "1s" or "2m", not ${JSON.stringify(value)}`);
  }
  if (ms < min || ms > max) throw new Error(`expected a duration from ${formatDuration(min)} to ${formatDuration(max)}, not ${JSON.stringify(value)}`);
  return ms;
}

function whole(value: unknown, [min, max]: readonly [number, number]): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`expected a whole number from ${min} to ${max}, not ${describe(value)}`);
  }
  return value;
}

function text(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`expected a string, not ${describe(value)}`);
  if (value.trim().length === 0) throw new Error('must not be empty');
  if (value.length > 4096) throw new Error('longer than 4096 characters');
  return value;
}

function recipients(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s) : value;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`expected an e-mail address or a list of them, not ${describe(value)}`);
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string' || !parseRecipient(item.trim()).ok) throw new Error(`${describe(item)} is not an e-mail address`);
    if (!out.includes(item.trim())) out.push(item.trim());
  }
  return out;
}

function isOff(value: string): boolean {
  return ['off', 'none', 'never', '0'].includes(value.trim().toLowerCase());
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return `${typeof value} ${String(value)}`;
}

function suggest(key: string): string {
  const lower = key.toLowerCase().replace(/[-_]/g, '');
  const match = [...TARGET_ONLY, ...Object.keys(SETTINGS)].find((k) => k.toLowerCase() === lower);
  return match ? ` (did you mean ${JSON.stringify(match)}?)` : '';
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
