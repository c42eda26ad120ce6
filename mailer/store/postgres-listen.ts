/**
 * The Postgres store's listening connection: LISTEN on the channel a mailer
 * NOTIFYs when it lets work go (a clean stop releases its claims), so every
 * other mailer scans for it at once rather than at its next scan. A
 * connection of its own, since a LISTEN lasts as long as its session; lost
 * (Postgres restarted, the network gone), it connects again every
 * RECONNECT_MS, and scans once connected (what was said meanwhile was not
 * heard). A mailer's own NOTIFY (its name is the payload) is not for it.
 */
import pg from 'pg';
import { WORK_CHANNEL } from './postgres-claim-queries.ts';
import type { PostgresLocation } from './store-url.ts';

const RECONNECT_MS = 1000;
const CONNECT_TIMEOUT_MS = 5000;

export class WorkListener {
  readonly #where: PostgresLocation;
  readonly #me: string;
  readonly #onWork: () => void;
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(where: PostgresLocation, me: string, onWork: () => void) {
    this.#where = where;
    this.#me = me;
    this.#onWork = onWork;
    void this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#where.url, application_name: this.#me, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
    const lost = (): void => {
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => undefined);
      this.#again();
    };
    client.on('error', lost);
    client.on('end', () => {
      if (this.#client === client) lost();
    });
    client.on('notification', (n) => {
      if (n.channel === WORK_CHANNEL && n.payload !== this.#me) this.#onWork();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${WORK_CHANNEL}`);
      if (this.#closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.#client = client;
      this.#onWork();
    } catch {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.#again();
    }
  }

  #again(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#connect();
    }, RECONNECT_MS);
    this.#timer.unref();
  }
}
