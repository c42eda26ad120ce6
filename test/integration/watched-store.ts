/**
 * A Postgres store for the cluster store tests (store-postgres-claims,
 * store-postgres-handover), opened as the mailer opens it, on a database of
 * its own, with what it tells the mailer recorded: the alerts it took over
 * (adopted, with when), those it lost, and each read of the silences another
 * store's commit caused. `next()` resolves at the next adoption.
 */
import { PassThrough } from 'node:stream';
import type { SilenceRow } from '../../mailer/hub/model.ts';
import type { OutboxRecord } from '../../mailer/store/outbox.ts';
import { PostgresStore } from '../../mailer/store/postgres-store.ts';
import { parsePostgresUrl } from '../../mailer/store/store-url.ts';
import { createLogger } from '../../shared/logger.ts';
import type { PostgresServer } from './postgres.ts';

export interface Watched {
  store: PostgresStore;
  adopted: Array<{ at: number; records: OutboxRecord[]; only: ReadonlyMap<string, readonly string[]> }>;
  lost: string[][];
  /** Each read of the silences another store's commit (or the listener's connection) caused, in order. */
  silences: SilenceRow[][];
  /** Resolves at the next adoption. */
  next(): Promise<number>;
}

const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });

/** Open a store on `db` (made unless it exists); `watch`: take over lapsed work and record it (as main.ts does once it has resumed). */
export async function openWatched(server: PostgresServer, db: string, watch = true): Promise<Watched> {
  await server.ensure(db);
  const { store } = await PostgresStore.open({ where: parsePostgresUrl(server.url(db)), log, dedupeWindowMs: 86_400_000 });
  const waiting: Array<(at: number) => void> = [];
  const w: Watched = { store, adopted: [], lost: [], silences: [], next: () => new Promise((resolve) => waiting.push(resolve)) };
  if (watch) {
    store.watchClaims({
      adopted: (records, only) => {
        const at = performance.now();
        w.adopted.push({ at, records: records.map((r) => structuredClone(r)), only });
        for (const r of waiting.splice(0)) r(at);
      },
      lost: (ids) => void w.lost.push(ids),
      silences: (rows) => void w.silences.push(rows),
    });
  }
  return w;
}
