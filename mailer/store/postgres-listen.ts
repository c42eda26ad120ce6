/**
 * The Postgres store's listening connection: LISTEN on the channels other
 * mailers NOTIFY, each with what to do when told: `ch2_work` when a mailer
 * lets work go (a clean stop releases its claims: scan for it at once rather
 * than at the next scan), `ch2_silences` when a silence was added or removed
 * (read the silences again), `ch2_hub` when hub rows were written (read
 * them: postgres-hub-notify.ts; the payload, after the name and a newline,
 * says which). A connection of its own, since a LISTEN lasts as long as its
 * session; lost (Postgres restarted, the network gone), it
 * connects again every RECONNECT_MS, and runs every handler once connected
 * (what was said meanwhile was not heard), with no payload. A mailer's own
 * NOTIFY (its name is the payload, or the payload's first line) is not for it.
 */
import pg from 'pg';
import type { PostgresLocation } from './store-url.ts';

const RECONNECT_MS = 1000;
const CONNECT_TIMEOUT_MS = 5000;
/** A channel name as it goes into LISTEN (an identifier, never a value). */
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

export class NoticeListener {
  readonly #where: PostgresLocation;
  readonly #me: string;
  readonly #handlers: ReadonlyMap<string, (payload?: string) => void>;
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(where: PostgresLocation, me: string, handlers: Record<string, (payload?: string) => void>) {
    for (const name of Object.keys(handlers)) if (!CHANNEL.test(name)) throw new Error(`not a channel name: ${name}`);
    this.#where = where;
    this.#me = me;
    this.#handlers = new Map(Object.entries(handlers));
    void this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  #all(): void {
    for (const handle of this.#handlers.values()) handle();
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
      const payload = n.payload ?? '';
      const newline = payload.indexOf('\n');
      const from = newline < 0 ? payload : payload.slice(0, newline);
      if (from !== this.#me) this.#handlers.get(n.channel)?.(newline < 0 ? undefined : payload.slice(newline + 1));
    });
    try {
      await client.connect();
      for (const name of this.#handlers.keys()) await client.query(`LISTEN ${name}`);
      if (this.#closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.#client = client;
      this.#all();
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
