/**
 * The values of a target's settings, one parser each, shared by the command
 * line (cli.ts, which gets text) and the config file (config-file.ts, which
 * gets JSON or YAML values), so both accept the same things: a duration is
 * "500ms", "2m" or a bare number of seconds (2, "2"); expectStatus is
 * "2xx,301", 200 or a list of them; a count is 3 or "3". Each throws an
 * Error with a one-line reason, without a trailing period.
 */
import { formatDurationFlag, parseDuration } from '../shared/duration.ts';
import { parseRecipient } from '../shared/address.ts';
import { FIELD_MAX } from '../shared/wire-json.ts';
import { parseExpectStatus, type StatusMatcher } from './expect-status.ts';

/** Largest CA file read. */
const CA_FILE_MAX_BYTES = 1024 * 1024;

export function durationValue(value: unknown, [min, max]: readonly [number, number]): number {
  const text = typeof value === 'number' && Number.isFinite(value) && value >= 0 ? String(value) : value;
  if (typeof text !== 'string') throw new Error(`expected a duration such as "500ms", "1s", "2m" or a number of seconds, not ${describe(value)}`);
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw new Error(`expected a duration such as "500ms", "1s", "2m" or a number of seconds, not ${describe(value)}`);
  }
  if (ms < min || ms > max) throw new Error(`expected a duration from ${formatDurationFlag(min)} to ${formatDurationFlag(max)}, not ${describe(value)}`);
  return ms;
}

/** A reminder period: a duration, or off/none/never/0 for none (0 ms). */
export function remindEveryValue(value: unknown, limits: readonly [number, number]): number {
  if (value === 0 || (typeof value === 'string' && ['off', 'none', 'never', '0'].includes(value.trim().toLowerCase()))) return 0;
  return durationValue(value, limits);
}

export function wholeValue(value: unknown, [min, max]: readonly [number, number]): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(`expected a whole number from ${min} to ${max}, not ${describe(value)}`);
  }
  return n;
}

/** "2xx,301", 200, or a list of such; returns the matcher and the spec as one comma-separated text. */
export function expectStatusValue(value: unknown): { expectStatus: StatusMatcher; expectStatusSpec: string } {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) throw new Error('expected a status, range or class, not an empty list');
  const parts = items.map((item) => {
    if (typeof item === 'number' && Number.isInteger(item)) return String(item);
    if (typeof item === 'string' && item.trim().length > 0) return item.trim();
    throw new Error(`expected a status (200), range (200-299) or class (2xx), or a list of them, not ${describe(item)}`);
  });
  const spec = parts.join(',');
  return { expectStatus: parseExpectStatus(spec), expectStatusSpec: spec };
}

/** Some text, at most `max` characters (the mailer's field limit by default). */
export function textValue(value: unknown, max = FIELD_MAX): string {
  if (typeof value !== 'string') throw new Error(`expected a string, not ${describe(value)}`);
  if (value.trim().length === 0) throw new Error('must not be empty');
  if (value.length > max) throw new Error(`longer than ${max} characters`);
  return value;
}

/** One address or several (a list, or a comma-separated text); duplicates dropped. */
export function recipientsValue(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s) : value;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`expected an e-mail address or a list of them, not ${describe(value)}`);
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string' || !parseRecipient(item.trim()).ok) throw new Error(`${describe(item)} is not an e-mail address`);
    if (!out.includes(item.trim())) out.push(item.trim());
  }
  return out;
}

/** true or false (a flag's text: "true", "false", "yes", "no", "1", "0"). */
export function booleanValue(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (text === 'true' || text === 'yes' || text === '1') return true;
  if (text === 'false' || text === 'no' || text === '0') return false;
  throw new Error(`expected true or false, not ${describe(value)}`);
}

/** A PEM file of one or more CA certificates, read now: its path and its text. */
export function caFileValue(value: unknown): { caFile: string; caPem: string } {
  const caFile = textValue(value).trim();
  const { readFileSync, statSync } = process.getBuiltinModule('node:fs');
  let caPem: string;
  try {
    if (statSync(caFile).size > CA_FILE_MAX_BYTES) throw new Error(`larger than ${CA_FILE_MAX_BYTES / 1024 / 1024} MiB`);
    caPem = readFileSync(caFile, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot read ${JSON.stringify(caFile)}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message}`);
  }
  const blocks = caPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${JSON.stringify(caFile)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  const { X509Certificate } = process.getBuiltinModule('node:crypto');
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      throw new Error(`certificate ${i + 1} of ${JSON.stringify(caFile)} is not a valid PEM certificate`);
    }
  }
  return { caFile, caPem };
}

/** A value as an error line shows it: short, quoted, one line. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return `${typeof value} ${String(value)}`;
}
