/**
 * Command-line and environment configuration shared by both programs: value
 * parsers for commander options (each option is mirrored by an env var), and
 * the rule that a bad flag or value exits 2 with a one-line reason (never
 * quoting a secret), and that an empty env var means unset.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseDomain, parseRecipient } from './address.ts';
import { formatDurationFlag, parseDuration } from './duration.ts';
import type { Env } from './legacy-links.ts';
import { LOG_FORMATS, type LogFormat, LOG_LEVELS, type LogLevel, makeScrubber } from './logger.ts';
import { ConfigError } from './config-error.ts';
import { isSecret, markSecret, readSecretFiles } from './secret-files.ts';
import { flatten } from './text.ts';

export type { LogFormat, LogLevel } from './logger.ts';

/** Exit status for bad flags, env vars or config. */
export const EXIT_CONFIG = 2;

/** A configuration problem found after parsing (e.g. two values that conflict). */
export { ConfigError };

/** A duration within [min, max] ms, as a flag, an env var or a config file gives it ("500ms", "2m"; a bare number is seconds). Throws a one-line Error. */
export function durationInRange(text: string, min: number, max: number): number {
  const ms = parseDuration(text);
  if (ms < min || ms > max) throw new RangeError(`Expected a duration from ${formatDurationFlag(min)} to ${formatDurationFlag(max)}.`);
  return ms;
}

export function durationArg(min: number, max: number): (text: string) => number {
  return (text) => {
    try {
      return durationInRange(text, min, max);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
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

/** A port to listen on: 0 asks the system for a free one (the program logs the one it got). */
export const portArg = integerArg(0, 65535);

export function choiceArg<T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    const value = text.trim() as T;
    if (!choices.includes(value)) throw new InvalidArgumentError(`Expected one of: ${choices.join(', ')}.`);
    return value;
  };
}

/**
 * A comma-separated list of recipients, each one bare address (shared/address.ts),
 * and `*@domain` wildcards where allowed. A repeated entry is kept once.
 */
export function emailListArg(allowWildcard: boolean): (text: string) => string[] {
  return (text) => {
    const items = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (items.length === 0) throw new InvalidArgumentError('Expected at least one e-mail address.');
    for (const item of items) {
      const parsed = allowWildcard && item.startsWith('*@') ? parseDomain(item.slice(2)) : parseRecipient(item);
      if (!parsed.ok) {
        throw new InvalidArgumentError(`${JSON.stringify(flatten(item, 120))} is not an e-mail address${allowWildcard ? ' or *@domain' : ''}: ${parsed.error}.`);
      }
    }
    return [...new Set(items)];
  };
}

/** One e-mail address (no list, no display name), read by the shared address parser. */
export function emailArg(text: string): string {
  const value = text.trim();
  // `*` is a letter of a local part to the parser; here it would read as a whole domain.
  const parsed = value.startsWith('*@') ? { ok: false as const, error: 'a *@domain is not one address' } : parseRecipient(value);
  if (!parsed.ok) throw new InvalidArgumentError(`${JSON.stringify(flatten(value, 120))} is not an e-mail address: ${parsed.error}.`);
  return value;
}

/** The sender of alert e-mails: an address, or "Name <address>"; one line. */
export function fromArg(text: string): string {
  const value = text.trim();
  const address = /<([^<>]+)>\s*$/.exec(value)?.[1] ?? value;
  if (/[\r\n]/.test(value) || !parseRecipient(address).ok) {
    throw new InvalidArgumentError('Expected an address such as alerts@example.com or "ch2 <alerts@example.com>".');
  }
  return value;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** A boolean env var: 1/true/yes/on or 0/false/no/off; unset or empty: undefined; anything else is a ConfigError. */
export function envBoolean(env: Env, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
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

/**
 * An option that carries a secret (a token, a password), mirrored by an env
 * var. A bad value is refused without echoing it: `check` throws an Error
 * whose message says what is expected, and the line names the flag and the
 * env var, never the value (commander's own message would quote it). Its
 * env var X also takes X_FILE (shared/secret-files.ts).
 */
export function secretOption<T>(flags: string, description: string, env: string, check: (text: string) => T): Option {
  const option = new Option(flags, description).env(env);
  const name = flags.split(/[ ,]/)[0];
  option.argParser((value: string) => {
    try {
      return check(value);
    } catch (err) {
      throw new ConfigError(`${name} (${env}): ${(err as Error).message.replace(/\.$/, '')} (value not shown).`);
    }
  });
  return markSecret(option);
}

/**
 * An empty env var means unset (as for most programs): each option's env var
 * that is set to "" is removed from process.env, which commander reads, so
 * the option keeps its default. Returns the secret values given on the
 * command line or in the env, for scrubbing.
 */
function prepareEnv(program: Command, argv: readonly string[]): string[] {
  const secrets: string[] = [];
  for (const option of program.options) {
    if (option.envVar !== undefined && process.env[option.envVar] === '') delete process.env[option.envVar];
    if (!isSecret(option)) continue;
    if (option.envVar !== undefined && process.env[option.envVar]) secrets.push(process.env[option.envVar]!);
    argv.forEach((arg, i) => {
      if (arg === option.long && argv[i + 1] !== undefined) secrets.push(argv[i + 1]!);
      else if (option.long && arg.startsWith(`${option.long}=`)) secrets.push(arg.slice(option.long.length + 1));
    });
  }
  return secrets.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Every occurrence of a secret value replaced, however short (a rejected token may be one character). */
function withoutSecrets(text: string, secrets: readonly string[]): string {
  let out = makeScrubber()(text);
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join('[redacted]');
  return out;
}

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
 * error (unknown flag, bad value, bad env var, a secret's X_FILE that cannot
 * be used) prints one line and exits 2. `build` gets the secret values read
 * from X_FILE files, for the program's scrubbing.
 */
export function parseOrExit<T>(program: Command, argv: readonly string[], build: (opts: Record<string, unknown>, fileSecrets: readonly string[]) => T): T {
  const secrets = prepareEnv(program, argv);
  program.exitOverride();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text), outputError: () => {} });
  let files: { values: readonly string[]; restore: () => void } = { values: [], restore: () => {} };
  try {
    files = readSecretFiles(program.options);
    secrets.push(...files.values);
    program.parse(argv as string[], { from: 'user' });
    return build(program.opts(), files.values);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) {
        process.exit(0);
      }
      return exitConfig(program.name(), withoutSecrets(err.message, secrets));
    }
    if (err instanceof ConfigError || err instanceof InvalidArgumentError) {
      return exitConfig(program.name(), withoutSecrets(err.message, secrets));
    }
    throw err;
  } finally {
    files.restore();
  }
}

export function exitConfig(name: string, message: string): never {
  // commander echoes the bad value: a URL's password must not reach the terminal or a log.
  const line = makeScrubber()(flatten(message.replace(/^error: /, '')));
  process.stderr.write(`${name}: ${line}\n`);
  process.exit(EXIT_CONFIG);
}
