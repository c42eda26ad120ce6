/**
 * A Postgres server for the tests: the postgres:15 image (on this machine the
 * stand-in scripts/images.sh builds from Debian's postgresql-15) in a
 * container of its own, published on a fixed loopback port (the same after a
 * docker stop and start), optionally on a network under an alias for the
 * mailer containers. Each test gets a database of its own (createDatabase).
 */
import { freePort } from '../support/process.ts';
import pg from 'pg';
import { type Cleanup, docker, dockerOk, TEST_LABEL, uniqueName, waitUntil } from './helpers.ts';

export const POSTGRES_IMAGE = 'postgres:15';
const PASSWORD = 'it-secret-pw-7c1';


export class PostgresServer {
  readonly name: string;
  readonly hostPort: number;
  readonly password = PASSWORD;
  #n = 0;

  private constructor(name: string, hostPort: number) {
    this.name = name;
    this.hostPort = hostPort;
  }

  /** Start one (removed by `cleanup`), ready when pg_isready says so over TCP. */
  static async start(cleanup: Cleanup, opts: { network?: string; alias?: string } = {}): Promise<PostgresServer> {
    const server = new PostgresServer(uniqueName('postgres'), await freePort());
    cleanup.names(server.name);
    const net = opts.network ? ['--network', opts.network, ...(opts.alias ? ['--network-alias', opts.alias] : [])] : [];
    await dockerOk(['run', '-d', '--name', server.name, '--label', TEST_LABEL, ...net, '-p', `127.0.0.1:${server.hostPort}:5432`,
      '-e', `POSTGRES_PASSWORD=${PASSWORD}`, POSTGRES_IMAGE]);
    await server.ready();
    return server;
  }

  /** A URL for database `db` as seen from this host (or from `host:port`, another container's view). */
  url(db: string, user = 'postgres', where = `127.0.0.1:${this.hostPort}`): string {
    return `postgres://${user}:${PASSWORD}@${where}/${db}`;
  }

  /** A fresh database's name (made by createDatabase, or by `ensure` in a store factory). */
  fresh(prefix = 't'): string {
    this.#n += 1;
    return `${prefix}_${process.pid}_${this.#n}`;
  }

  async sql<T extends pg.QueryResultRow = pg.QueryResultRow>(db: string, text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url(db) });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  /** Make the database unless it exists. */
  async ensure(db: string): Promise<void> {
    const known = await this.sql('postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [db]);
    if (known.length === 0) await this.sql('postgres', `CREATE DATABASE "${db}"`);
  }

  async stop(): Promise<void> {
    await dockerOk(['stop', '-t', '10', this.name]);
  }

  async start(): Promise<void> {
    await dockerOk(['start', this.name]);
    await this.ready();
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    await waitUntil(`${this.name} to accept connections`, async () => {
      const r = await docker(['exec', this.name, 'pg_isready', '-q', '-h', '127.0.0.1', '-p', '5432', '-U', 'postgres']);
      return r.code === 0 ? true : undefined;
    }, timeoutMs, 200);
  }
}
