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
