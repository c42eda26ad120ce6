/**
 * Channel modules: your own channel kind as an ES module file, without a
 * rebuild of the image (the contract: types/ch2-channel.d.ts; an example:
 * examples/channels/pager.mjs).
 *
 * - `--channel-module <file>` (repeatable; CHANNEL_MODULES a comma-separated
 *   list) imports each file at start; its default export must be a plain
 *   object { kind, create, secrets?, concurrency? }, the kind a new name.
 * - A module's settings: env vars CH2_<KIND>_<KEY> (KIND upper case with
 *   `-` as `_`; KEY becomes the lower-case key), then `--channel-setting
 *   <kind>.<key>=<value>` (repeatable; it wins), or a `--config` entry's keys.
 * - `--module-timeout` bounds a module's import, its create and each send.
 *
 * Every problem at start (a file missing or not .mjs/.js, an import that
 * throws or hangs, a bad export, two modules of one kind, a setting for no
 * module's kind, a create that throws) is a ConfigError with one line naming
 * the file, and the mailer exits 2: loadChannelModules finds all but the
 * last, moduleChannelsReady the last, once the channels are created.
 * Setting values are never shown.
 *
 * A module is trusted code: imported into the mailer's process, it has the
 * mailer's privileges (process.env with its secrets, the store, the network).
 * What it is handed holds only its own settings (above), never the mailer's;
 * the isolated way is the exec channel (channels/exec.ts).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError, Option } from 'commander';
import { ConfigError, durationArg, envOption, listArg } from '../../shared/config.ts';
import { formatDurationFlag } from '../../shared/duration.ts';
import { flatten } from '../../shared/text.ts';
import type { ChannelModule } from '../../types/ch2-channel.d.ts';
import type { Channel, ChannelKind } from './channels/channel.ts';
import { createModuleChannel, type LoadedModule, moduleChannelFailure, thrownText } from './channels/module-channel.ts';
import { CHANNEL_KINDS } from './channels/registry.ts';

/** A module channel's settings: string values by lower-case key. */
export type ModuleSettings = Readonly<Record<string, string>>;

export const DEFAULT_MODULE_TIMEOUT_MS = 10_000;
const KIND = /^[a-z][a-z0-9-]*$/;
const KEY = /^[a-z][a-z0-9_]*$/;
const EXPORT_KEYS = ['kind', 'create', 'secrets', 'concurrency'];
/** Kinds a module may not take besides the registry's (exec may be registered after this file is written). */
const RESERVED = ['exec', 'module'];

const moduleFiles = listArg((text: string) => resolve(text.trim()), {
  separator: /,/,
  key: (file) => file,
  twice: (file) => new InvalidArgumentError(`${file} is given twice.`),
});

