/**
 * The store on node:sqlite. The database work runs in a worker thread
 * (sqlite-worker.ts: the store's folder, its exclusive hold, each commit and
 * the fdatasync of the WAL after it), so the event loop that answers HTTP
 * spends no time in SQL or in a sync; the working set and group commit are
 * group-commit-store.ts's. A failed sync leaves the database's durability
 * unknown, so the mailer stops (exit 1) and starts again from what SQLite has
 * (what PostgreSQL does on a failed fsync). Finished alerts stay in the
 * database for the dedupe window, capped in number, for duplicate checks and
 * GET /alerts.
 */
import type { Logger } from '../../shared/logger.ts';
import type { HubSnapshot, IncidentRecord } from '../hub/model.ts';
import type { CommitResult, StoreBackend } from './store-backend.ts';
import { GroupCommitStore } from './group-commit-store.ts';
import type { WorkerSettings } from './sqlite-worker.ts';
import { WorkerClient } from './sqlite-worker-client.ts';
import type { ListPage, NotifyEntry, StoreOptions } from './store.ts';

export interface SqliteStoreOptions extends StoreOptions {
  dir: string;
  log: Logger;
  /** Move a corrupt database aside and start empty (--store-recover). */
  recover?: boolean;
}

export interface OpenSummary {
  resumed: number;
  remembered: number;
  /** Alerts taken over from a store of the previous format (journal.log). */
  imported: number;
  movedAside?: string;
}

export const DEFAULT_MAX_REMEMBERED = 500_000;

/** The worker's requests as a StoreBackend. */
function workerBackend(worker: WorkerClient): StoreBackend {
  return {
    commit: async (batch) => (await worker.ask({ op: 'commit', n: 0, ...batch })) as CommitResult,
    list: async (query) => (await worker.ask({ op: 'list', n: 0, query })) as ListPage,
    hubLoad: async (now) => (await worker.ask({ op: 'hub-load', n: 0, now })) as HubSnapshot,
    incidents: async (query) => (await worker.ask({ op: 'incidents', n: 0, query })) as IncidentRecord[],
    notifyLog: async () => (await worker.ask({ op: 'notify-log', n: 0 })) as NotifyEntry[],
    probe: async () => {
      await worker.ask({ op: 'probe', n: 0 });
    },
    close: () => worker.close(),
  };
}

export class SqliteStore extends GroupCommitStore {
  /** Open the store (throws StoreOpenError), import a previous-format store, load what is unfinished. */
  static async open(options: SqliteStoreOptions): Promise<{ store: SqliteStore; summary: OpenSummary }> {
    const settings: WorkerSettings = {
      dir: options.dir,
      recover: options.recover ?? false,
      windowMs: options.dedupeWindowMs,
      maxRemembered: options.maxRemembered ?? DEFAULT_MAX_REMEMBERED,
      now: (options.now ?? Date.now)(),
    };
    const store = new SqliteStore(options.dir, options.log, options.now ?? Date.now);
    const { client, opened } = await WorkerClient.start(settings, options.log, (error) => store.fatal(error));
    store.start(workerBackend(client), opened.pending);
    const summary: OpenSummary = { resumed: opened.pending.length, remembered: opened.remembered, imported: opened.imported };
    if (opened.movedAside) summary.movedAside = opened.movedAside;
    return { store, summary };
  }
}
