/**
 * Every SQL statement of the SQLite store (schema: sqlite-open.ts), prepared
 * once. Alerts are rows of `alerts` (seq: acceptance order; state pending,
 * sent or dead; dead_at once a channel gave up), each channel's progress in
 * its `channels` column (JSON).
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { Alert } from '../../shared/alert.ts';
import type { Intake, QueuedAlert } from '../queued-alert.ts';
import type { ChannelState, OutboxRecord } from './outbox.ts';
import { type ListedAlert, type ListPage, type ListQuery } from './store.ts';

type Row = Record<string, SQLInputValue>;

const COLUMNS = 'seq, id, received_at, dead_at, finished_at, via, line, alert, channels';
const WHERE: Record<ListQuery['state'], string> = {
  pending: "state = 'pending'",
  silenced: "state = 'pending' AND EXISTS (SELECT 1 FROM json_each(channels) WHERE json_extract(value, '$.state') = 'silenced')",
  sent: "state = 'sent'",
  dead: 'dead_at IS NOT NULL',
};

export class SqliteQueries {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;
  readonly #list: Record<ListQuery['state'], { page: StatementSync; count?: StatementSync }>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    const p = (sql: string): StatementSync => db.prepare(sql);
    this.#s = {
      find: p('SELECT seq, state, received_at FROM alerts WHERE id = ?'),
      insert: p("INSERT INTO alerts (id, state, received_at, via, line, alert, channels) VALUES (?, 'pending', ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"),
      importAlert: p('INSERT OR IGNORE INTO alerts (id, state, received_at, dead_at, finished_at, via, line, alert, channels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      updateAlert: p('UPDATE alerts SET channels = ?, state = ?, dead_at = ?, finished_at = ? WHERE seq = ?'),
      deleteSeq: p('DELETE FROM alerts WHERE seq = ?'),
      // By age through alerts_by_age: only rows older than the cutoff are looked at.
      pruneBefore: p("DELETE FROM alerts WHERE seq IN (SELECT seq FROM alerts INDEXED BY alerts_by_age WHERE received_at < ? AND state = 'sent' ORDER BY received_at LIMIT ?)"),
      pruneOldest: p("DELETE FROM alerts WHERE seq IN (SELECT seq FROM alerts WHERE state = 'sent' ORDER BY seq LIMIT ?)"),
      countSent: p("SELECT count(*) AS n FROM alerts WHERE state = 'sent'"),
      countFinished: p("SELECT count(*) AS n FROM alerts WHERE state != 'pending'"),
      pending: p(`SELECT ${COLUMNS} FROM alerts WHERE state = 'pending' ORDER BY seq`),
      probeIn: p('INSERT INTO probe (x) VALUES (zeroblob(8192))'),
      probeOut: p('DELETE FROM probe'),
      checkpoint: p('PRAGMA wal_checkpoint(PASSIVE)'),
    };
    const page = (state: ListQuery['state']): StatementSync => p(`SELECT ${COLUMNS} FROM alerts WHERE ${WHERE[state]} AND seq < ? ORDER BY seq DESC LIMIT ?`);
    // Pending and dead rows are counted through their partial indexes; sent rows, most of the table, are not counted
    // at all (a scan of 500,000 rows took the worker half a second, its commits waiting): the worker keeps their number.
    const count = (state: ListQuery['state']): StatementSync => p(`SELECT count(*) AS n FROM alerts WHERE ${WHERE[state]}`);
    this.#list = {
      pending: { page: page('pending'), count: count('pending') },
      silenced: { page: page('silenced'), count: count('silenced') },
      sent: { page: page('sent') },
      dead: { page: page('dead'), count: count('dead') },
    };
  }

  /** Run `work` in one transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(work: () => T): T {
    this.#db.exec('BEGIN');
    try {
      const out = work();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.#db.isTransaction) {
        try {
          this.#db.exec('ROLLBACK');
        } catch {
          // SQLite rolled back already
        }
      }
      throw err;
    }
  }

  findId(id: string): { seq: number; state: string; receivedAt: number } | undefined {
    const row = this.#s.find!.get(id) as Row | undefined;
    return row ? { seq: Number(row.seq), state: String(row.state), receivedAt: Number(row.received_at) } : undefined;
  }

  /** The new alert's seq; undefined when an alert with its id is kept already (nothing written). */
  insertAlert(item: QueuedAlert, channels: readonly string[]): number | undefined {
    const progress: Record<string, ChannelState> = {};
    for (const channel of channels) progress[channel] = { state: 'pending', attempts: 0 };
    const r = this.#s.insert!.run(item.alert.id, item.receivedAt, item.via, item.line, JSON.stringify(item.alert), JSON.stringify(progress));
    return r.changes === 0 ? undefined : Number(r.lastInsertRowid);
  }

  importAlert(record: OutboxRecord, state: 'pending' | 'dead', deadAt: number | null, finishedAt: number | null): void {
    const { item } = record;
    this.#s.importAlert!.run(item.alert.id, state, item.receivedAt, deadAt, finishedAt, item.via, item.line, JSON.stringify(item.alert), JSON.stringify(record.channels));
  }

  /** A delivered alert of the old journal, of which only the id was kept. */
  importSeenId(id: string, at: number): void {
    this.#s.importAlert!.run(id, 'sent', at, null, at, 'json', '', JSON.stringify({ id }), '{}');
  }

  /** An alert's channels as they are now, and its state; false when no row has that seq. */
  updateAlert(seq: number, channels: Record<string, ChannelState>, state: string, deadAt: number | null, finishedAt: number | null): boolean {
    return this.#s.updateAlert!.run(JSON.stringify(channels), state, deadAt, finishedAt, seq).changes !== 0;
  }

  deleteSeq(seq: number): void {
    this.#s.deleteSeq!.run(seq);
  }

  pruneSentBefore(cutoff: number, limit: number): number {
    return Number(this.#s.pruneBefore!.run(cutoff, limit).changes);
  }

  pruneOldestSent(limit: number): number {
    return Number(this.#s.pruneOldest!.run(limit).changes);
  }

  countState(state: 'sent'): number {
    return state === 'sent' ? Number((this.#s.countSent!.get() as Row).n) : 0;
  }

  countFinished(): number {
    return Number((this.#s.countFinished!.get() as Row).n);
  }

  /** Pending alerts with their channels, oldest first. */
  loadPending(): Array<{ record: OutboxRecord; seq: number; deadAt: number | null }> {
    return (this.#s.pending!.all() as Row[]).map((row) => {
      const listed = toListed(row);
      return {
        record: { item: { alert: listed.alert, line: listed.line, via: listed.via, receivedAt: Number(row.received_at) }, channels: listed.channels },
        seq: Number(row.seq),
        deadAt: row.dead_at === null ? null : Number(row.dead_at),
      };
    });
  }

  /** One page, newest first; `sent` is the number of sent rows, which the caller keeps (they are not counted here). */
  list(query: ListQuery, sent: number): ListPage {
    const before = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(query.cursor);
    const { page, count } = this.#list[query.state];
    const rows = page.all(before, query.limit) as Row[];
    const alerts = rows.map((row) => toListed(row));
    const out: ListPage = { state: query.state, total: count ? Number((count.get() as Row).n) : sent, alerts };
    if (rows.length === query.limit) out.next = String(rows.at(-1)!.seq);
    return out;
  }

  /** A write of an alert's size, undone in the same transaction: can the store take one now? */
  probe(): void {
    this.transaction(() => {
      this.#s.probeIn!.run();
      this.#s.probeOut!.run();
    });
  }

  /** Copy what the WAL holds into the database (SQLite's checkpoint; the WAL starts over at the next write). */
  checkpoint(): void {
    this.#s.checkpoint!.get();
  }

  close(): void {
    this.#db.close();
  }
}

function toListed(row: Row): ListedAlert {
  const listed: ListedAlert = {
    id: String(row.id),
    alert: JSON.parse(String(row.alert)) as Alert,
    line: String(row.line),
    via: String(row.via) as Intake,
    receivedAt: new Date(Number(row.received_at)).toISOString(),
    channels: JSON.parse(String(row.channels)) as Record<string, ChannelState>,
  };
  if (row.dead_at !== null) listed.deadAt = new Date(Number(row.dead_at)).toISOString();
  if (row.finished_at !== null) listed.finishedAt = new Date(Number(row.finished_at)).toISOString();
  return listed;
}
