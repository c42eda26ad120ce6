/**
 * A connection of the Postgres store (node-postgres) that runs its work one
 * piece at a time, in order. The store has two: one for its commits and
 * reads, one for its claims (postgres-claims.ts: the heartbeat and the scans
 * for work), so a heartbeat never waits behind a long commit. Several mailers
 * may use one database at once (there is no hold on the store any more): each
 * is known by its instance name (host, pid and a random part), which names
 * its sessions in pg_stat_activity and its claims on the deliveries rows.
 * synchronous_commit is on: a COMMIT answers once its WAL is flushed. A
 * connection lost (Postgres restarted, the network gone) fails the work
 * under way; the next piece of work connects again.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { PostgresLocation } from './store-url.ts';

const CONNECT_TIMEOUT_MS = 5000;
/** A query unanswered this long fails, and the connection is dropped (its state unknown). */
const QUERY_TIMEOUT_MS = 15_000;
const INT8_OID = 20;

/** bigint columns as numbers (ms times and seqs stay far below 2^53). */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** A mailer's instance name: its sessions' application_name and its claims' claimed_by ("ch2-mailer host h pid p s<random>"). */
export function instanceName(): string {
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

/** What every instance name of this host and pid starts with (a process started again with the same pid, as PID 1 in a container, is this one's successor). */
export function instancePrefix(name: string): string {
  return name.replace(/s[0-9a-f]+$/, 's');
}

export class PostgresSession {
  readonly #where: PostgresLocation;
  readonly #appName: string;
  #client: pg.Client | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(where: PostgresLocation, appName: string) {
    this.#where = where;
    this.#appName = appName;
  }

  /** Connect (throws the connection's error). */
  static async open(where: PostgresLocation, appName: string): Promise<PostgresSession> {
    const session = new PostgresSession(where, appName);
    session.#client = await session.#connect();
    return session;
  }

  /** Run `work` on the connection once the work before it is done; reconnects first if the connection was lost. */
  run<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const next = this.#tail.then(async () => {
      if (this.#closed) throw new Error('the store is closed');
      this.#client ??= await this.#connect();
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

  async #connect(): Promise<pg.Client> {
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
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  #drop(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
  }
}
