/**
 * Reading one `--config` channel entry, once for every kind: the keys of its
 * entry besides kind, name, match and group (channel-config.ts takes those
 * off), as channel.ts's fromConfig gets them. A kind names the keys it reads,
 * and configEntry refuses any other with the same line channel-setup.ts gives
 * for a kind that declares configKeys; then text, yes/no, list, base URL and
 * `api` readers. An absent key is undefined or null (YAML's `key:` with no
 * value). Every error is a ConfigError of one line, `<key>: <problem>.`,
 * naming the key (the caller adds the file and the channel) and never the
 * value (it may be a token).
 */
import { ConfigError } from '../../../shared/config.ts';
import { flatten } from '../../../shared/text.ts';
import { apiBase } from './notify-url.ts';

/** The keys every entry has besides its kind's own (read by channel-config.ts). */
const ENTRY_KEYS = ['name', 'kind', 'match', 'group'];

export interface ConfigEntrySpec {
  /** The kind's name, as in `kind: gotify`. */
  kind: string;
  /** The keys the kind reads; any other is refused. */
  keys: readonly string[];
  /** Keys whose value may be a number too (priority: 5); text() gives it as text. */
  numbers?: readonly string[];
}

export interface ConfigEntry {
  /** A ConfigError naming the key: `<key>: <problem>.` */
  fail(key: string, problem: string): ConfigError;
  /** A string (or a number, for a key of `numbers`, as text); undefined when absent; else `<key>: <expected>.` */
  text(key: string, expected?: string): string | undefined;
  /** text(), and `<key>: <missing>.` when absent. */
  requiredText(key: string, missing: string, expected?: string): string;
  /** true or false; `fallback` when absent. */
  flag(key: string, fallback: boolean): boolean;
  /** A list of strings, or one comma-separated string, split; undefined when absent; else `<key>: <problem>.` */
  list(key: string, problem: string): string[] | undefined;
  /** list(), and the same problem when absent. */
  requiredList(key: string, problem: string): string[];
  /**
   * `value` as the base URL of a server: http(s), no user, query or fragment
   * (`hint` says where those go instead); origin and path, as given.
   */
  baseUrl(key: string, value: string, hint?: string): string;
  /** The `api` key, checked as notify-url.ts checks the `api` parameter (no trailing slash), else `fallback`. */
  api(fallback: string): string;
}

/** The entry's readers; refuses a key outside `spec.keys` at once. */
export function configEntry(entry: Readonly<Record<string, unknown>>, spec: ConfigEntrySpec): ConfigEntry {
  const fail = (key: string, problem: string) => new ConfigError(`${key}: ${problem}.`);
  for (const key of Object.keys(entry)) {
    if (!spec.keys.includes(key)) throw fail(flatten(key, 40), `unknown key for kind ${spec.kind}; known: ${[...ENTRY_KEYS, ...spec.keys].join(', ')}`);
  }
  const absent = (key: string): boolean => entry[key] === undefined || entry[key] === null;
  const text = (key: string, expected = 'expected a string'): string | undefined => {
    const v = entry[key];
    if (absent(key)) return undefined;
    if (typeof v === 'string' || (typeof v === 'number' && spec.numbers?.includes(key))) return String(v);
    throw fail(key, expected);
  };
  const list = (key: string, problem: string): string[] | undefined => {
    const v = entry[key];
    if (absent(key)) return undefined;
    if (typeof v === 'string') return v.split(',');
    if (Array.isArray(v) && v.every((item) => typeof item === 'string')) return [...(v as string[])];
    throw fail(key, problem);
  };
  return {
    fail,
    text,
    requiredText: (key, missing, expected) => {
      const v = text(key, expected);
      if (v === undefined) throw fail(key, missing);
      return v;
    },
    flag: (key, fallback) => {
      const v = entry[key];
      if (absent(key)) return fallback;
      if (typeof v !== 'boolean') throw fail(key, 'expected true or false');
      return v;
    },
    list,
    requiredList: (key, problem) => {
      const v = list(key, problem);
      if (v === undefined) throw fail(key, problem);
      return v;
    },
    baseUrl: (key, value, hint) => {
      let base: URL;
      try {
        base = new URL(value);
      } catch {
        throw fail(key, 'expected an http:// or https:// URL');
      }
      if ((base.protocol !== 'http:' && base.protocol !== 'https:') || base.username || base.password || base.search || base.hash) {
        throw fail(key, `expected an http:// or https:// URL without user, query or fragment${hint ? ` (${hint})` : ''}`);
      }
      return `${base.origin}${base.pathname}`;
    },
    api: (fallback) => {
      const v = entry.api;
      if (absent('api')) return fallback;
      if (typeof v !== 'string') throw fail('api', 'expected an http:// or https:// URL as a string');
      const probe = new URL('config://entry');
      probe.searchParams.set('api', v);
      try {
        return apiBase(probe, fallback);
      } catch {
        throw fail('api', 'expected an http:// or https:// URL with no query or fragment');
      }
    },
  };
}
