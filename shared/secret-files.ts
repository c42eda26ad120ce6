/**
 * `X_FILE` for every secret option, the rule of the official images
 * (postgres's POSTGRES_PASSWORD_FILE): an option marked secret whose env var
 * is X also takes X_FILE, the path of a file that holds the value (a Docker
 * or Kubernetes secret mounted under /run/secrets/). X and X_FILE both set is
 * an error; otherwise the file's content, its trailing line breaks trimmed, is
 * the value, as if X held it. The value is put in X for commander's parse
 * only, then taken out again, so programs the mailer starts (exec channels)
 * never inherit it. An unreadable, empty or oversized file is an error naming
 * the file and the variable, never the content; a value from a file that its
 * option refuses names the file too. A new secret option gets all of this by
 * being marked: markSecret(option), or shared/config.ts's secretOption.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InvalidArgumentError, type Option } from 'commander';
import { ConfigError } from './config-error.ts';
import { flatten } from './text.ts';

export const FILE_SUFFIX = '_FILE';
/** A secret is a token, a password or a URL: a bigger file is the wrong file (or /dev/zero). */
export const SECRET_FILE_MAX_BYTES = 64 * 1024;

const SECRET = new WeakSet<Option>();
/** The values read from files in this run, by the env var they stand for. */
const readFromFiles = new Map<string, { path: string; value: string }>();

/** Whether the option was marked as carrying a secret. */
export function isSecret(option: Option): boolean {
  return SECRET.has(option);
}

/**
 * Marks an option (with its env var and parser already set) as carrying a
 * secret: its values are kept out of error lines (shared/config.ts), its env
 * var X also takes X_FILE, and --help says so.
 */
export function markSecret(option: Option): Option {
  SECRET.add(option);
  const name = option.envVar;
  if (name === undefined) return option;
  option.description = `${option.description} (or ${name}${FILE_SUFFIX}: a file holding it)`;
  const parse = option.parseArg as ((value: string, previous: unknown) => unknown) | undefined;
  option.argParser((value: string, previous: unknown) => {
    try {
      return parse ? parse(value, previous) : value;
    } catch (err) {
      const file = readFromFiles.get(name);
      if (file === undefined || file.value !== value) throw err;
      const where = `${name}${FILE_SUFFIX} (${flatten(file.path, 200)})`;
      // commander would quote the refused value in its own line: name the file instead.
      if (err instanceof InvalidArgumentError) throw new ConfigError(`${where}: ${(err as Error).message.replace(/\.$/, '')} (value not shown).`);
      throw new ConfigError(`${(err as Error).message.replace(/\.$/, '')}; it came from ${where}.`);
    }
  });
  return option;
}

/**
 * The value of `variable` (e.g. MAILER_TOKEN_FILE, standing for `name`) read
 * from the file at `path`: its trailing line breaks trimmed. Throws a
 * ConfigError naming both when it cannot be read, is a folder, is empty or is
 * over SECRET_FILE_MAX_BYTES.
 */
export function readSecretFile(variable: string, path: string, name: string): string {
  const where = `${variable}: ${flatten(path, 200)}`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ConfigError(`${where} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it should be a file holding ${name}'s value.`);
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new ConfigError(`${where} is a folder; it should be a file holding ${name}'s value.`);
    const buffer = Buffer.alloc(SECRET_FILE_MAX_BYTES + 1);
    let size = 0;
    for (let n = -1; n !== 0 && size < buffer.length; size += n) n = readSync(fd, buffer, size, buffer.length - size, null);
    if (size > SECRET_FILE_MAX_BYTES) throw new ConfigError(`${where} is larger than ${SECRET_FILE_MAX_BYTES / 1024} KiB; it should hold only ${name}'s value.`);
    const value = buffer.toString('utf8', 0, size).replace(/[\r\n]+$/, '');
    if (value.trim() === '') throw new ConfigError(`${where} is empty; it should hold ${name}'s value.`);
    return value;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${where} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it should be a file holding ${name}'s value.`);
  } finally {
    closeSync(fd);
  }
}

export interface SecretFiles {
  /** The values read, for the scrubbing of every printed line. */
  values: string[];
  /** Takes the values out of the environment again. */
  restore: () => void;
}

/**
 * For each secret option's env var X with X_FILE set (not empty), X's value
 * from that file, put in `env` until restore(). Throws a ConfigError when X
 * is also set or the file cannot be used. An empty X or X_FILE means unset.
 */
export function readSecretFiles(options: readonly Option[], env: NodeJS.ProcessEnv = process.env): SecretFiles {
  const put: string[] = [];
  const values: string[] = [];
  const restore = (): void => {
    for (const name of put) delete env[name];
  };
  try {
    for (const option of options) {
      const name = option.envVar;
      if (!SECRET.has(option) || name === undefined) continue;
      const variable = `${name}${FILE_SUFFIX}`;
      const path = env[variable];
      if (path === undefined || path === '') continue;
      if (env[name] !== undefined && env[name] !== '') throw new ConfigError(`${name} and ${variable} are both set: give one (${variable} names a file holding the value).`);
      const value = readSecretFile(variable, path, name);
      readFromFiles.set(name, { path, value });
      env[name] = value;
      put.push(name);
      values.push(value);
    }
  } catch (err) {
    restore();
    throw err;
  }
  return { values, restore };
}
