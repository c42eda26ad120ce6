/**
 * Command-line and environment configuration shared by both programs: value
 * parsers for commander options (each option is mirrored by an env var), and
 * the rule that a bad flag or value exits 2 with a one-line reason.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Env } from './legacy-links.ts';
import { makeScrubber } from './logger.ts';

/** Exit status for bad flags, env vars or config. */
export const EXIT_CONFIG = 2;

/** A configuration problem found after parsing (e.g. two values that conflict). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "1s", "1.5s", "2m", "24h", "7d"; a bare number means seconds. Returns ms. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new InvalidArgumentError('Expected a duration such as 500ms, 1s, 2m or 24h.');
  const ms = Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1000);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('Duration is too large.');
  return Math.round(ms);
}

export function durationArg(min: number, max: number): (text: string) => number {
  return (text) => {
    const ms = parseDuration(text);
    if (ms < min || ms > max) {
      throw new InvalidArgumentError(`Expected a duration from ${formatDuration(min)} to ${formatDuration(max)}.`);
    }
    return ms;
  };
}

export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms >= 86_400_000) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function integerArg(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text.trim());
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    }
    return value;
  };
}

export const portArg = integerArg(1, 65535);

export function choiceArg<T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    const value = text.trim() as T;
    if (!choices.includes(value)) throw new InvalidArgumentError(`Expected one of: ${choices.join(', ')}.`);
    return value;
  };
}

/** An e-mail address: something@something, no white space or line breaks. */
export function isEmailAddress(text: string): boolean {
  return /^[^\s@<>",;]+@[^\s@<>",;]+$/.test(text);
}

export function emailArg(text: string): string {
  const value = text.trim();
  if (!isEmailAddress(value)) throw new InvalidArgumentError('Expected an e-mail address such as admin@work.');
  return value;
}

/** A comma-separated list of e-mail addresses (and `*@domain` wildcards where allowed). */
export function emailListArg(allowWildcard: boolean): (text: string) => string[] {
  return (text) => {
    const items = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (items.length === 0) throw new InvalidArgumentError('Expected at least one e-mail address.');
    for (const item of items) {
      const address = allowWildcard && item.startsWith('*@') ? `x${item.slice(1)}` : item;
      if (!isEmailAddress(address)) {
        throw new InvalidArgumentError(`"${item}" is not an e-mail address${allowWildcard ? ' or *@domain' : ''}.`);
      }
    }
    return items;
  };
}

/** A URL whose scheme is one of `protocols` (e.g. ["http:", "https:"]). */
export function urlArg(protocols: readonly string[]): (text: string) => URL {
  return (text) => {
    let url: URL;
    try {
      url = new URL(text.trim());
    } catch {
      throw new InvalidArgumentError(`Expected a URL (${protocols.map((p) => `${p}//…`).join(' or ')}).`);
    }
    if (!protocols.includes(url.protocol)) {
      throw new InvalidArgumentError(`Expected a URL starting ${protocols.map((p) => `${p}//`).join(' or ')}.`);
    }
    if (!url.hostname) throw new InvalidArgumentError('The URL has no host.');
    return url;
  };
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/** A boolean env var: 1/true/yes/on or 0/false/no/off; anything else is a ConfigError. */
export function envBoolean(env: Env, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const value = raw.trim().toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new ConfigError(`env '${name}' must be true or false, not '${raw}'.`);
}

/**
 * A commander parser for a repeatable option whose every value (and env var)
 * may also be a list: each item parsed with `parse`, a repeated item refused
 * with `twice(item)` (an Error to throw).
 */
export function listArg<T>(
  parse: (text: string) => T,
  options: { separator: RegExp; key: (item: T) => string; twice: (item: T) => Error },
): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => {
    const items = [...(previous ?? [])];
    for (const text of value.split(options.separator).map((s) => s.trim()).filter((s) => s.length > 0)) {
      const item = parse(text);
      if (items.some((i) => options.key(i) === options.key(item))) throw options.twice(item);
      items.push(item);
    }
    return items;
  };
}

/** An option mirrored by an env var; the env var is listed in --help. */
export function envOption<T>(flags: string, description: string, env: string, parse?: (text: string) => T): Option {
  const option = new Option(flags, description).env(env);
  if (parse) option.argParser((value: string) => parse(value));
  return option;
}

export const LOG_FORMATS = ['plain', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The logging options both programs share. */
export function addLogOptions(program: Command): Command {
  return program
    .addOption(
      envOption('--log-format <format>', 'plain: the book\'s lines; json: pino JSON lines', 'LOG_FORMAT', choiceArg(LOG_FORMATS)).default('plain'),
    )
    .addOption(envOption('--log-level <level>', 'debug, info, warn or error', 'LOG_LEVEL', choiceArg(LOG_LEVELS)).default('info'));
}

/**
 * Parse argv with commander so that help and --version exit 0 and every
 * error (unknown flag, bad value, bad env var) prints one line and exits 2.
 */
export function parseOrExit<T>(program: Command, argv: readonly string[], build: (opts: Record<string, unknown>) => T): T {
  program.exitOverride();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text), outputError: () => {} });
  try {
    program.parse(argv as string[], { from: 'user' });
    return build(program.opts());
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) {
        process.exit(0);
      }
      return exitConfig(program.name(), err.message);
    }
    if (err instanceof ConfigError || err instanceof InvalidArgumentError) {
      return exitConfig(program.name(), err.message);
    }
    throw err;
  }
}

export function exitConfig(name: string, message: string): never {
  // commander echoes the bad value: a URL's password must not reach the terminal or a log.
  const line = makeScrubber()(message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim());
  process.stderr.write(`${name}: ${line}\n`);
  process.exit(EXIT_CONFIG);
}