export function channelModuleOptions(): Option[] {
  return [
    envOption('--channel-module <file.mjs>', 'load a channel kind from this ES module file (repeatable, or a comma-separated list)', 'CHANNEL_MODULES').argParser(moduleFiles),
    new Option('--channel-setting <kind.key=value>', 'a setting of a --channel-module kind (repeatable; or env CH2_<KIND>_<KEY>)').argParser((value: string, previous: string[] | undefined) => [
      ...(previous ?? []),
      value,
    ]),
    envOption('--module-timeout <duration>', "time a channel module's import, create and each send may take", 'MODULE_TIMEOUT', durationArg(100, 120_000)).default(
      DEFAULT_MODULE_TIMEOUT_MS,
      formatDurationFlag(DEFAULT_MODULE_TIMEOUT_MS),
    ),
  ];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

const typeName = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object that is not a plain {…}' : `a ${typeof value}`);

/** Import a module file and check its default export; every failure one line naming the file. */
async function loadModule(file: string, timeoutMs: number): Promise<LoadedModule> {
  const path = resolve(file);
  const where = `--channel-module ${path}`;
  if (!/\.m?js$/.test(path)) throw new ConfigError(`${where}: expected an ES module file ending .mjs or .js.`);
  try {
    if (!statSync(path).isFile()) throw new ConfigError(`${where}: is not a file.`);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`${where}: ${code === 'ENOENT' ? 'does not exist (mount it, or give its full path)' : `cannot read it: ${code ?? thrownText(err)}`}.`);
  }
  let namespace: Record<string, unknown>;
  let timer: NodeJS.Timeout | undefined;
  try {
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConfigError(`${where}: did not finish loading within ${formatDurationFlag(timeoutMs)}.`)), timeoutMs);
    });
    namespace = (await Promise.race([import(pathToFileURL(path).href) as Promise<Record<string, unknown>>, hung])) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${where}: cannot load it: ${thrownText(err)}`);
  } finally {
    clearTimeout(timer);
  }
  const exported = namespace.default;
  if (!isPlainObject(exported)) throw new ConfigError(`${where}: its default export must be a plain object { kind, create, secrets? } (it is ${typeName(exported)}).`);
  const unknown = Object.keys(exported).find((k) => !EXPORT_KEYS.includes(k));
  if (unknown !== undefined) throw new ConfigError(`${where}: unknown key '${flatten(unknown, 40)}' in its default export (known: ${EXPORT_KEYS.join(', ')}).`);
  const { kind, create, secrets, concurrency } = exported;
  if (typeof kind !== 'string' || !KIND.test(kind)) {
    throw new ConfigError(`${where}: kind must be a name of a-z, 0-9 and -, starting with a letter (it is ${typeof kind === 'string' ? JSON.stringify(flatten(kind, 40)) : typeName(kind)}).`);
  }
  if (CHANNEL_KINDS.some((k) => k.kind === kind) || RESERVED.includes(kind)) throw new ConfigError(`${where}: kind '${kind}' is a built-in channel kind; choose another name.`);
  if (typeof create !== 'function') throw new ConfigError(`${where}: create must be a function (it is ${typeName(create)}).`);
  if (secrets !== undefined && (!Array.isArray(secrets) || !secrets.every((s) => typeof s === 'string' && KEY.test(s)))) {
    throw new ConfigError(`${where}: secrets must be a list of setting names (lower case a-z, 0-9, _).`);
  }
  if (concurrency !== undefined && (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)) {
    throw new ConfigError(`${where}: concurrency must be a whole number from 1 to 64.`);
  }
  return { file: path, module: exported as unknown as ChannelModule };
}

const envPrefix = (kind: string): string => `CH2_${kind.toUpperCase().replace(/-/g, '_')}_`;

/** Each module kind's settings from env vars, then the --channel-setting flags (which win). */
function moduleSettings(kinds: readonly string[], settingArgs: readonly string[], env: NodeJS.ProcessEnv): Map<string, Record<string, string>> {
  const out = new Map(kinds.map((k) => [k, {} as Record<string, string>]));
  // The longest prefix decides: with kinds a and a-b, CH2_A_B_URL is a-b's url.
  const byPrefix = [...kinds].sort((a, b) => b.length - a.length).map((k) => [envPrefix(k), k] as const);
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue; // empty means unset
    const hit = byPrefix.find(([prefix]) => name.startsWith(prefix));
    if (!hit) continue;
    const key = name.slice(hit[0].length).toLowerCase();
    if (!KEY.test(key)) throw new ConfigError(`env '${flatten(name, 80)}': the setting name after ${hit[0]} must start with a letter (A-Z, 0-9, _).`);
    out.get(hit[1])![key] = value;
  }
  settingArgs.forEach((arg, i) => {
    const m = /^([a-z][a-z0-9-]*)\.([A-Za-z][A-Za-z0-9_-]*)=(.*)$/s.exec(arg.replace(/^\s+/, ''));
    if (!m) throw new ConfigError(`--channel-setting (number ${i + 1}): expected <kind>.<key>=<value>, e.g. pager.url=https://… (the value is not shown).`);
    const [, kind, rawKey, value] = m as unknown as [string, string, string, string];
    const key = rawKey.toLowerCase().replace(/-/g, '_');
    const settings = out.get(kind);
    if (!settings) {
      throw new ConfigError(`--channel-setting ${kind}.${key}: no --channel-module has the kind '${kind}'${kinds.length ? ` (loaded: ${kinds.join(', ')})` : ' (none is loaded)'}.`);
    }
    settings[key] = value;
  });
  return out;
}

/** A config file entry's keys as settings: strings, numbers and booleans, stringified. */
function configSettings(entry: Readonly<Record<string, unknown>>): ModuleSettings {
  const settings: Record<string, string> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (!KEY.test(key)) throw new ConfigError(`${flatten(key, 40)}: a setting name is lower case a-z, 0-9 and _, starting with a letter.`);
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) settings[key] = String(value);
    else throw new ConfigError(`${key}: expected a string, a number or true/false (the value is not shown).`);
  }
  return settings;
}

function moduleKind(loaded: LoadedModule, timeoutMs: number): ChannelKind<ModuleSettings> {
  const secretKeys = loaded.module.secrets ?? [];
  return {
    kind: loaded.module.kind,
    groups: false,
    fromConfig: configSettings,
    secrets: (settings) => secretKeys.map((k) => settings[k]).filter((v): v is string => v !== undefined && v !== ''),
    create: (settings, ctx) => createModuleChannel(loaded, settings, ctx, timeoutMs),
  };
}

/**
 * Loads every module file in turn (each import bounded by timeoutMs) and
 * returns its kind with the settings env vars and flags give it. The kinds
 * also serve `--config` entries of their names. Throws a ConfigError (one
 * line naming the file or the setting) on the first problem.
 */
export async function loadChannelModules(
  files: readonly string[],
  settingArgs: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ kind: ChannelKind<ModuleSettings>; settings: ModuleSettings }[]> {
  const loaded: LoadedModule[] = [];
  for (const file of files) {
    const m = await loadModule(file, timeoutMs);
    const twin = loaded.find((l) => l.module.kind === m.module.kind);
    if (twin) throw new ConfigError(`--channel-module ${m.file}: kind '${m.module.kind}' is also the kind of ${twin.file === m.file ? 'another entry of the same file' : twin.file}.`);
    loaded.push(m);
  }
  const settings = moduleSettings(loaded.map((l) => l.module.kind), settingArgs, env);
  return loaded.map((l) => ({ kind: moduleKind(l, timeoutMs), settings: Object.freeze({ ...settings.get(l.module.kind)! }) }));
}

/**
 * At start, once the channels are created: waits for every module channel's
 * create (each bounded by --module-timeout) and throws a ConfigError with one
 * line (`channel pager (module /etc/ch2/pager.mjs): its create failed: …`)
 * for the first that failed. Channels of other kinds are passed over.
 */
export async function moduleChannelsReady(channels: readonly Channel[]): Promise<void> {
  const failure = await moduleChannelFailure(channels);
  if (failure !== undefined) throw new ConfigError(failure);
}
