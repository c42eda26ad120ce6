/**
 * Where the store is, as --store / STORE_URL / STORE_DIR give it: a folder
 * (the embedded SQLite store, the default) or a postgres:// (postgresql://)
 * URL, postgres://user[:password]@host[:port]/database[?sslmode=…]. The URL
 * is checked at start, one line naming what is wrong and never the password;
 * `label` is the URL without its password, for every line that names the store.
 */

export interface PostgresLocation {
  kind: 'postgres';
  /** The whole URL, password included: for the driver only, a secret. */
  url: string;
  /** postgres://user@host:port/database, never the password. */
  label: string;
  /** The password as the driver sees it (decoded), when the URL holds one: a secret for the logger. */
  password: string | undefined;
}

export interface FolderLocation {
  kind: 'folder';
  dir: string;
}

export type StoreLocation = PostgresLocation | FolderLocation;

const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** Whether the text is meant as a database URL rather than a folder. */
export function looksLikeUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text.trim());
}

/** A postgres:// URL checked (throws an Error whose message names the fault, never the password). */
export function parsePostgresUrl(text: string): PostgresLocation {
  const value = text.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('expected a URL such as postgres://ch2@db:5432/ch2 (value not shown)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`expected a postgres:// or postgresql:// URL, not ${url.protocol}// (a folder for the SQLite store is a plain path)`);
  }
  if (url.hostname === '') throw new Error('expected a host: postgres://user@host:5432/database');
  if (url.username === '') throw new Error(`expected a user name: postgres://user@${url.host}/database`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) throw new Error(`expected one database name after the host: postgres://${url.username}@${url.host}/database`);
  for (const [key, v] of url.searchParams) {
    if (key !== 'sslmode') throw new Error(`unknown parameter ${key} (only sslmode is taken)`);
    if (!SSL_MODES.includes(v)) throw new Error(`sslmode must be one of ${SSL_MODES.join(', ')}`);
  }
  if (url.hash !== '') throw new Error('expected no #fragment');
  let password: string | undefined;
  try {
    password = url.password === '' ? undefined : decodeURIComponent(url.password);
  } catch {
    throw new Error('the password is not valid percent-encoding (value not shown)');
  }
  const query = url.search;
  const label = `${url.protocol}//${url.username}@${url.host}/${url.pathname.replace(/^\//, '')}${query}`;
  return { kind: 'postgres', url: value, label, password };
}

/**
 * Which store the settings name. --store takes a folder or a postgres:// URL
 * and wins over both env vars; else STORE_URL (a postgres:// URL) or
 * STORE_DIR (a folder), never both; else `fallback` (the old --spool, or the
 * default folder). A URL in STORE_DIR or a folder in STORE_URL is refused, so
 * each variable holds what its name says. Throws an Error naming the setting;
 * no message quotes a value.
 */
export function resolveStoreLocation(given: { flag: string | undefined; dirEnv: string | undefined; urlEnv: string | undefined; fallback: string }): StoreLocation {
  const dirEnv = given.dirEnv?.trim() || undefined;
  const urlEnv = given.urlEnv?.trim() || undefined;
  // commander hands STORE_DIR to --store when the flag is absent: the same text is the env var's.
  const flag = given.flag !== undefined && given.flag !== dirEnv ? given.flag : undefined;
  if (flag === undefined && dirEnv !== undefined && urlEnv !== undefined) {
    throw new Error('STORE_URL and STORE_DIR are both set: STORE_URL names a Postgres store, STORE_DIR a SQLite folder; set one (or give --store)');
  }
  const [text, from] = flag !== undefined ? [flag, '--store'] : urlEnv !== undefined ? [urlEnv, 'STORE_URL'] : dirEnv !== undefined ? [dirEnv, 'STORE_DIR'] : [given.fallback, '--store'];
  if (looksLikeUrl(text)) {
    if (from === 'STORE_DIR') throw new Error('STORE_DIR: expected a folder; a postgres:// URL goes in STORE_URL (value not shown)');
    try {
      return parsePostgresUrl(text);
    } catch (err) {
      throw new Error(`${from}: ${(err as Error).message}`);
    }
  }
  if (from === 'STORE_URL') throw new Error('STORE_URL: expected a postgres:// URL such as postgres://ch2@db:5432/ch2; a folder goes in STORE_DIR or --store');
  return { kind: 'folder', dir: text };
}
