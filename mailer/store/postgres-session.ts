/**
 * The Postgres store's one connection (node-postgres): it holds the store
 * (a session advisory lock, so a second mailer on the same database is
 * refused, as two on one SQLite file are) and runs every query, one piece of
 * work at a time in order, so the writes are only ever made by the session
 * that holds the lock. synchronous_commit is on for it: a COMMIT answers once
 * its WAL is flushed. A connection lost (Postgres restarted, the network
 * gone) fails the work under way; the next piece of work connects again and
 * takes the lock again, and if another mailer holds it by then the store is
 * no longer this mailer's (onLost: the mailer stops).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { HOLD_KEY, LOCK_CLASS } from './postgres-migrations.ts';
import type { PostgresLocation } from './store-url.ts';
import { StoreOpenError } from './store.ts';

const CONNECT_TIMEOUT_MS = 5000;
/** A query unanswered this long fails, and the connection is dropped (its state unknown). */
const QUERY_TIMEOUT_MS = 15_000;
const INT8_OID = 20;

/** bigint columns as numbers (ms times and seqs stay far below 2^53). */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** What names a store's session in pg_stat_activity, and its mailer in the "in use" line of a second one. */
function applicationName(): string {
  const tail = ` pid ${process.pid} s${randomBytes(3).toString('hex')}`;
  return `ch2-mailer host ${hostname().slice(0, 63 - 16 - tail.length)}${tail}`;
}

/** Postgres's SQLSTATE on an error it sent; none when the connection itself failed. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Why the server cannot be reached, in a few words (a connection error's code, or its message). */
export function reachText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  return code && !sqlState(err) ? `${code}${typeof e.message === 'string' && !e.message.includes(code) ? `: ${e.message}` : ''}` : String(e.message ?? err);
}

export class PostgresSession {
  readonly #where: PostgresLocation;
  readonly #onLost: (why: string) => void;
  /** The same on every connection of this store: its old session is known by it (#takeHold). */
  readonly #appName = applicationName();
  #client: pg.Client | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(where: PostgresLocation, onLost: (why: string) => void) {
    this.#where = where;
    this.#onLost = onLost;
  }

  /** Connect and take the hold (throws StoreOpenError in-use, or the connection's error). */
  static async open(where: PostgresLocation, onLost: (why: string) => void): Promise<PostgresSession> {
    const session = new PostgresSession(where, onLost);
    session.#client = await session.#connect(true);
    return session;
  }

  /** Run `work` on the connection once the work before it is done; reconnects first if the connection was lost. */
  run<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const next = this.#tail.then(async () => {
      if (this.#closed) throw new Error('the store is closed');
      this.#client ??= await this.#connect(false);
      const client = this.#client;
      try {
        return await work(client);
      } catch (err) {
        if (sqlState(err) === undefined || /^(08|57P)/.test(sqlState(err)!)) this.#drop(client);
        throw err;
      }
    });
    this.#tail = next.catch(() => undefined);
    return next;
  }

  /** Work inside one transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    return this.run(async (client) => {
      await client.query('BEGIN');
      try {
        const out = await work(client);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.#tail;
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(first: boolean): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.#where.url,
      application_name: this.#appName,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      types,
    });
    // A connection that fails between queries: dropped here, connected again by the next piece of work.
    client.on('error', () => this.#drop(client));
    try {
      await client.connect();
      await client.query('SET synchronous_commit = on');
      if (!(await this.#takeHold(client))) {
        const holder = await this.#holder(client);
        if (!first) this.#onLost(`another mailer${holder.text} took the store while the connection was lost`);
        throw new StoreOpenError('in-use', `The store ${this.#where.label} is in use by another mailer${holder.text}; stop it, or give each mailer its own database (--store / STORE_URL).`);
      }
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  /**
   * The hold, taken on this connection. One this very process still holds on a
   * connection it gave up on (a query that timed out, whose session the server
   * has not noticed is gone) is ended first, so the mailer does not take its
   * own old session for another mailer.
   */
  async #takeHold(client: pg.Client): Promise<boolean> {
    for (let tries = 0; tries < 30; tries++) {
      const held = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_CLASS, HOLD_KEY]);
      if (held.rows[0]?.ok === true) return true;
      const holder = await this.#holder(client);
      if (holder.app !== this.#appName || holder.pid === undefined) return false;
      await client.query('SELECT pg_terminate_backend($1)', [holder.pid]).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  /** The session holding the lock, as far as this user may see it; `text` is " (host h, pid p, since t)". */
  async #holder(client: pg.Client): Promise<{ text: string; app?: string; pid?: number }> {
    try {
      const r = await client.query<{ app: string | null; pid: number; since: Date | null }>(
        `SELECT a.application_name AS app, a.pid, a.backend_start AS since FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [LOCK_CLASS, HOLD_KEY],
      );
      const row = r.rows[0];
      if (!row) return { text: '' };
      const m = /^ch2-mailer host (\S+) pid (\d+) s[0-9a-f]+$/.exec(row.app ?? '');
      const text = m ? ` (host ${m[1]}, pid ${m[2]}${row.since ? `, since ${row.since.toISOString()}` : ''})` : '';
      return { text, app: row.app ?? '', pid: row.pid };
    } catch {
      return { text: '' };
    }
  }

  #drop(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
  }
}
