/**
 * The store the mailer's settings name, opened: SQLite in a folder, or
 * Postgres at a URL (store-url.ts). A Postgres server that cannot be reached
 * yet (not started, restarting, its name not yet in DNS, as when a compose
 * file or a stack starts everything at once) is waited for: one line saying
 * so and that the mailer retries every second, then the usual start once it
 * answers. What waiting cannot mend (a wrong password, no such database or
 * user, a SQLite store in use by another mailer, a schema newer than this mailer)
 * is a StoreOpenError, which the mailer prints as one line before it exits 2.
 */
import type { Logger } from '../../shared/logger.ts';
import { PostgresStore } from './postgres-store.ts';
import { reachText, sqlState } from './postgres-session.ts';
import { type OpenSummary, SqliteStore } from './sqlite-store.ts';
import type { StoreLocation } from './store-url.ts';
import { type Store, StoreOpenError } from './store.ts';

export interface OpenedStore {
  store: Store;
  summary: OpenSummary;
  /** The store as log lines name it: its folder, or its URL without the password. */
  label: string;
}

const RETRY_MS = 1000;

/** SQLSTATE classes of a server that is there but not ready: 57P03 starting up or shutting down, 08 connection trouble. */
function retriable(err: unknown): boolean {
  const state = sqlState(err);
  return state === undefined ? !(err instanceof StoreOpenError) : /^(08|57P0[1-3])/.test(state);
}

/** A server's refusal that waiting cannot mend, as the one line the mailer prints. */
function refusal(label: string, err: unknown): StoreOpenError {
  const state = sqlState(err);
  const why = (err as Error).message;
  const fix =
    state === '28P01' || state === '28000'
      ? 'check the user and password in the URL'
      : state === '3D000'
        ? 'create the database, or name one that exists'
        : 'check the URL and the server';
  return new StoreOpenError('unusable', `Cannot use the store ${label}: ${why} (SQLSTATE ${state ?? 'none'}); ${fix} (--store / STORE_URL).`);
}

export async function openStore(where: StoreLocation, options: { log: Logger; recover: boolean; dedupeWindowMs: number }): Promise<OpenedStore> {
  if (where.kind === 'folder') {
    const opened = await SqliteStore.open({ dir: where.dir, log: options.log, recover: options.recover, dedupeWindowMs: options.dedupeWindowMs });
    return { ...opened, label: where.dir };
  }
  let waiting = false;
  // Nothing is acknowledged while the mailer waits: a stop (docker stop: SIGTERM to PID 1, which has no default handler) ends it at once.
  const stop = (): never => process.exit(0);
  try {
    for (;;) {
      try {
        const opened = await PostgresStore.open({ where, log: options.log, dedupeWindowMs: options.dedupeWindowMs });
        if (waiting) options.log.info(`Store ${where.label}: connected.`, { event: 'store-connected' });
        return { ...opened, label: where.label };
      } catch (err) {
        if (err instanceof StoreOpenError) throw err;
        if (!retriable(err)) throw refusal(where.label, err);
        if (!waiting) {
          options.log.warn(`Store ${where.label}: cannot reach the server (${reachText(err)}); retrying every second until it answers.`, { event: 'store-waiting' });
          waiting = true;
          process.once('SIGTERM', stop).once('SIGINT', stop);
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  } finally {
    process.off('SIGTERM', stop).off('SIGINT', stop);
  }
}
