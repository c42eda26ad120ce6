/**
 * Opening the store database (<store>/mailer.db): the folder made and
 * checked, the exclusive hold taken, the file checked for corruption, the
 * schema in place. The hold: locking_mode=EXCLUSIVE and a write at open make
 * SQLite take and keep its POSIX lock on the file, which the kernel enforces
 * for every process on the host, containers sharing a volume included; a
 * second mailer gets SQLITE_BUSY and stops. <store>/owner names the holder
 * (host and pid) for that second mailer's message; it is written only once
 * the hold is taken. Nothing here opens mailer.db through node:fs: closing
 * any descriptor of the file would drop the process's POSIX locks.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { randomBytes } from 'node:crypto';
import { HUB_SCHEMA, migrateHub } from './sqlite-hub-queries.ts';
import { StoreOpenError } from './store.ts';

export const DB_FILE = 'mailer.db';
export const OWNER_FILE = 'owner';
/** How long a second opener waits for the hold before it gives up. */
const BUSY_TIMEOUT_MS = 1500;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerts (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
  received_at INTEGER NOT NULL,
  dead_at INTEGER,
  finished_at INTEGER,
  via TEXT NOT NULL,
  line TEXT NOT NULL,
  alert TEXT NOT NULL,
  -- each channel's progress, {"smtp": {"state": "pending", "attempts": 0}, …}: one row
  -- written per alert and per change, rather than one more row per channel
  channels TEXT NOT NULL
);
DROP INDEX IF EXISTS alerts_by_state;
CREATE INDEX IF NOT EXISTS alerts_pending ON alerts (seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS alerts_by_age ON alerts (received_at);
CREATE INDEX IF NOT EXISTS alerts_dead ON alerts (seq) WHERE dead_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS probe (x BLOB);
`;

export interface OpenedDatabase {
  db: DatabaseSync;
  path: string;
  /** The write-ahead log (path + '-wal'), which the store syncs. */
  wal: string;
  /** Where a corrupt database was moved (with --store-recover). */
  movedAside?: string;
}

function sqliteCode(err: unknown): number | undefined {
  const code = (err as { errcode?: unknown }).errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/**
 * mkdir -p that stops: node's recursive mkdir loops for ever on a path such
 * as /proc/x, where mkdir says ENOENT although the parent exists.
 */
function makeFolder(dir: string): void {
  try {
    mkdirSync(dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir || existsSync(parent)) throw err;
    makeFolder(parent);
  }
  mkdirSync(dir);
}

function uid(): string {
  return typeof process.getuid === 'function' ? String(process.getuid()) : '?';
}

/** The folder, made if need be and writable, or a StoreOpenError with the fix. */
export function prepareFolder(dir: string): void {
  const hint = (why: string): StoreOpenError =>
    new StoreOpenError(
      'unusable',
      `Cannot use the store ${dir}: ${why} (--store / STORE_DIR). ` +
        `A fresh named volume mounted elsewhere is owned by root: mount it at /var/lib/ch2-mailer (the image makes that folder the mailer's) or chown it to ${uid()}.`,
    );
  try {
    makeFolder(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw hint(`cannot create it as uid ${uid()}`);
    if (code === 'EROFS') throw new StoreOpenError('unusable', `Cannot use the store ${dir}: read-only filesystem; mount a writable volume there (--store / STORE_DIR).`);
    throw new StoreOpenError('unusable', `Cannot use the store ${dir}: ${(err as Error).message}; give --store (STORE_DIR) a folder on a normal writable filesystem.`);
  }
  if (!statSync(dir).isDirectory()) throw new StoreOpenError('unusable', `Cannot use the store ${dir}: not a folder (--store / STORE_DIR).`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw hint(`not writable by uid ${uid()}`);
  }
}

function ownerText(dir: string): string {
  try {
    const text = readFileSync(join(dir, OWNER_FILE), 'utf8').trim().split('\n')[0] ?? '';
    return /^[\x20-\x7e]{1,200}$/.test(text) ? ` (${text})` : '';
  } catch {
    return '';
  }
}

function inUse(dir: string): StoreOpenError {
  return new StoreOpenError(
    'in-use',
    `The store ${dir} is in use by another mailer${ownerText(dir)}; stop it, or give each mailer its own --store (STORE_DIR).`,
  );
}

function corrupt(path: string, err: unknown): StoreOpenError {
  return new StoreOpenError(
    'corrupt',
    `The store database ${path} is corrupt (${(err as Error).message}); move it aside, or start once with --store-recover (STORE_RECOVER=1) to move it aside and start empty.`,
  );
}

/** Open, take the hold, check, and make the schema. Throws StoreOpenError. */
function openOnce(dir: string, path: string): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
  } catch (err) {
    throw new StoreOpenError('unusable', `Cannot open the store database ${path}: ${(err as Error).message} (--store / STORE_DIR).`);
  }
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    // Small pages: each alert dirties a few pages of random places in the id index, and every
    // dirty page is written whole to the WAL at each commit (4 KiB pages cost about a third of the rate).
    db.exec('PRAGMA page_size = 1024');
    db.prepare('PRAGMA journal_mode = WAL').get();
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA temp_store = MEMORY');
    // The worker checkpoints after answering a commit (sqlite-worker.ts), not SQLite inside one.
    db.exec('PRAGMA wal_autocheckpoint = 0');
    // The write that takes (and, in exclusive mode, keeps) the lock.
    db.exec('BEGIN IMMEDIATE');
    db.exec(SCHEMA);
    db.exec(HUB_SCHEMA);
    migrateHub(db);
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('opened_at', ?)").run(new Date().toISOString());
    db.exec('COMMIT');
    const check = db.prepare('PRAGMA quick_check').all() as Array<Record<string, unknown>>;
    const verdict = String(Object.values(check[0] ?? {})[0] ?? '');
    if (verdict !== 'ok') throw Object.assign(new Error(`quick_check: ${verdict.slice(0, 200)}`), { errcode: SQLITE_CORRUPT });
    // From here the store syncs the WAL itself after each commit, off the event loop (sqlite-store.ts):
    // what synchronous=FULL does inside COMMIT, without blocking every request behind the fsync.
    db.exec('PRAGMA synchronous = NORMAL');
    return db;
  } catch (err) {
    try {
      db.close();
    } catch {
      // closing a database we could not use
    }
    const code = sqliteCode(err);
    if (code === SQLITE_BUSY || code === SQLITE_LOCKED) throw inUse(dir);
    if (code === SQLITE_CORRUPT || code === SQLITE_NOTADB) throw corrupt(path, err);
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError('unusable', `Cannot open the store database ${path}: ${(err as Error).message} (--store / STORE_DIR).`);
  }
}

