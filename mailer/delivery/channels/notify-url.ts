/**
 * What every `--notify` URL reader shares (shoutrrr's forms): the `api`
 * parameter that points a service at another endpoint (self-hosted, an EU
 * region, tests), the check that a URL carries no parameter its kind does not
 * know, and yes/no parameters. Errors name the scheme and the part that is
 * wrong, never the URL (it holds a token).
 */
import { ConfigError } from '../../../shared/config.ts';

/** The scheme of a notify URL without its `+https` variant: "telegram", "alertmanager". */
export function schemeOf(url: URL): string {
  return url.protocol.slice(0, -1).split('+')[0]!.toLowerCase();
}

/** The `api` parameter as a base URL, else `fallback`; the path of either has no trailing slash. */
export function apiBase(url: URL, fallback: string): string {
  const api = url.searchParams.get('api');
  if (api === null) return fallback.replace(/\/+$/, '');
  let base: URL;
  try {
    base = new URL(api);
  } catch {
    throw new ConfigError(`${schemeOf(url)}:// URL: the api parameter is not a URL.`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ConfigError(`${schemeOf(url)}:// URL: the api parameter must be an http:// or https:// URL.`);
  if (base.search || base.hash) throw new ConfigError(`${schemeOf(url)}:// URL: the api parameter takes no query or fragment.`);
  return `${base.origin}${base.pathname}`.replace(/\/+$/, '');
}

/**
 * Refuses a parameter outside `known` (matched case-insensitively, as
 * shoutrrr does; `api` is always known) and returns the parameters by their
 * lower-case names.
 */
export function notifyParams(url: URL, known: readonly string[]): Map<string, string> {
  const allowed = new Set(['api', ...known.map((k) => k.toLowerCase())]);
  const out = new Map<string, string>();
  for (const [name, value] of url.searchParams) {
    const key = name.toLowerCase();
    if (!allowed.has(key)) throw new ConfigError(`${schemeOf(url)}:// URL: unknown parameter ${JSON.stringify(name.slice(0, 40))}; known: ${[...allowed].join(', ')}.`);
    if (out.has(key)) throw new ConfigError(`${schemeOf(url)}:// URL: parameter ${key} is given twice.`);
    out.set(key, value);
  }
  return out;
}

/** A shoutrrr yes/no parameter (yes, no, true, false, 1, 0). */
export function yesNo(url: URL, params: Map<string, string>, name: string, fallback: boolean): boolean {
  const value = params.get(name.toLowerCase());
  if (value === undefined) return fallback;
  if (/^(yes|true|1)$/i.test(value)) return true;
  if (/^(no|false|0)$/i.test(value)) return false;
  throw new ConfigError(`${schemeOf(url)}:// URL: ${name} takes yes or no.`);
}

/** A part of the URL %-decoded; a ConfigError naming it when it is not valid %-encoding. */
export function decodedPart(url: URL, text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConfigError(`${schemeOf(url)}:// URL: the ${what} is not valid %-encoding (the URL is not shown).`);
  }
}