/** Record who holds the store, for the message a second mailer prints. */
function writeOwner(dir: string): void {
  const final = join(dir, OWNER_FILE);
  const temp = `${final}.${randomBytes(6).toString('hex')}`;
  try {
    writeFileSync(temp, `host ${hostname()}, pid ${process.pid}, since ${new Date().toISOString()}\n`);
    renameSync(temp, final);
  } catch {
    // Only the message of a second mailer lacks the name; the hold itself stands.
    try {
      unlinkSync(temp);
    } catch {
      // nothing was written
    }
  }
}

export function removeOwner(dir: string): void {
  try {
    unlinkSync(join(dir, OWNER_FILE));
  } catch {
    // gone already
  }
}

export function openStoreDatabase(dir: string, recover: boolean): OpenedDatabase {
  prepareFolder(dir);
  const path = join(dir, DB_FILE);
  try {
    const db = openOnce(dir, path);
    writeOwner(dir);
    return { db, path, wal: `${path}-wal` };
  } catch (err) {
    if (!(err instanceof StoreOpenError) || err.kind !== 'corrupt' || !recover) throw err;
  }
  const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, aside);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
  }
  const db = openOnce(dir, path);
  writeOwner(dir);
  return { db, path, wal: `${path}-wal`, movedAside: aside };
}
